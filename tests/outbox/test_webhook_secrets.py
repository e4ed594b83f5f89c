"""Webhook signing secrets are encrypted at rest: the database alone cannot sign."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select, text

from review_flow import migrate
from review_flow.app import create_app
from review_flow.audit.models import AuditEvent
from review_flow.db import Database, make_engine
from review_flow.errors import NotFound, ValidationFailed
from review_flow.notifications import webhooks
from review_flow.notifications.models import Webhook
from review_flow.notifications.secret_box import KeyMissing, SecretBox, SecretUnreadable
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxMessage
from tests.conftest import _pg_admin_url, new_pg_database
from tests.support.receivers import webhook_receiver
from tests.support.webhook_config import LOOPBACK, TEST_WEBHOOKS, register
from tests.web.conftest import Browser, csrf_token

SECRET = "whsec_cmV2aWV3LWZsb3ctdGVzdC1zZWNyZXQtMzItYnl0ZXM="  # 32 bytes, Standard Webhooks
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _config(**settings: str) -> webhooks.WebhookConfig:
    return webhooks.WebhookConfig.from_config({"WEBHOOK_ALLOWED_NETWORKS": LOOPBACK, **settings})


def _stored(db: Database) -> list[str]:
    with db.reading() as s:
        return list(s.scalars(select(Webhook.secret_sealed).order_by(Webhook.id)))


def test_the_secret_is_stored_sealed_and_still_signs(
    db: Any, new_article: Any, clock: Any
) -> None:
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            made = webhooks.create_webhook(
                s, TEST_WEBHOOKS, url=rx.url, events=["*"], secret=SECRET
            )
            assert made.secret == SECRET
        [sealed] = _stored(db)
        assert SECRET not in sealed and sealed.startswith("gAAAA")  # a Fernet token
        assert TEST_WEBHOOKS.box.open(sealed) == SECRET
        new_article()
        report = Deliverer(db, DeliverySettings(webhooks=TEST_WEBHOOKS), clock=clock).run()
    assert report.sent == 1 and [h.signature_ok for h in rx.hits] == [True]


def test_a_generated_secret_is_returned_once_and_never_stored_plain(db: Any) -> None:
    with db.transaction() as s:
        made = webhooks.create_webhook(s, TEST_WEBHOOKS, url="https://h.example.org/", events=["*"])
    assert made.secret.startswith("whsec_") and len(made.secret) > 40
    with db.reading() as s:
        row = s.execute(text("SELECT * FROM webhooks")).mappings().one()
    assert not any(made.secret in str(v) for v in row.values())


def test_the_api_answer_holds_the_secret_but_the_database_does_not(
    api_as: Any, db: Any, make_user: Any
) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    r = admin.post("/webhooks", json={"url": "https://hooks.example.org/in", "events": ["*"]})
    assert r.status_code == 201, r.json
    secret = r.json["secret"]
    assert secret.startswith("whsec_")
    with db.reading() as s:
        dump = [str(v) for row in s.execute(text("SELECT * FROM webhooks")) for v in row]
    assert dump and not any(secret in v for v in dump)


def test_keys_from_settings() -> None:
    derived = SecretBox.from_config({"SECRET_KEY": "one"})
    other = SecretBox.from_config({"SECRET_KEY": "two"})
    sealed = derived.seal("s3cret")
    assert derived.open(sealed) == "s3cret"
    with pytest.raises(SecretUnreadable, match="cannot be decrypted"):
        other.open(sealed)
    # A listed key wins over the derived one.
    listed = SecretBox.from_config({"SECRET_KEY": "one", "ENCRYPTION_KEYS": NEW})
    with pytest.raises(SecretUnreadable):
        listed.open(sealed)
    with pytest.raises(KeyMissing, match="REVIEW_FLOW_ENCRYPTION_KEYS or REVIEW_FLOW_SECRET_KEY"):
        SecretBox.from_config({})
    with pytest.raises(ValueError, match="REVIEW_FLOW_ENCRYPTION_KEYS: key 2 is not a Fernet key"):
        SecretBox.from_config({"ENCRYPTION_KEYS": f"{NEW}, not-a-key"})


def test_a_missing_key_stops_registration_and_delivery_with_the_setting_named(
    db: Any, new_article: Any, clock: Any
) -> None:
    keyless = _config()
    with pytest.raises(KeyMissing), db.transaction() as s:
        webhooks.create_webhook(s, keyless, url="https://h.example.org/", events=["*"])
    assert _stored(db) == []
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["*"], secret=SECRET)
        new_article()
        report = Deliverer(db, DeliverySettings(webhooks=keyless), clock=clock).run()
    assert (report.sent, report.retrying) == (0, 1) and rx.hits == []
    with db.reading() as s:
        [(status, error)] = s.execute(select(OutboxMessage.status, OutboxMessage.last_error))
    assert status == "pending"
    assert "cannot sign" in (error or "") and "REVIEW_FLOW_SECRET_KEY" in error


def test_rotating_the_key_with_reseal(db_url: str, db: Any, new_article: Any, clock: Any) -> None:
    def app_with(keys: str) -> Any:
        return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t",
                           "ENCRYPTION_KEYS": keys, "WEBHOOK_ALLOWED_NETWORKS": LOOPBACK})

    with webhook_receiver(SECRET) as rx:
        result = app_with(OLD).test_cli_runner().invoke(
            args=["webhooks", "add", rx.url, "--event", "*"]
        )
        assert result.exit_code == 0, result.output
        generated = result.stdout.strip().splitlines()[-1]
        rx.secret = generated
        before = _stored(db)
        # The new key first, the old one still listed: everything is resealed.
        result = app_with(f"{NEW},{OLD}").test_cli_runner().invoke(args=["webhooks", "reseal"])
        assert result.exit_code == 0 and "Resealed 1 webhook secret." in result.output
        after = _stored(db)
        assert after != before
        # Now the old key can go: deliveries sign with the new one alone.
        new_only = _config(ENCRYPTION_KEYS=NEW)
        assert new_only.box.open(after[0]) == generated
        with pytest.raises(SecretUnreadable):
            _config(ENCRYPTION_KEYS=OLD).box.open(after[0])
        new_article()
        report = Deliverer(db, DeliverySettings(webhooks=new_only), clock=clock).run()
    assert report.sent == 1 and [h.signature_ok for h in rx.hits] == [True]
    # Resealing under a key list that cannot open them fails and changes nothing.
    result = app_with(OLD).test_cli_runner().invoke(args=["webhooks", "reseal"])
    assert result.exit_code != 0 and "cannot be decrypted" in result.output
    assert _stored(db) == after


# --- the migration that sealed existing secrets -----------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no migrations run yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin_url, reason = _pg_admin_url()
    if admin_url is None:
        pytest.skip(reason)
    yield from new_pg_database(admin_url)


def _at_0005_with_a_plain_secret(url: str) -> Any:
    engine = make_engine(url)
    migrate.upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO webhooks (url, description, secret, events, active, created_at, "
            "changed_seq) VALUES ('https://h.example.org/', NULL, :s, '[\"*\"]', true, "
            "CURRENT_TIMESTAMP, 0)"
        ), {"s": SECRET})
    return engine


def test_upgrading_seals_existing_secrets(empty_url: str, monkeypatch: Any) -> None:
    engine = _at_0005_with_a_plain_secret(empty_url)
    monkeypatch.setenv("REVIEW_FLOW_ENCRYPTION_KEYS", NEW)
    migrate.upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("webhooks")}
    assert "secret" not in columns and "secret_sealed" in columns
    with engine.connect() as conn:
        sealed = conn.execute(text("SELECT secret_sealed FROM webhooks")).scalar_one()
    engine.dispose()
    assert SECRET not in sealed and _config(ENCRYPTION_KEYS=NEW).box.open(sealed) == SECRET


def test_upgrading_without_a_key_stops_and_changes_nothing(
    empty_url: str, monkeypatch: Any
) -> None:
    engine = _at_0005_with_a_plain_secret(empty_url)
    for name in ("REVIEW_FLOW_ENCRYPTION_KEYS", "REVIEW_FLOW_SECRET_KEY",
                 "REVIEW_FLOW_DEVELOPMENT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="Cannot seal the existing webhook secrets"):
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0005"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhooks")).scalar_one() == SECRET
    engine.dispose()


# --- a new secret for an endpoint ---------------------------------------------------------


def _updates(db: Database) -> list[Any]:
    with db.reading() as s:
        return [e.data for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "webhook.update"))]


def _signatures(hit: Any) -> list[str]:
    return hit.headers["X-Review-Flow-Signature"].split(",")


def _verifies(secret: str, hit: Any, when: Any) -> bool:
    ts = hit.headers["X-Review-Flow-Timestamp"]
    return webhooks.verify(secret, ts, hit.body, hit.headers["X-Review-Flow-Signature"],
                           now=when)


def test_a_rolled_secret_keeps_signing_through_its_grace_period(
    db: Any, new_article: Any, clock: Any
) -> None:
    settings = DeliverySettings(webhooks=TEST_WEBHOOKS)
    with webhook_receiver(SECRET) as rx:  # the receiver still holds the old secret
        with db.transaction() as s:
            hook_id = register(s, url=rx.url, events=["*"], secret=SECRET).id
        before = _stored(db)
        with db.transaction() as s:
            made = webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id)
        new = made.secret
        assert new.startswith("whsec_") and new != SECRET
        assert _stored(db) != before and new not in _stored(db)[0]
        [update] = _updates(db)
        assert update["secret"] == "replaced" and update["previous_signs_until"]
        new_article(title="During the grace period")
        Deliverer(db, settings, clock=clock).run()
        during = rx.hits[-1]
        assert during.signature_ok and len(_signatures(during)) == 2
        assert _verifies(new, during, clock.now) and _verifies(SECRET, during, clock.now)
        clock.advance(25 * 3600)  # the default grace is 24 hours
        new_article(title="After it")
        Deliverer(db, settings, clock=clock).run()
        after = rx.hits[-1]
    assert [h.json["data"]["article"]["title"] for h in rx.hits] == [
        "During the grace period", "After it"]
    assert len(_signatures(after)) == 1 and not after.signature_ok
    assert _verifies(new, after, clock.now) and not _verifies(SECRET, after, clock.now)


def test_without_grace_the_old_secret_stops_at_once(
    db: Any, new_article: Any, clock: Any
) -> None:
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            hook_id = register(s, url=rx.url, events=["*"], secret=SECRET).id
            webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id)  # a routine roll first
        with db.transaction() as s:
            made = webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id, grace=timedelta(0))
        new_article()
        Deliverer(db, DeliverySettings(webhooks=TEST_WEBHOOKS), clock=clock).run()
    [hit] = rx.hits
    assert len(_signatures(hit)) == 1 and not hit.signature_ok
    assert _verifies(made.secret, hit, clock.now)
    with db.reading() as s:
        hook = s.get(Webhook, hook_id)
        assert hook.previous_secret_sealed is None and hook.previous_secret_until is None


def test_a_bad_new_secret_changes_nothing(db: Any) -> None:
    with db.transaction() as s:
        hook_id = register(s, url="https://h.example.org/", events=["*"], secret=SECRET).id
    before = _stored(db)
    refused = pytest.raises(ValidationFailed,
                            match=r"^The signing secret must be a Standard Webhooks")
    with refused, db.transaction() as s:
        webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id, secret="short")
    with pytest.raises(NotFound), db.transaction() as s:
        webhooks.roll_secret(s, TEST_WEBHOOKS, 999)
    with pytest.raises(ValidationFailed) as err, db.transaction() as s:
        webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id, grace=timedelta(days=8))
    assert err.value.message == "The old secret can keep signing for 0 to 168 hours, no more."
    assert err.value.details["fields"] == {"grace_hours": "0 to 168 hours"}
    assert _stored(db) == before and _updates(db) == []


def test_rolling_through_the_api_cli_and_admin_page(
    app: Any, api_as: Any, make_user: Any, people: Any, db: Any
) -> None:
    with db.transaction() as s:
        hook_id = register(s, url="https://h.example.org/", events=["*"], secret=SECRET).id
    admin_actor = make_user("admin@example.org", "admin")
    api, path = api_as(admin_actor), f"/webhooks/{hook_id}/secret"
    assert api_as(people["author"]).post(path, json={}).status_code == 403
    assert api.post("/webhooks/999/secret", json={}).status_code == 404
    key = {"Idempotency-Key": "roll-1"}
    too_long = api.post(path, json={"grace_hours": 169})
    assert too_long.status_code == 422
    assert "grace_hours" in too_long.json["error"]["details"]["fields"]
    first = api.post(path, json={}, headers=key)
    assert first.status_code == 200 and first.json["secret"].startswith("whsec_")
    assert first.json["previous_secret_signs_until"] is not None
    assert TEST_WEBHOOKS.box.open(_stored(db)[0]) == first.json["secret"]
    again = api.post(path, json={}, headers=key)
    assert again.json["secret"] is None and len(_updates(db)) == 1  # rolled once
    chosen = "whsec_YSBzZWNyZXQgdGhlIGFkbWluIGNob3NlLCAzMiBieXQ="
    leaked = api.post(path, json={"secret": chosen, "grace_hours": 0})
    assert leaked.json["secret"] == chosen and leaked.json["previous_secret_signs_until"] is None
    assert TEST_WEBHOOKS.box.open(_stored(db)[0]) == chosen

    result = app.test_cli_runner().invoke(args=["webhooks", "roll-secret", str(hook_id)])
    assert result.exit_code == 0, result.output
    assert "The old secret also signs until" in result.output
    printed = result.stdout.strip().splitlines()[-1]
    assert TEST_WEBHOOKS.box.open(_stored(db)[0]) == printed
    missing = app.test_cli_runner().invoke(args=["webhooks", "roll-secret", "999"])
    assert missing.exit_code != 0 and "Webhook 999 does not exist" in missing.output

    browser = Browser(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 303
    page = browser.get("/admin/webhooks").get_data(as_text=True)
    response = browser.client.post(f"/admin/webhooks/{hook_id}/secret",
                                   data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    shown = re.search(r'id="new-secret" type="text" readonly value="([^"]+)"',
                      response.get_data(as_text=True))
    assert shown and TEST_WEBHOOKS.box.open(_stored(db)[0]) == shown.group(1)
    assert "has a new signing secret" in response.get_data(as_text=True)
    assert "the old secret&#39;s too" in response.get_data(as_text=True)
    assert "old secret also signs until" in browser.get("/admin/webhooks").get_data(as_text=True)
    assert len(_updates(db)) == 4


def test_reseal_also_reseals_a_previous_secret_in_its_grace_period(db: Any) -> None:
    old_keys = _config(ENCRYPTION_KEYS=OLD)
    both = _config(ENCRYPTION_KEYS=f"{NEW},{OLD}")
    new_only = _config(ENCRYPTION_KEYS=NEW)
    with db.transaction() as s:
        hook_id = webhooks.create_webhook(
            s, old_keys, url="https://h.example.org/", events=["*"], secret=SECRET
        ).webhook.id
        rolled = webhooks.roll_secret(s, old_keys, hook_id).secret
    with db.transaction() as s:
        assert webhooks.reseal_secrets(s, both) == 1
    with db.reading() as s:
        hook = s.get(Webhook, hook_id)
        assert new_only.box.open(hook.secret_sealed) == rolled
        assert new_only.box.open(hook.previous_secret_sealed or "") == SECRET
