"""Hostile input against every route of the app: never a server error.

The route list comes from ``app.url_map``, so a new route is driven too without editing
this file. Each route gets out-of-range and malformed path values (ids of 2^31, 2^63 and
beyond, negative, NUL, very long), every query argument any page or endpoint reads with
hostile values (huge numbers, forged cursors, dates that overflow, NUL, long text), and
each POST form or JSON body with NUL bytes, huge numbers and long text, as each role the
route's access rule lets in (anonymous too). Any 5xx fails, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from review_flow.api import pagination
from review_flow.app import webhook_config
from review_flow.notifications import webhooks
from review_flow.tokens import service as tokens
from review_flow.web import access
from review_flow.web.context import Anonymous
from tests.web.conftest import Browser

ROLES = ("anonymous", "author", "reviewer", "editor", "auditor", "admin")
BIG = ["2147483647", "2147483648", "9223372036854775807", "9223372036854775808",
       "18446744073709551616", "1" + "0" * 40]
INTS = ["0", "-1", "\u00b2", "\u0661\u0662", *BIG]
TEXTS = ["a\x00b", "\x00", "x" * 5000, "\u202e\ufeff", "../../etc/passwd", "%00", "1e999",
         "NaN", " 1 ", "\U0001f600"]
CURSOR_KINDS = ("articles", "history", "revisions", "audit", "deliveries")
CURSORS = [pagination.encode(kind, n) for kind in CURSOR_KINDS
           for n in (2**31 - 1, 2**31, 2**62, 2**63, 2**64)] + [
    "!!!", "e30", "W10", "WyJhdWRpdCIsLTFd", "x" * 300]
DATES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01",
         "9999-12-31T23:59:59.999999-14:00", "2026-13-45T99:99:99", "2026-01-01T00:00:00+99:00"]
# Every query argument a page or endpoint reads, by kind, with what to throw at it.
NUMBER_ARGS = ("page", "before", "expected_version", "limit", "actor", "article")
TEXT_ARGS = ("state", "next", "content_hash", "action", "after")
DATE_ARGS = ("since", "until")
SOME_TEXTS = ["a\x00b", "x" * 5000, "%00"]


def _query_values(name: str) -> list[str]:
    if name in NUMBER_ARGS:
        return [*INTS, "1e999", " 1 ", *SOME_TEXTS]
    if name in DATE_ARGS:
        return [*DATES, *SOME_TEXTS]
    if name == "cursor":
        return [*CURSORS, *SOME_TEXTS]
    return TEXTS


QUERY_NAMES = (*NUMBER_ARGS, *TEXT_ARGS, *DATE_ARGS, "cursor")
# Web pages read each argument on their own and fall back to a default for a bad one, so
# one request sets them all (the i-th hostile value of each kind).
QUERY_CASES = [
    {name: _query_values(name)[i % len(_query_values(name))] for name in QUERY_NAMES}
    for i in range(max(len(_query_values(n)) for n in QUERY_NAMES))
]
# Every form field the web forms have.
FORM_FIELDS = ("title", "body", "references-0-title", "references-0-url", "references-0-doi",
               "references-0-pmid", "references-1-title", "op", "expected_version",
               "comment", "return_to", "content_hash", "password", "email", "next",
               "remember", "submission_id", "url", "events", "description", "secret",
               "kinds", "name", "checklist", "references_verified", "conflict_of_interest",
               "checklist-1", "status", "note",
               "credentials", "specialties", "verified_until", "roles", "current", "repeat")
FORM_VALUES = ["a\x00b", "x" * 300_000, *BIG, "-1", "remove-99999999999999999999",
               "up-9223372036854775808"]
JSON_VALUES: list[Any] = ["a\x00b", "x" * 100_000, 2**31, 2**63, 2**64, -1, 1e308, None,
                          [], {}, True, [{"title": "a\x00", "doi": "10.1000/x"}]]
IF_MATCH = ['"v2147483648"', '"v9999999999"', 'W/"v0"', "x" * 5000]
IDEMPOTENCY_KEYS = ["k" * 5000, "\u00e9\u00e9", " "]


@pytest.fixture
def world(app: Any, story: Any, people: dict[str, Any], db: Any,
          make_user: Any) -> dict[str, Any]:
    """Something for each route to find: articles in several states, a token, a webhook.

    The app answers as in production: an unhandled error is a 500 page, not a traceback
    in the test, so every failing case is listed at once."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for state in ("draft", "under_review", "approved"):
        story.in_state(state)
    everyone = make_user("everyone@example.org", "author", "reviewer", "editor", "auditor",
                         "admin", name="Every Role")
    with db.transaction() as s:
        token = tokens.create_token(s, s.merge(everyone.user), name="fuzz")
        hook = webhooks.create_webhook(s, webhook_config(app), url="http://127.0.0.1:9/x",
                                       events=["*"])
    return {"token": token.plaintext, "token_id": token.token.id,
            "webhook_id": hook.webhook.id, "article_id": story.ids["under_review"],
            "user_id": people["reviewer"].id,
            "slug": story.slug(story.ids["approved"])}


