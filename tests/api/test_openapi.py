"""The OpenAPI document, and Schemathesis against it: no server errors, every response
matches the declared schema, status codes and content types."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks, positive_data_acceptance
from schemathesis.generation import GenerationMode

from tests.api.conftest import GENERATOR, Api, draft

EXAMPLES_PER_OPERATION = 10
# Refusals that depend on the server's state or policy, not on the request's shape, so no
# schema can foresee them (like a 409): a workflow guard on the article as it is now, and
# a webhook URL the egress policy (a deployment setting) does not allow.
GUARD_CODES = {"missing_title", "missing_body", "missing_references", "dangling_citation",
               "comment_required", "already_approved", "review_checks_missing",
               "review_not_due", "guard_failed",
               # The board: who may be assigned, and a due date relative to today.
               "not_a_reviewer", "reviewer_inactive", "due_in_past", "same_reviewer",
               "conflict_of_interest",
               # Comment threads: an anchor the current text does not have, a blocking
               # thread still open.
               "unknown_paragraph", "quote_not_in_paragraph", "bad_anchor",
               "blocking_threads_open"}


def _refused_by_state_or_policy(response: Any) -> bool:
    if response.status_code != 422:
        return False
    error = response.json()["error"]
    return error["code"] in GUARD_CODES or (
        error["code"] == "validation_failed" and set(error["details"].get("fields", {}))
        == {"url"} and "/webhooks" in response.request.url)


@schemathesis.check
def positive_data_acceptance_beside_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, except for :func:`_refused_by_state_or_policy`."""
    if _refused_by_state_or_policy(response):
        return True
    return positive_data_acceptance(ctx, response, case)  # type: ignore[no-any-return]


def test_document_is_generated_from_the_declarations(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    create = doc["paths"]["/api/v1/articles"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(body["required"]) == {"title", "body"}
    assert body["properties"]["title"]["maxLength"] == 300
    assert {"201", "400", "401", "403", "404", "409", "413", "415", "422"} <= set(
        create["responses"]
    )
    actions = doc["paths"]["/api/v1/articles/{article_id}/actions/{action}"]["post"]
    action_param = next(p for p in actions["parameters"] if p["name"] == "action")
    assert "approve" in action_param["schema"]["enum"]


def _runner(operation: Any, mode: GenerationMode, headers: dict[str, str], checks: list[Any],
            keys: Iterator[int]) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE and case.headers and "Idempotency-Key" in (
                case.headers):
            # A key is per request: reusing one for another body is refused by design
            # (422 idempotency_key_reused), which no schema can foresee.
            case.headers["Idempotency-Key"] = f"st-{next(keys)}"
        case.call_and_validate(headers=headers, checks=checks)

    return run  # type: ignore[no-any-return]


def test_schemathesis_with_every_check_finds_nothing(
    backend: str, app: Any, make_user: Any, token_for: Any
) -> None:
    """Schemathesis, every check it has, schema-valid and schema-violating requests to every
    operation: bounded (a few examples each), derandomized, so the same run every time."""
    if backend != "sqlite":
        pytest.skip("the document is the same on both: checked once, on SQLite (~45 s)")
    everyone = make_user(
        "everyone@example.org",
        "author",
        "reviewer",
        "editor",
        "auditor",
        "admin",
        name="Every Role",
    )
    token = token_for(everyone)
    api = Api(app.test_client(), token)
    # Something to find: a few articles in several states, a webhook.
    for i in range(3):
        aid = api.post("/articles", json=draft(title=f"Seed {i}", generator=GENERATOR)).json["id"]
        if i:
            api.act(aid, "submit")
    api.post("/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]})

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    load_all_checks()
    checks = [c for c in CHECKS.get_all() if c is not positive_data_acceptance]
    assert len(checks) >= 14 and positive_data_acceptance_beside_state in checks
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19

    failures: list[str] = []
    keys = itertools.count()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, headers, checks, keys)()
            except (AssertionError, BaseExceptionGroup) as exc:  # report every operation
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)


# --- what client generators need (issue 13, point 1) ------------------------------------


def _doc(client: Any) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json  # type: ignore[no-any-return]


def _schema(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]  # type: ignore[no-any-return]


def _prop(doc: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][model]["properties"][name]  # type: ignore[no-any-return]


def test_every_model_is_one_component_named_by_its_class(client: Any) -> None:
    doc = _doc(client)
    names = set(doc["components"]["schemas"])
    # No hash suffix, no copy per parent: a nested model is one component, reused.
    assert not [n for n in names if "." in n]
    assert {"Article", "Person", "ErrorResponse", "ErrorDetail", "Reference"} <= names
    for name, schema in doc["components"]["schemas"].items():
        assert schema.get("title", name) == name
    ops = [op for item in doc["paths"].values() for m, op in item.items() if m != "description"]
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids)) and "create_article" in ids and "update_article" in ids
    assert _prop(doc, "ActionResponse", "article") == {"$ref": "#/components/schemas/Article"}


