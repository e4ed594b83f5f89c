"""Deliveries follow Standard Webhooks: the ``standardwebhooks`` package, run by a real
receiver on loopback, verifies them with the secret the API handed out, also while a
rolled secret signs beside the new one; endpoints made before the standard keep working
through the legacy headers until given a new secret, and the legacy headers can be
turned off."""

from __future__ import annotations

import base64
import json
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import select, update

from review_flow.app import create_app, database
from review_flow.notifications import webhooks
from review_flow.notifications.models import Webhook
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxMessage
from tests.support.receivers import webhook_receiver
from tests.support.webhook_config import LOOPBACK, TEST_WEBHOOKS, register
from tests.web.conftest import Browser

# What secrets looked like before Standard Webhooks ("whsec_" + token_urlsafe(32)).
LEGACY_SECRET = "whsec_q3-Tt0pYc_8bXJ1Lr4vW9nZs2Hk7uE5aD6fG0iO1mN"
NO_LEGACY = webhooks.WebhookConfig.from_config(
    {"SECRET_KEY": "test-secret", "WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
     "WEBHOOK_LEGACY_HEADERS": "0"}
)
LEGACY = ("X-Review-Flow-Id", "X-Review-Flow-Timestamp", "X-Review-Flow-Signature")


def _deliver(db: Any, clock: Any, config: webhooks.WebhookConfig = TEST_WEBHOOKS) -> Any:
    """Deliver what is due with the wall clock's time: the library checks timestamps
    against its own clock (5 minutes either way)."""
    clock.now = datetime.now(UTC)
    return Deliverer(db, DeliverySettings(webhooks=config), clock=clock).run()


def _entries(hit: Any) -> list[str]:
    return hit.headers["webhook-signature"].split(" ")


def test_a_generated_secret_verifies_with_the_standardwebhooks_library(
    api_as: Any, make_user: Any, people: Any, db: Any, clock: Any, new_article: Any
) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    with webhook_receiver("pending") as rx:
        made = admin.post("/webhooks", json={"url": rx.url, "events": ["*"]})
        assert made.status_code == 201, made.json
        rx.secret = made.json["secret"]
        key = base64.b64decode(rx.secret.removeprefix("whsec_"), validate=True)
        assert len(key) == 32
        aid = new_article()
        assert _deliver(db, clock).sent == 1
    [hit] = rx.hits
    assert hit.standard_ok, hit.standard_error
    # The id is the outbox message id, also in the body; one signature, base64.
    assert hit.headers["webhook-id"] == hit.json["id"]
    assert int(hit.headers["webhook-timestamp"]) == int(clock.now.timestamp())
    [entry] = _entries(hit)
    version, signature = entry.split(",")
    assert version == "v1" and len(base64.b64decode(signature, validate=True)) == 32
    assert hit.json["type"] == "article.create" and hit.json["data"]["article"]["id"] == aid
    # The library refuses an altered body, a changed id, and another secret.
    verifier = standardwebhooks.Webhook(rx.secret)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(hit.body.replace(b"article.create", b"article.delete"), hit.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(hit.body, {**hit.headers, "webhook-id": hit.headers["webhook-id"] + "x"})
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(webhooks.new_secret()).verify(hit.body, hit.headers)
    # By default the legacy headers come too, and verify as before.
    assert hit.signature_ok and all(h in hit.headers for h in LEGACY)


def test_during_a_secret_roll_the_library_accepts_either_secret(
    db: Any, clock: Any, new_article: Any
) -> None:
    old = webhooks.new_secret()
    with webhook_receiver(old) as rx:
        with db.transaction() as s:
            hook_id = register(s, url=rx.url, events=["*"], secret=old).id
            new = webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id).secret
        new_article(title="During the grace period")
        _deliver(db, clock)
        during = rx.hits[-1]
        assert during.standard_ok, during.standard_error  # the receiver still has the old one
        rx.secret = new
        assert rx.standard_check(during.body, during.headers) is None  # and the new one
        entries = _entries(during)
        assert len(entries) == 2 and all(e.startswith("v1,") for e in entries)
        assert entries[0] == webhooks.sign_standard(
            base64.b64decode(new.removeprefix("whsec_")), during.headers["webhook-id"],
            int(during.headers["webhook-timestamp"]), during.body)  # newest first
        # The grace period ends: only the new secret signs.
        with db.transaction() as s:
            s.execute(update(Webhook).where(Webhook.id == hook_id).values(
                previous_secret_until=datetime.now(UTC) - timedelta(seconds=1)))
        new_article(title="After it")
        _deliver(db, clock)
        after = rx.hits[-1]
    assert after.json["data"]["article"]["title"] == "After it"
    assert len(_entries(after)) == 1 and after.standard_ok
    rx.secret = old
    assert rx.standard_check(after.body, after.headers) == (
        "WebhookVerificationError: No matching signature found")