def _valid(name: str, world: dict[str, Any]) -> str:
    return str({"article_id": world["article_id"], "number": 1, "action": "approve",
                "slug": world["slug"], "token_id": world["token_id"],
                "webhook_id": world["webhook_id"], "filename": "style.css",
                "user_id": world["user_id"], "token": "not-an-invitation",
                "assignment_id": 1, "thread_id": 1, "change": "resolve",
                "fmt": "csv"}[name])


def _principal(role: str, people: dict[str, Any]) -> Any:
    if role == "anonymous":
        return Anonymous()

    class Principal:
        is_authenticated = True
        roles = people[role].user.roles

    return Principal()


def _fill(rule: Any, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>",
                  lambda m: quote(values[m.group(1)], safe=""), rule.rule)


def _valid_path(rule: Any, world: dict[str, Any]) -> str:
    return _fill(rule, {name: _valid(name, world) for name in rule.arguments})


def _path_cases(rule: Any, world: dict[str, Any]) -> list[str]:
    """The route with each argument in turn set to each hostile value (others valid)."""
    valid = {name: _valid(name, world) for name in rule.arguments}
    out = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            bad = [*INTS, "1\x00", "x"]
        elif isinstance(converter, AnyConverter):
            bad = ["x" * 5000, "a\x00"]
        else:
            bad = TEXTS
        out += [_fill(rule, {**valid, name: value}) for value in bad]
    return out


def _methods(rule: Any) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


class Failures(list[str]):
    throttled = 0

    def check(self, response: Any, what: str) -> None:
        response.close()  # a static file is streamed: close it
        self.throttled += response.status_code == 429
        if response.status_code >= 500:
            self.append(f"{response.status_code} {what}")


def _signed_in(app: Any, email: str | None) -> tuple[Browser, str]:
    """A client signed in as ``email`` (anonymous for None) and its CSRF token."""
    browser = Browser(app.test_client())
    if email is None:
        return browser, browser.token("/sign-in")
    assert browser.sign_in(email).status_code == 303
    return browser, browser.token("/account/notifications")


def _web_rules(app: Any) -> list[Any]:
    rules = [r for r in app.url_map.iter_rules() if not r.endpoint.startswith("api.")]
    assert len(rules) >= 30
    return rules


def test_no_web_route_answers_a_server_error_to_hostile_paths_or_queries(
        app: Any, world: dict[str, Any], people: dict[str, Any]) -> None:
    """Each role that the access rule lets in (and anonymous, who is turned away)."""
    failures = Failures()
    for role in ROLES:
        principal = _principal(role, people)
        browser, token = _signed_in(app, None if role == "anonymous" else
                                    people[role].user.email)
        for rule in _web_rules(app):
            allowed = access.rule_for(rule.endpoint).allows(principal)
            if (not allowed and role != "anonymous") or rule.endpoint == "auth.sign_out":
                continue
            for method in _methods(rule):
                data = {"csrf_token": token} if method == "POST" else None
                for path in _path_cases(rule, world):
                    failures.check(browser.client.open(path, method=method, data=data),
                                   f"{role} {method} {path[:100]!r}")
                if method != "GET":
                    continue
                for query in QUERY_CASES:
                    response = browser.client.get(_valid_path(rule, world), query_string=query)
                    failures.check(response, f"{role} GET {_valid_path(rule, world)} "
                                             f"{ {k: v[:40] for k, v in query.items()} }")
    assert not failures, "\n".join(failures)


