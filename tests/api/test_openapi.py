"""The OpenAPI document, and Schemathesis against it: no server errors, every response
matches the declared schema, status codes and content types."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import GENERATOR, Api, draft

EXAMPLES_PER_OPERATION = 25


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


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    app: Any, make_user: Any, token_for: Any
) -> None:
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
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()


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
    ops = [op for item in doc["paths"].values() for op in item.values()]
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
                                      "rejected"}


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