def _legacy_endpoint(db: Any, url: str) -> int:
    """An endpoint registered before Standard Webhooks (its secret is not a key)."""
    with db.transaction() as s:
        hook = register(s, url=url, events=["*"])
        hook.secret_sealed = TEST_WEBHOOKS.box.seal(LEGACY_SECRET)
        return hook.id


def test_an_endpoint_from_before_keeps_its_headers_and_moves_by_a_new_secret(
    db: Any, clock: Any, new_article: Any
) -> None:
    assert webhooks.standard_key(LEGACY_SECRET) is None
    with webhook_receiver(LEGACY_SECRET) as rx:
        hook_id = _legacy_endpoint(db, rx.url)
        new_article(title="Before the move")
        _deliver(db, clock)
        before = rx.hits[-1]
        # What its receiver checks today still holds; no standard signature can exist.
        assert before.signature_ok and "webhook-signature" not in before.headers
        assert before.headers["webhook-id"] == before.headers["X-Review-Flow-Id"]
        assert not before.standard_ok
        # The move: a new (standard) secret; the old one signs the legacy header meanwhile.
        with db.transaction() as s:
            new = webhooks.roll_secret(s, TEST_WEBHOOKS, hook_id).secret
        assert webhooks.standard_key(new) is not None
        new_article(title="While moving")
        _deliver(db, clock)
        moving = rx.hits[-1]
    assert moving.signature_ok  # the old receiver code, old secret: still accepted
    assert len(moving.headers["X-Review-Flow-Signature"].split(",")) == 2
    assert len(_entries(moving)) == 1  # only the new secret is a Standard Webhooks key
    rx.secret = new
    assert rx.standard_check(moving.body, moving.headers) is None


def test_with_legacy_headers_off_only_the_standard_ones_are_sent(
    db: Any, clock: Any, new_article: Any
) -> None:
    secret = webhooks.new_secret()
    with webhook_receiver(secret) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["*"], secret=secret)
        new_article()
        assert _deliver(db, clock, NO_LEGACY).sent == 1
    [hit] = rx.hits
    assert hit.standard_ok, hit.standard_error
    assert not any(h in hit.headers for h in LEGACY)
    assert hit.headers["X-Review-Flow-Event"] == "article.create"


def test_with_legacy_headers_off_an_old_secret_cannot_sign_and_says_what_to_do(
    db: Any, clock: Any, new_article: Any
) -> None:
    with webhook_receiver(LEGACY_SECRET) as rx:
        _legacy_endpoint(db, rx.url)
        new_article()
        report = _deliver(db, clock, NO_LEGACY)
    assert rx.hits == [] and (report.sent, report.retrying) == (0, 1)
    with db.reading() as s:
        [(status, error)] = s.execute(select(OutboxMessage.status, OutboxMessage.last_error))
    assert status == "pending"  # sent once the endpoint has a new secret
    assert "not a Standard Webhooks secret" in error
    assert "REVIEW_FLOW_WEBHOOK_LEGACY_HEADERS is off" in error and "new secret" in error


@pytest.mark.parametrize(("secret", "ok"), [
    ("whsec_" + base64.b64encode(b"k" * 24).decode(), True),
    ("whsec_" + base64.b64encode(b"k" * 64).decode(), True),
    ("whsec_" + base64.b64encode(b"k" * 23).decode(), False),  # the spec's 24-byte floor
    ("whsec_" + base64.b64encode(b"k" * 65).decode(), False),  # and 64-byte ceiling
    (base64.b64encode(b"k" * 32).decode(), False),  # no prefix
    ("whsec_" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(), False),  # url-safe alphabet
    ("whsec_" + base64.b64encode(b"k" * 32).decode().rstrip("="), False),  # unpadded
    ("whsec_test-secret-0123456789", False),
])
def test_which_secrets_are_standard(secret: str, ok: bool) -> None:
    assert (webhooks.standard_key(secret) is not None) is ok
    if ok:  # what we accept, the library loads to the same key
        mac = webhooks.sign_standard(webhooks.standard_key(secret) or b"", "m", 1, b"{}")
        datum = datetime.fromtimestamp(1, UTC)
        assert standardwebhooks.Webhook(secret).sign("m", datum, "{}") == mac


