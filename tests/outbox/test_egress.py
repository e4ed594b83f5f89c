"""Webhooks reach only public addresses unless the operator allows more (no SSRF)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from review_flow.app import create_app, database
from review_flow.audit.models import AuditEvent
from review_flow.errors import ValidationFailed
from review_flow.notifications import webhooks
from review_flow.notifications.egress import EgressPolicy, blocked_reason, guarded_session
from review_flow.notifications.models import Webhook
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.tokens import service as tokens
from tests.api.conftest import Api
from tests.support.receivers import webhook_receiver
from tests.support.webhook_config import TEST_WEBHOOKS, register

SECRET = "whsec_cmV2aWV3LWZsb3ctdGVzdC1zZWNyZXQtMzItYnl0ZXM="  # 32 bytes, Standard Webhooks
STRICT = webhooks.WebhookConfig.from_config({"SECRET_KEY": "test-secret"})

REFUSED = {
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "::1": "a loopback address",
    "10.1.2.3": "a private-network address",
    "172.16.0.9": "a private-network address",
    "192.168.1.1": "a private-network address",
    "169.254.169.254": "a link-local address",
    "fe80::1": "a link-local address",
    "::ffff:10.0.0.1": "a private-network address",  # IPv4 wrapped in IPv6
    "fd00::1": "a private-network address",
    "0.0.0.0": "the unspecified address",
    "::": "the unspecified address",
    "224.0.0.1": "a multicast address",
    "100.64.0.1": "not a public address",  # carrier-grade NAT
}


@pytest.mark.parametrize(("address", "kind"), sorted(REFUSED.items()))
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    assert EgressPolicy().refusal(address) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert EgressPolicy().refusal(address) is None


def test_allowed_networks_from_settings() -> None:
    policy = EgressPolicy.from_config({"WEBHOOK_ALLOWED_NETWORKS": " 10.20.0.0/16, ::1/128 "})
    assert policy.refusal("10.20.3.4") is None and policy.refusal("::1") is None
    assert policy.refusal("10.21.0.1") == "a private-network address"
    assert policy.refusal("127.0.0.1") == "a loopback address"
    with pytest.raises(ValueError, match="REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS: 'ten' is not"):
        EgressPolicy.from_config({"WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,ten"})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://localhost/hook", "localhost is the local machine"),
        ("http://api.localhost/hook", "api.localhost is the local machine"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:192.168.0.1]/", "is a private-network address"),
        ("http://10.0.0.5:6379/", "10.0.0.5 is a private-network address"),
        ("http://2130706433/", "2130706433 means 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "0x7f.1 means 127.0.0.1, a loopback address"),
        ("http://127.1:8000/", "127.1 means 127.0.0.1, a loopback address"),
    ],
)
def test_registration_refuses_internal_hosts_and_writes_nothing(
    db: Any, url: str, says: str
) -> None:
    with pytest.raises(ValidationFailed) as caught, db.transaction() as s:
        webhooks.create_webhook(s, STRICT, url=url, events=["*"])
    assert caught.value.message.startswith("The address ") and says in caught.value.message
    assert "ask whoever runs this server to allow that network" in caught.value.message
    assert "REVIEW_FLOW_" not in caught.value.message  # a setting's name is not for the admin
    assert set(caught.value.details["fields"]) == {"url"}
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_changing_the_url_to_an_internal_host_is_refused(db: Any) -> None:
    with db.transaction() as s:
        hook_id = webhooks.create_webhook(
            s, STRICT, url="https://hooks.example.org/a", events=["*"]
        ).webhook.id
    with (
        pytest.raises(ValidationFailed, match=r"10\.9\.8\.7 is a private-network"),
        db.transaction() as s,
    ):
        webhooks.update_webhook(s, STRICT, hook_id, url="http://10.9.8.7/")
    with db.reading() as s:
        assert s.get(Webhook, hook_id).url == "https://hooks.example.org/a"


def test_the_api_answers_422_naming_the_url(db_url: str, db: Any, make_user: Any) -> None:
    """The app without the tests' loopback allowance: production's default."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    admin = make_user("admin@example.org", "admin")
    with db.transaction() as s:
        token = tokens.create_token(s, s.merge(admin.user), name="t").plaintext
    api = Api(app.test_client(), token)
    r = api.post("/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]})
    assert r.status_code == 422, r.json
    assert "url" in r.json["error"]["details"]["fields"]
    database(app).dispose()
    assert "loopback" in r.json["error"]["message"]
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 0


def test_a_name_that_resolves_inside_is_stopped_before_sending(
    db: Any, new_article: Any, clock: Any
) -> None:
    """Registration cannot know where a name will point; the connection is checked."""
    with webhook_receiver(SECRET) as rx:
        named = rx.url.replace("127.0.0.1", "localhost")
        with db.transaction() as s:
            register(s, url=named, events=["*"], secret=SECRET)
        new_article()
        report = Deliverer(db, DeliverySettings(webhooks=STRICT), clock=clock).run()
    assert rx.hits == []  # not a byte of the request reached it
    assert (report.sent, report.dead) == (0, 1)  # policy, not weather: no retries
    with db.reading() as s:
        status, error = s.execute(select(OutboxMessage.status, OutboxMessage.last_error)).one()
        attempt_error = s.scalar(select(OutboxAttempt.error))
    assert status == "dead"
    assert error == attempt_error
    assert "not sent: localhost resolved to 127.0.0.1, a loopback address" in (error or "")


def test_proxy_variables_do_not_reroute_deliveries(
    db: Any, new_article: Any, clock: Any, monkeypatch: Any
) -> None:
    """The address checked is the receiver's: a proxy from the environment is not used."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["*"], secret=SECRET)
        new_article()
        report = Deliverer(db, DeliverySettings(webhooks=TEST_WEBHOOKS), clock=clock).run()
    assert report.sent == 1 and [h.signature_ok for h in rx.hits] == [True]


def test_https_is_stopped_before_the_tls_handshake() -> None:
    """Not even a ClientHello reaches an internal host: the check precedes TLS."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            received.append(conn.recv(1024))

    reader = threading.Thread(target=accept)
    reader.start()
    port = listener.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as caught:
        guarded_session(EgressPolicy()).post(f"https://localhost:{port}/", data=b"x", timeout=5)
    reader.join(10)
    listener.close()
    assert "localhost resolved to 127.0.0.1, a loopback address" in (
        blocked_reason(caught.value) or ""
    )
    assert received == [b""]  # connected, then closed without a byte
