"""Dead messages can be sent again once what failed them is fixed (service, CLI, API, web)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.audit.models import AuditEvent
from review_flow.errors import ValidationFailed
from review_flow.outbox import service as outbox
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.outbox.service import enqueue
from tests.support.receivers import WebhookReceiver, webhook_receiver
from tests.support.webhook_config import TEST_WEBHOOKS, register
from tests.web.conftest import Browser, csrf_token

SECRET = "whsec_cmV2aWV3LWZsb3ctdGVzdC1zZWNyZXQtMzItYnl0ZXM="  # 32 bytes, Standard Webhooks


def _settings() -> DeliverySettings:
    return DeliverySettings(max_attempts=2, backoff_base_s=10, webhook_timeout_s=5,
                            webhooks=TEST_WEBHOOKS)


@pytest.fixture
def dead_delivery(db: Any, clock: Any) -> Callable[[WebhookReceiver], tuple[int, int]]:
    """An endpoint with one message that failed for good and one that was sent:
    (webhook id, dead message id)."""

    def make(rx: WebhookReceiver) -> tuple[int, int]:
        rx.script = [200, 500, 503]  # the first message goes; the second fails twice
        with db.transaction() as s:
            hook = register(s, url=rx.url, events=["*"], secret=SECRET)
            for n in (1, 2):
                enqueue(s, channel="webhook", kind="article.create", recipient=rx.url,
                        webhook_id=hook.id, payload={"n": n}, now=clock.now)
        deliverer = Deliverer(db, _settings(), clock=clock)
        deliverer.run()
        clock.advance(3600)
        deliverer.run()
        with db.reading() as s:
            rows = s.execute(select(OutboxMessage.id, OutboxMessage.status)
                             .order_by(OutboxMessage.id)).all()
        assert [r.status for r in rows] == ["sent", "dead"]
        return hook.id, rows[1].id

    return make


def _statuses(db: Any) -> list[tuple[str, int]]:
    with db.reading() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id))]


def _redrive_events(db: Any) -> list[tuple[str, str | None, Any]]:
    """(object type, object id, data) of each redrive event."""
    with db.reading() as s:
        return [(e.object_type, e.object_id, e.data) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "outbox.redrive"))]


def test_a_dead_message_is_sent_again_with_fresh_attempts(
    db: Any, clock: Any, dead_delivery: Any
) -> None:
    with webhook_receiver(SECRET) as rx:
        hook_id, dead_id = dead_delivery(rx)
        with db.transaction() as s:
            assert outbox.redrive(s, webhook_id=hook_id) == [dead_id]
        assert _statuses(db) == [("sent", 1), ("pending", 0)]
        report = Deliverer(db, _settings(), clock=clock).run()
    assert report.sent == 1 and _statuses(db) == [("sent", 1), ("sent", 1)]
    assert [h.json["n"] for h in rx.hits] == [1, 2, 2, 2]
    with db.reading() as s:
        tries = s.execute(select(OutboxAttempt.attempt, OutboxAttempt.ok)
                          .where(OutboxAttempt.message_id == dead_id)
                          .order_by(OutboxAttempt.id)).all()
    assert [tuple(t) for t in tries] == [(1, False), (2, False), (1, True)]  # history kept
    assert _redrive_events(db) == [("webhook", str(hook_id), {"messages": 1, "ids": [dead_id]})]


def test_only_dead_messages_move_and_a_choice_is_required(
    db: Any, dead_delivery: Any
) -> None:
    with webhook_receiver(SECRET) as rx:
        _, dead_id = dead_delivery(rx)
    sent_id = dead_id - 1
    with db.transaction() as s:
        assert outbox.redrive(s, message_ids=[sent_id]) == []  # sent stays sent
    with pytest.raises(ValidationFailed, match="choose the dead messages"), \
            db.transaction() as s:
        outbox.redrive(s)
    assert _statuses(db) == [("sent", 1), ("dead", 2)] and _redrive_events(db) == []
    with db.transaction() as s:
        assert outbox.redrive(s, everything=True) == [dead_id]
        assert outbox.redrive(s, everything=True) == []


def test_the_cli(app: Any, db: Any, dead_delivery: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        hook_id, _ = dead_delivery(rx)
    run = app.test_cli_runner().invoke
    refused = run(args=["outbox", "redrive"])
    assert refused.exit_code != 0 and "choose the dead messages" in refused.output
    unknown = run(args=["outbox", "redrive", "--webhook", "999"])
    assert unknown.exit_code != 0 and "Webhook 999 does not exist" in unknown.output
    assert _statuses(db)[1] == ("dead", 2)
    done = run(args=["outbox", "redrive", "--webhook", str(hook_id)])
    assert done.exit_code == 0 and "requeued 1 dead messages" in done.output
    assert _statuses(db)[1] == ("pending", 0)


def test_the_api(api_as: Any, make_user: Any, people: Any, db: Any, dead_delivery: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        hook_id, _ = dead_delivery(rx)
    author = api_as(people["author"])
    assert author.post(f"/webhooks/{hook_id}/redrive").status_code == 403
    admin = api_as(make_user("admin@example.org", "admin"))
    assert admin.post("/webhooks/999/redrive").status_code == 404
    assert _statuses(db)[1] == ("dead", 2)
    first = admin.post(f"/webhooks/{hook_id}/redrive")
    assert first.status_code == 200 and first.json == {"requeued": 1}
    assert admin.post(f"/webhooks/{hook_id}/redrive").json == {"requeued": 0}
    assert len(_redrive_events(db)) == 1  # nothing requeued, nothing to audit


def test_the_admin_page(app: Any, db: Any, people: Any, make_user: Any,
                        dead_delivery: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        hook_id, _ = dead_delivery(rx)
    make_user("admin@example.org", "admin")
    admin = Browser(app.test_client())
    assert admin.sign_in("admin@example.org").status_code == 303
    page = f"/admin/webhooks/{hook_id}/deliveries"
    html = admin.get(page).get_data(as_text=True)
    assert "1 delivery failed for good." in html and "Send failed deliveries again" in html
    response = admin.client.post(f"/admin/webhooks/{hook_id}/redrive",
                                 data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303 and response.headers["Location"].endswith(page)
    html = admin.get(page).get_data(as_text=True)
    assert "1 failed deliveries queued again" in html
    assert "Send failed deliveries again" not in html
    assert re.search(r'delivery-pending">', html) and _statuses(db)[1] == ("pending", 0)
