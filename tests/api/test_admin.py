"""Admin operations over the API: tokens, webhooks, notification settings, key purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from review_flow.audit.models import AuditEvent
from review_flow.idempotency import IdempotencyRecord
from tests.api.conftest import draft


def test_admin_creates_a_token_for_a_pipeline_user(
    api_as: Any, people: Any, make_user: Any
) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    r = admin.post("/tokens", json={"user_email": "author@example.org", "name": "pipeline"})
    assert r.status_code == 201, r.json
    secret = r.json["token"]
    assert secret.startswith("rf_") and r.json["user"]["name"] == "Alex Author"
    listed = admin.get("/tokens").json["items"]
    assert all(t["token"] is None for t in listed)  # never shown again
    pipeline = admin.__class__(admin.client, secret)
    assert pipeline.get("/me").json["email"] == "author@example.org"
    # Not an admin: may list and revoke only their own, not create.
    r = pipeline.post("/tokens", json={"user_email": "author@example.org"})
    assert r.status_code == 403
    assert [t["user"]["id"] for t in pipeline.get("/tokens").json["items"]] == [people["author"].id]
    admin_token_id = next(t["id"] for t in listed if t["user"]["name"] != "Alex Author")
    assert pipeline.post(f"/tokens/{admin_token_id}/revoke").status_code == 403


def test_webhook_admin_endpoints(api_as: Any, make_user: Any, db: Any) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    r = admin.post(
        "/webhooks",
        json={
            "url": "https://hooks.example.org/rf",
            "events": ["article.submit", "article.approve"],
            "description": "CMS sync",
        },
    )
    assert r.status_code == 201, r.json
    hook = r.json
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    assert admin.get("/webhooks").json["items"][0]["secret"] is None
    r = admin.put(f"/webhooks/{hook['id']}", json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    assert admin.put("/webhooks/999", json={"active": True}).status_code == 404
    r = admin.post("/webhooks", json={"url": "https://x.org", "events": ["article.nope"]})
    assert r.status_code == 422 and "events[0]" in r.json["error"]["details"]["fields"]
    assert admin.get(f"/webhooks/{hook['id']}/deliveries").json == {
        "items": [],
        "next_cursor": None,
    }
    with db.reading() as s:
        assert list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("webhook.%")))
        ) == ["webhook.create", "webhook.update"]


def test_people_turn_email_kinds_off(api_as: Any, people: Any) -> None:
    api = api_as(people["author"])
    assert api.get("/me").json["notifications"]["email"] == {
        "review_requested": True,
        "changes_requested": True,
        "approved": True,
        "rejected": True,
        "revised_by_editor": True,
        "thread_activity": True,
    }
    r = api.put("/me/notifications", json={"email": {"approved": False}})
    assert r.status_code == 200 and r.json["notifications"]["email"]["approved"] is False
    r = api.put("/me/notifications", json={"email": {"bogus": False}})
    # The kinds are in the document (an object with one property per kind), so an unknown
    # one is refused by the schema, naming it.
    assert r.status_code == 422 and "email.bogus" in r.json["error"]["details"]["fields"]


def test_notification_cli(app: Any, people: Any) -> None:
    runner = app.test_cli_runner()
    assert (
        runner.invoke(
            args=["notifications", "set", "author@example.org", "approved", "off"]
        ).exit_code
        == 0
    )
    shown = runner.invoke(args=["notifications", "show", "author@example.org"]).output
    assert "approved\toff" in shown and "rejected\ton" in shown


def test_old_idempotency_keys_are_purged(app: Any, api_as: Any, people: Any, db: Any) -> None:
    api = api_as(people["author"])
    api.post("/articles", json=draft(), headers={"Idempotency-Key": "old"})
    with db.transaction() as s:
        row = s.scalar(select(IdempotencyRecord))
        row.created_at -= timedelta(hours=25)
    api.post("/articles", json=draft(title="New"), headers={"Idempotency-Key": "new"})
    result = app.test_cli_runner().invoke(args=["api", "purge-keys", "--older-than-hours", "24"])
    assert "purged 1 " in result.output
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_secrets_shown_once_are_not_kept_for_idempotent_replays(
    api_as: Any, make_user: Any, db: Any
) -> None:
    """A retried create answers as before but with the secret null: the idempotency
    record would otherwise hold a plain token (stored only as a hash) or signing secret."""
    admin = api_as(make_user("admin@example.org", "admin"))
    calls = [
        ("/tokens", {"user_email": "admin@example.org", "name": "pipeline"}, "token"),
        ("/webhooks", {"url": "https://hooks.example.org/rf", "events": ["*"]}, "secret"),
    ]
    for path, body, field in calls:
        key = {"Idempotency-Key": f"once-{field}"}
        first = admin.post(path, json=body, headers=key)
        assert first.status_code == 201, first.json
        secret = first.json[field]
        assert secret and len(secret) > 30
        again = admin.post(path, json=body, headers=key)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json == {**first.json, field: None}
        with db.reading() as s:
            stored = s.scalar(
                select(IdempotencyRecord.response_body).where(
                    IdempotencyRecord.key == f"once-{field}"
                )
            )
        assert secret not in str(stored) and stored[field] is None
    assert len(admin.get("/tokens").json["items"]) == 2  # the admin's own and one new
    assert len(admin.get("/webhooks").json["items"]) == 1


def test_a_refusal_is_a_sentence_and_keeps_its_code_and_fields(
    api_as: Any, make_user: Any
) -> None:
    """The words changed (issue 11): the error's code and its ``fields`` key and reason
    are what clients read, and stay; the sentence is also tied to its field."""
    admin = api_as(make_user("admin@example.org", "admin"))
    r = admin.post("/webhooks", json={"url": "ftp://files.example.org/in", "events": ["*"]})
    assert r.status_code == 422
    error = r.json["error"]
    assert error["code"] == "validation_failed"
    assert error["message"] == "Enter the webhook's address as an http:// or https:// URL."
    assert error["details"]["fields"] == {"url": "must be an http(s) URL"}
    assert error["details"]["problems"] == [{
        "code": "validation_failed", "field": "url",
        "message": "Enter the webhook's address as an http:// or https:// URL."}]
    r = admin.post("/tokens", json={"user_email": "author@example.org", "name": "n" * 101})
    assert r.status_code == 422
    assert r.json["error"]["message"] == "The value for name has at most 100 characters."
    assert list(r.json["error"]["details"]["fields"]) == ["name"]  # the schema's reason
