"""Auditors change nothing: every POST route of the app, read from ``app.url_map`` (so a
new route is covered without editing this file), refuses a person whose only role is
auditor with 403 and writes nothing, except the few in ``access.AUDITOR_POSTS`` (their
own sign-in, settings and password; a trail review; starting an integrity run)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from review_flow.audit.models import AuditEvent
from review_flow.web import access


def _url(rule: Any, ids: dict[str, int]) -> str:
    """The rule's path with real ids where a route takes one (the article under review,
    so a refusal cannot be a 404 in disguise) and plain words elsewhere."""
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if type(converter).__name__ in ("IdConverter", "IntegerConverter"):
            values[name] = ids["under_review"]
        elif hasattr(converter, "items"):  # <any(a, b):name>: one of its words
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "approve" if name == "kind" else "start_review"
    return rule.build(values, append_unknown=False)[1]


def _counts(db: Any) -> dict[str, int]:
    """Rows in every table the app writes (sessions aside: signing in makes one)."""
    with db.reading() as s:
        names = [t for t in s.get_bind().dialect.get_table_names(s.connection())
                 if t not in ("alembic_version", "sign_in_sessions", "sign_in_throttle")]
        return {t: int(s.scalar(text(f'SELECT count(*) FROM "{t}"')) or 0) for t in names}


def test_every_post_route_refuses_an_auditor(app: Flask, as_role: Any, story: Any,
                                            db: Any) -> None:
    story.in_state("under_review")
    auditor = as_role("auditor")
    posts = sorted(
        (r for r in app.url_map.iter_rules()
         if {"POST", "PUT", "PATCH", "DELETE"} & set(r.methods or ())
         and not access.rule_for(r.endpoint).token_auth),  # type: ignore[union-attr]
        key=lambda r: r.endpoint)
    assert len(posts) >= 25, "the url_map walk found too few POST routes"
    before = _counts(db)
    refused = []
    for rule in posts:
        if rule.endpoint in access.AUDITOR_POSTS:
            continue
        url = _url(rule, story.ids)
        response = auditor.post(url, {"comment": "x", "title": "x", "body": "x",
                                      "password": "x", "reviewer": "1"})
        assert response.status_code == 403, (rule.endpoint, url, response.status_code)
        assert "Auditors change nothing" in response.get_data(as_text=True), rule.endpoint
        refused.append(rule.endpoint)
    assert _counts(db) == before, "a refused auditor POST wrote something"
    assert {"review.act", "review.comment", "rounds.respond", "policy.save",
            "people.add_person"} <= set(refused)
    # The allowed ones exist (a renamed route must not silently drop out of the list).
    endpoints = {r.endpoint for r in posts}
    assert endpoints >= access.AUDITOR_POSTS


def test_an_auditor_who_is_also_a_reviewer_keeps_the_reviewer_role(
        app: Flask, make_user: Any, story: Any, db: Any) -> None:
    """Only the auditor role changes nothing: another role held keeps what it allows."""
    from tests.web.conftest import Browser

    make_user("both@example.org", "auditor", "reviewer", name="Dr. Both Roles",
              credentials="MD")
    s = story.in_state("submitted")
    client = Browser(app.test_client())
    assert client.sign_in("both@example.org").status_code == 303
    assert client.post(f"/articles/{s}/actions/start_review", {}).status_code == 303
    assert story.state(s) == "under_review"
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "article.start_review")) == 1


def test_every_api_write_refuses_an_auditors_token(app: Flask, make_user: Any, story: Any,
                                                   db: Any) -> None:
    """The JSON API's writes (token-authenticated) refuse an auditor's token too."""
    from review_flow.tokens import service as tokens

    auditor = make_user("api.auditor@example.org", "auditor", name="Api Auditor")
    story.in_state("under_review")
    with db.transaction() as s:
        token = tokens.create_token(s, auditor.user, name="audit").plaintext
    client = app.test_client()
    writes = [r for r in app.url_map.iter_rules()
              if {"POST", "PUT", "PATCH", "DELETE"} & set(r.methods or ())
              and access.rule_for(r.endpoint).token_auth]  # type: ignore[union-attr]
    assert writes
    before = _counts(db)
    for rule in writes:
        url = _url(rule, story.ids)
        method = sorted({"POST", "PUT", "PATCH", "DELETE"} & set(rule.methods or ()))[0]
        response = client.open(url, method=method, json={"title": "x", "body": "x"},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, (rule.endpoint, url, response.get_data()[:300])
        assert response.get_json()["error"]["code"] == "forbidden"
        assert "Auditors change nothing" in response.get_json()["error"]["message"]
    after = _counts(db)
    after.pop("api_tokens"), before.pop("api_tokens")  # last use is not a change
    assert after == before