def test_the_legacy_headers_setting_is_checked() -> None:
    def legacy(value: str) -> bool:
        return webhooks.WebhookConfig.from_config(
            {"SECRET_KEY": "k", "WEBHOOK_LEGACY_HEADERS": value}).legacy_headers

    assert legacy("1") and legacy("on") and not legacy("0") and not legacy("off")
    assert webhooks.WebhookConfig.from_config({"SECRET_KEY": "k"}).legacy_headers
    with pytest.raises(ValueError, match="REVIEW_FLOW_WEBHOOK_LEGACY_HEADERS: expected 1 or 0"):
        legacy("sometimes")


def test_the_body_sent_is_the_body_signed(db: Any, clock: Any, new_article: Any) -> None:
    """A receiver verifies the raw bytes; they parse to the documented payload."""
    secret = webhooks.new_secret()
    with webhook_receiver(secret) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["*"], secret=secret)
        new_article()
        _deliver(db, clock)
    [hit] = rx.hits
    payload = standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    assert payload == json.loads(hit.body)
    assert set(payload) == {"id", "type", "created_at", "data"}


def _readme_receiver() -> Any:
    """The receiver snippet in README.md, as a function of the names it uses."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [block] = re.findall(r"```python\n( *from standardwebhooks import.*?) *```", readme, re.S)
    code = textwrap.dedent(block)
    source = "def receive(SECRET, request_body_bytes, request_headers, seen, handle):\n"
    source += textwrap.indent(code, "    ") + "    return 204\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    return namespace["receive"]


def test_the_readme_receiver_accepts_a_delivery_and_refuses_a_forgery(
    db: Any, clock: Any, new_article: Any
) -> None:
    secret = webhooks.new_secret()
    with webhook_receiver(secret) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["*"], secret=secret)
        new_article()
        _deliver(db, clock)
    [hit] = rx.hits
    receive = _readme_receiver()
    handled: list[tuple[str, Any]] = []
    ids: set[str] = set()

    def seen(event_id: str) -> bool:
        if event_id in ids:
            return True
        ids.add(event_id)
        return False

    def handle(kind: str, data: Any) -> None:
        handled.append((kind, data))

    assert receive(secret, hit.body, hit.headers, seen, handle) == 204
    assert receive(secret, hit.body, hit.headers, seen, handle) == 200  # a repeat
    forged = hit.body.replace(b"Managing", b"Mismanaging")
    assert receive(secret, forged, hit.headers, seen, handle) == 400
    assert [k for k, _ in handled] == ["article.create"]


def test_the_api_refuses_a_secret_that_is_not_standard(
    api_as: Any, make_user: Any, db: Any
) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    r = admin.post("/webhooks", json={"url": "https://hooks.example.org/in", "events": ["*"],
                                      "secret": "whsec_test-secret-0123456789"})
    assert r.status_code == 422
    assert "Standard Webhooks" in r.json["error"]["details"]["fields"]["secret"]
    with db.reading() as s:
        assert s.scalars(select(Webhook)).all() == []


@pytest.mark.parametrize("legacy", ["1", "0"])
def test_the_admin_page_describes_the_headers_sent(
    db_url: str, db: Any, make_user: Any, legacy: str
) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                      "WEBHOOK_LEGACY_HEADERS": legacy})
    try:
        make_user("admin@example.org", "admin")
        browser = Browser(app.test_client())
        assert browser.sign_in("admin@example.org").status_code == 303
        page = browser.get("/admin/webhooks").get_data(as_text=True)
    finally:
        database(app).dispose()
    assert "<code>webhook-signature: v1,&lt;base64 HMAC-SHA256&gt;</code>" in page
    assert "Standard Webhooks" in page and "24 to 64 random bytes" in page
    assert ("X-Review-Flow-Signature" in page) is (legacy == "1")