def test_no_web_form_answers_a_server_error(app: Any, world: dict[str, Any]) -> None:
    """Every field at once with each hostile value, then NUL in each field alone."""
    failures = Failures()
    everyone, everyone_token = _signed_in(app, "everyone@example.org")
    anonymous, anonymous_token = _signed_in(app, None)
    cases = [dict.fromkeys(FORM_FIELDS, value) for value in FORM_VALUES]
    cases += [{field: "a\x00b"} for field in FORM_FIELDS]
    for rule in _web_rules(app):
        if "POST" not in rule.methods or rule.endpoint == "auth.sign_out":
            continue
        public = access.rule_for(rule.endpoint) is access.PUBLIC
        client, token = (anonymous, anonymous_token) if public else (everyone, everyone_token)
        path = _valid_path(rule, world)
        for case in cases:
            response = client.client.post(path, data={**case, "csrf_token": token})
            failures.check(response, f"POST {path} {sorted(case)[0]}..."
                                     f"={next(iter(case.values()))[:30]!r}")
    for value in FORM_VALUES:
        failures.check(everyone.client.post("/sign-out", data={"csrf_token": value}),
                       f"POST /sign-out csrf_token={value[:30]!r}")
    failures.check(everyone.client.post("/sign-out", data={
        **dict.fromkeys(FORM_FIELDS, "a\x00b"), "csrf_token": everyone_token}),
        "POST /sign-out with NUL fields")
    assert not failures, "\n".join(failures)


def _api_operation(doc: dict[str, Any], rule: Any, method: str) -> dict[str, Any]:
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
    return doc["paths"].get(path, {}).get(method.lower(), {})


def _body_fields(doc: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    schema = doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return list(schema.get("properties", {}))


def test_no_api_endpoint_answers_a_server_error(app: Any, world: dict[str, Any]) -> None:
    """Path values, each declared query argument and body field, If-Match, Idempotency-Key."""
    failures = Failures()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {world['token']}"}
    doc = client.get("/api/v1/openapi.json").json
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) >= 15
    for rule in rules:
        path = _valid_path(rule, world)
        for method in _methods(rule):
            operation = _api_operation(doc, rule, method)
            for bad in _path_cases(rule, world):
                failures.check(client.open(bad, method=method, headers=auth, json={}),
                               f"{method} {bad[:100]!r}")
            for param in operation.get("parameters", []):
                if param["in"] != "query":
                    continue
                for value in _query_values(param["name"]):
                    response = client.get(path, headers=auth, query_string={
                        param["name"]: value})
                    failures.check(response, f"GET {path}?{param['name']}={value[:60]!r}")
            if method == "GET":
                continue
            for field in _body_fields(doc, operation):
                for value in JSON_VALUES:
                    response = client.open(path, method=method, headers=auth,
                                           json={field: value})
                    failures.check(response, f"{method} {path} {field}={str(value)[:30]!r}")
            for header in IF_MATCH:
                response = client.open(path, method=method, json={},
                                       headers={**auth, "If-Match": header})
                failures.check(response, f"{method} {path} If-Match={header[:20]!r}")
            for key in IDEMPOTENCY_KEYS:
                response = client.open(path, method=method, json={},
                                       headers={**auth, "Idempotency-Key": key})
                failures.check(response, f"{method} {path} Idempotency-Key={key[:20]!r}")
    assert not failures, "\n".join(failures)
    assert failures.throttled == 0, "rate limiting kept the requests from the handlers"


# --- the cases the attack test found, each named -------------------------------------


def _nothing_written(story: Any, before: int) -> None:
    assert story.event_count() == before