def test_two_models_of_one_name_are_refused_when_the_document_is_built() -> None:
    from pydantic import BaseModel
    from spectree import Response

    from review_flow.api.naming import NamedSpecTree, SchemaNameClash

    def person(field: str) -> type[BaseModel]:
        return type("Person", (BaseModel,), {"__annotations__": {field: int}})

    class A(BaseModel):
        p: person("id")  # type: ignore[valid-type]

    class B(BaseModel):
        p: person("number")  # type: ignore[valid-type]

    spec = NamedSpecTree("flask")

    @spec.validate(resp=Response(HTTP_200=A))
    def a() -> None: ...

    @spec.validate(resp=Response(HTTP_200=B))
    def b() -> None: ...

    import flask
    import pytest

    app = flask.Flask("clash")
    app.add_url_rule("/a", view_func=a)
    app.add_url_rule("/b", view_func=b)
    spec.register(app)
    with app.app_context(), pytest.raises(SchemaNameClash, match="'Person'"):
        _ = spec.spec
    with pytest.raises(SchemaNameClash, match="two models are named 'A'"):
        spec.validate(resp=Response(HTTP_200=type("A", (BaseModel,), {})))(lambda: None)


def test_responses_are_typed_to_the_leaf(client: Any) -> None:
    doc = _doc(client)
    content = doc["components"]["schemas"]["Content"]["properties"]
    assert content["references"]["items"] == {"$ref": "#/components/schemas/ReferenceOut"}
    generator = content["generator"]["anyOf"]
    assert {"$ref": "#/components/schemas/GeneratorOut"} in generator
    for model, field in [("Article", "created_at"), ("Article", "updated_at"),
                         ("Event", "at"), ("Token", "created_at"),
                         ("RevisionOut", "created_at"), ("Webhook", "created_at")]:
        assert _prop(doc, model, field) == {"format": "date-time", "title": _prop(
            doc, model, field)["title"], "type": "string"}, (model, field)
    assert _prop(doc, "Article", "allowed_actions")["items"]["enum"][0] == "submit"
    assert "kind" not in _prop(doc, "Me", "notifications")
    kinds = doc["components"]["schemas"]["EmailSettingsOut"]
    assert set(kinds["required"]) == {"review_requested", "changes_requested", "approved",
                                      "rejected", "revised_by_editor", "thread_activity"}


def test_errors_are_typed_with_a_closed_list_of_codes(client: Any) -> None:
    from review_flow.api.error_codes import ERROR_CODES

    doc = _doc(client)
    detail = doc["components"]["schemas"]["ErrorDetail"]["properties"]
    assert detail["code"]["enum"] == list(ERROR_CODES)
    assert detail["details"] == {"$ref": "#/components/schemas/ErrorDetails"}
    details = doc["components"]["schemas"]["ErrorDetails"]
    assert details["additionalProperties"] is True
    assert details["properties"]["current_version"]["anyOf"][0] == {"type": "integer"}
    assert details["properties"]["fields"]["anyOf"][0]["additionalProperties"] == {
        "type": "string"}


def test_every_error_code_in_the_source_is_in_the_closed_list() -> None:
    import ast
    from pathlib import Path

    from review_flow.api.error_codes import ERROR_CODES
    from review_flow.api.errors import _HTTP_CODES

    src = Path(__file__).resolve().parents[2] / "src" / "review_flow"
    found: set[str] = set(_HTTP_CODES.values())
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "code":
                found |= {c.value for c in ast.walk(node.value)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            elif isinstance(node, ast.ClassDef):
                for st in node.body:
                    if (isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant)
                            and any(getattr(t, "id", None) == "code" for t in st.targets)):
                        found.add(st.value.value)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                    node.func, "id", None)) == "Problem" and node.args
                  and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    assert len(found) > 40
    assert sorted(found - set(ERROR_CODES)) == []


def test_an_unlisted_error_code_is_answered_as_error(app: Any) -> None:
    from review_flow.api.errors import error_response

    with app.test_request_context():
        r = error_response(400, "made_up_code", "x")
    assert r.json["error"]["code"] == "error"


# --- every header, status and rule in the document (issue 13, point 2) ------------------


def _op(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"]["/api/v1" + path][method]  # type: ignore[no-any-return]


def _params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['in']}:{p['name']}": p["schema"] for p in op.get("parameters", [])}


def test_request_headers_are_parameters(client: Any) -> None:
    doc = _doc(client)
    idempotent = [("post", "/articles"), ("post", "/articles/{article_id}/actions/{action}"),
                  ("post", "/tokens"), ("post", "/webhooks"),
                  ("post", "/webhooks/{webhook_id}/secret")]
    for method, path in idempotent:
        key = _params(_op(doc, method, path))["header:Idempotency-Key"]
        assert key == {"description": key["description"], "pattern": "^[!-~]{1,255}$",
                       "title": "Idempotency-Key", "type": "string"}
    for method, path in [("put", "/articles/{article_id}"),
                         ("post", "/articles/{article_id}/actions/{action}")]:
        assert _params(_op(doc, method, path))["header:If-Match"]["type"] == "string"