def test_nul_in_a_web_field_is_refused_by_name_and_nothing_is_stored(
        as_role: Any, story: Any, people: dict[str, Any]) -> None:
    article_id = story.in_state("under_review")
    author, reviewer, anonymous = as_role("author"), as_role("reviewer"), as_role("anonymous")
    before = story.event_count()
    cases = [
        (author, "/write/new", {"title": "Salt\x00", "body": "Text [1].",
                                "references-0-title": "A", "references-0-doi": "10.1000/x"},
         "title"),
        (author, "/write/new", {"title": "Salt", "body": "Text [1].",
                                "references-0-title": "Guide\x00line",
                                "references-0-doi": "10.1000/x"}, "references-0-title"),
        (reviewer, f"/articles/{article_id}/comments", {"body": "Looks\x00 fine"}, "body"),
        (anonymous, "/sign-in", {"email": "reed@example.org\x00", "password": "x"}, "email"),
    ]
    for browser, path, data, field in cases:
        response = browser.post(path, data)
        assert response.status_code == 422, (path, response.status_code)
        assert (f"The form field “{field}” contains a NUL character, which no text here may "
                "hold; remove it. Nothing was saved.") in response.text
    slug = anonymous.get("/articles/salt%00")
    assert slug.status_code == 422
    assert ("The address (slug) contains a NUL character, which no text here may hold; "
            "remove it. Nothing was saved.") in slug.text
    _nothing_written(story, before)


def test_the_domain_refuses_nul_in_titles_references_and_comments(
        db: Any, people: dict[str, Any], story: Any) -> None:
    """For every entry point (the CLI too), not only the web gate."""
    from review_flow.articles.comments import add_comment
    from review_flow.articles.writes import create_article
    from review_flow.errors import ValidationFailed

    article_id = story.in_state("under_review")
    before = story.event_count()
    attempts = [
        lambda s: create_article(s, people["author"], title="A\x00", body="b"),
        lambda s: create_article(s, people["author"], title="A", body="b",
                                 references=[{"title": "R\x00", "doi": "10.1000/x"}]),
        lambda s: create_article(s, people["author"], title="A", body="b",
                                 generator={"name": "pipe\x00line"}),
        lambda s: add_comment(s, people["reviewer"], article_id, "fine\x00"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationFailed, match=r"(contains a|must not contain) NUL"), \
                db.transaction() as s:
            attempt(s)
    _nothing_written(story, before)


def test_ids_past_the_integer_columns_are_not_found(as_role: Any, story: Any) -> None:
    article_id = story.create()
    editor = as_role("editor")
    for bad in ("2147483648", "9223372036854775808", "0", "00000000001"):
        assert editor.get(f"/write/{bad}").status_code == 404
        assert editor.get(f"/review/{bad}").status_code == 404
    assert editor.get(f"/write/{article_id}/revisions/2147483648").status_code == 404
    assert editor.get(f"/write/{article_id}").status_code == 200


def test_pagers_take_a_hostile_page_or_cursor_as_the_first_page(as_role: Any,
                                                                story: Any) -> None:
    story.in_state("submitted", title="Waiting article")
    reviewer = as_role("reviewer")
    for page in ("9223372036854775808", "99999999", "\u00b2", "-1"):
        response = reviewer.get("/review", query_string={"page": page})
        assert response.status_code == 200
        assert "Waiting article" in response.text
    auditor = as_role("auditor")
    for before in ("2147483648", "9223372036854775808", "\u00b2"):
        response = auditor.get("/audit", query_string={"before": before})
        assert response.status_code == 200
        assert "article.submit" in response.text


def test_api_dates_outside_utc_are_its_ends_and_cursors_past_the_columns_are_refused(
        app: Any, world: dict[str, Any]) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {world['token']}"}
    # Valid date-times (the document says so) with no UTC form are the ends of UTC's range.
    early = client.get("/api/v1/audit", headers=auth,
                       query_string={"since": "0001-01-01T00:00:00+05:00"})
    assert early.status_code == 200 and early.json["items"]
    late = client.get("/api/v1/audit", headers=auth,
                      query_string={"since": "9999-12-31T23:59:59-05:00"})
    assert late.status_code == 200 and late.json["items"] == []
    ok = client.get("/api/v1/audit", headers=auth,
                    query_string={"since": "0001-01-01T00:00:00-05:00"})
    assert ok.status_code == 200 and ok.json["items"]
    for kind, path in (("articles", "/api/v1/articles"),
                       ("revisions", f"/api/v1/articles/{world['article_id']}/revisions")):
        for position in (2**31, 2**62):
            cursor = pagination.encode(kind, position)
            response = client.get(path, headers=auth, query_string={"cursor": cursor})
            assert response.status_code == 400
            assert response.json["error"]["code"] == "invalid_cursor"
        last = client.get(path, headers=auth,
                          query_string={"cursor": pagination.encode(kind, 2**31 - 1)})
        assert last.status_code == 200