def test_response_headers_are_declared(client: Any) -> None:
    doc = _doc(client)
    created = _op(doc, "post", "/articles")["responses"]["201"]["headers"]
    assert created["ETag"]["required"] is True and created["Location"]["required"] is True
    assert created["Idempotent-Replayed"] == {
        "$ref": "#/components/headers/Idempotent-Replayed"}
    assert _op(doc, "get", "/articles/{article_id}")["responses"]["200"]["headers"]["ETag"][
        "required"] is True
    assert "ETag" in _op(doc, "put", "/articles/{article_id}")["responses"]["409"]["headers"]
    assert _op(doc, "get", "/me")["responses"]["401"]["headers"]["WWW-Authenticate"][
        "required"] is True


def test_rules_are_in_the_schema(client: Any) -> None:
    doc = _doc(client)
    schemas = doc["components"]["schemas"]
    cursor = _params(_op(doc, "get", "/articles"))["query:cursor"]
    assert cursor["pattern"] == "^articles_[0-7]?[0-9a-f]{1,7}$"
    assert _params(_op(doc, "get", "/articles"))["query:limit"]["type"] == "integer"
    assert _params(_op(doc, "get", "/articles"))["query:state"]["enum"][0] == "draft"
    ref = schemas["Reference"]["properties"]
    assert ref["url"]["pattern"].startswith("^[Hh][Tt][Tt][Pp][Ss]?://")
    assert ref["doi"]["pattern"].startswith("^10\\.[0-9]{4,9}/")
    # The title and one of url, doi, pmid (none of them may be null).
    assert schemas["Reference"]["minProperties"] == 2
    assert schemas["Reference"]["additionalProperties"] is False
    assert schemas["ArticleCreate"]["properties"]["title"]["pattern"] == "^[^\\x00]*$"
    hook = schemas["WebhookCreate"]["properties"]
    assert hook["url"]["pattern"].startswith("^[Hh][Tt][Tt][Pp][Ss]?://")
    assert hook["secret"]["anyOf"][0]["pattern"].startswith("^whsec_")
    assert {"article.submit", "*"} <= set(hook["events"]["items"]["enum"])
    assert set(schemas["EmailSettings"]["properties"]) == {
        "review_requested", "changes_requested", "approved", "rejected",
        "revised_by_editor", "thread_activity"}
    assert schemas["EmailSettings"]["additionalProperties"] is False
    assert schemas["ActionRequest"]["properties"]["expected_version"]["anyOf"][0][
        "type"] == "integer"
    item = doc["paths"]["/api/v1/articles/{article_id}"]
    assert item["description"] == (
        "Any other method answers 405 method_not_allowed with Allow: GET, HEAD, OPTIONS, PUT.")


def test_integers_are_json_integers_and_query_integers_digits(
    api_as: Any, people: Any
) -> None:
    api = api_as(people["author"])
    aid = api.post("/articles", json=draft()).json["id"]
    # 1.0 is the integer 1 in JSON Schema (and so in the document): taken as 1.
    assert api.put(f"/articles/{aid}", json=draft(expected_version=1.0)).status_code == 200
    r = api.put(f"/articles/{aid}", json=draft(expected_version=2.5))
    assert r.status_code == 422 and "expected_version" in r.json["error"]["details"]["fields"]
    r = api.put(f"/articles/{aid}", json=draft(expected_version="2"))
    assert r.status_code == 422
    r = api.get("/articles?limit=5.0")
    assert r.status_code == 422
    assert r.json["error"]["details"]["fields"]["limit"] == (
        "must be a whole number written in digits, such as 50")


def test_a_missing_article_is_404_on_every_method(api_as: Any, people: Any) -> None:
    api = api_as(people["editor"])
    for article_id in (999, 0, 2**31, 10**30):
        for r in (api.get(f"/articles/{article_id}"),
                  api.put(f"/articles/{article_id}", json=draft()),
                  api.act(article_id, "submit"),
                  api.get(f"/articles/{article_id}/history"),
                  api.get(f"/articles/{article_id}/revisions")):
            assert r.status_code == 404, (article_id, r.request.method, r.request.path)
            assert r.json["error"]["code"] == "not_found"
    r = api.client.delete("/api/v1/articles/1", headers=api._h(None))
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    assert api.client.delete("/api/v1/articles/0", headers=api._h(None)).status_code == 404


def test_cursors_of_another_list_and_bad_headers_keep_their_codes(
    api_as: Any, people: Any
) -> None:
    from review_flow.api import pagination

    api = api_as(people["author"])
    for cursor in ("not-a-cursor", pagination.encode("audit", 5), "articles_80000000"):
        r = api.get("/articles", query_string={"cursor": cursor})
        assert r.status_code == 400 and r.json["error"]["code"] == "invalid_cursor"
    r = api.post("/articles", json=draft(), headers={"Idempotency-Key": "has space"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_idempotency_key"
    aid = api.post("/articles", json=draft()).json["id"]
    r = api.put(f"/articles/{aid}", json=draft(), headers={"If-Match": "v1"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_if_match"
