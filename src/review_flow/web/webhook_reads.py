"""What the admin's webhook pages show, each in one query (no N+1, no unbounded read).

Read-only projections over ``webhooks`` and the outbox. Registering and changing an
endpoint is ``notifications.webhooks``' job (it writes the audit events); these only
read. The delivery log of a busy endpoint grows without bound, so it is read a page at a
time, newest first, keyed on the message id: ids never change, so a page never repeats
or skips a delivery when new ones arrive between requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from review_flow.notifications.models import Webhook
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.timeutil import utcnow

# The outbox's statuses in the words the page uses ("sent" and "dead" are the outbox's
# own terms: delivered to the receiver, and given up on). Webhook rows only: the e-mail
# statuses "to_expand" and "expanded" (outbox/models.py) never appear on these pages.
DELIVERY_STATUS = {
    "pending": "pending",
    "sent": "delivered",
    "dead": "failed",
    "cancelled": "cancelled",
}

# How much of a receiver's answer (or an error) a table cell shows. Transports keep up
# to 2000 characters; the page reads no more than this from the database.
ANSWER_CHARS = 200

def status_label(status: str) -> str:
    return DELIVERY_STATUS.get(status, status)


def shorten(text: str | None, limit: int = ANSWER_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters with an ellipsis when it was longer."""
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _latest_attempt_id(message_id: InstrumentedAttribute[int]) -> ScalarSelect[int]:
    """The id of a message's newest logged attempt (None before the first try)."""
    return (
        select(OutboxAttempt.id)
        .where(OutboxAttempt.message_id == message_id)
        .order_by(OutboxAttempt.id.desc())
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class WebhookRow:
    """A registered endpoint with its newest delivery (``last_*`` None when none yet)."""

    id: int
    url: str
    description: str | None
    events: list[str]
    active: bool
    created_at: datetime
    last_status: str | None
    last_queued_at: datetime | None
    last_http_status: int | None
    previous_secret_until: datetime | None = None

    @property
    def old_secret_signs_until(self) -> datetime | None:
        """While a rolled secret still signs beside the new one, until when."""
        until = self.previous_secret_until
        return until if until is not None and until > utcnow() else None

    @property
    def last_status_label(self) -> str | None:
        return None if self.last_status is None else status_label(self.last_status)


def webhook_rows(session: Session, *, before: int | None = None, limit: int
                 ) -> list[WebhookRow]:
    """Up to ``limit`` endpoints newest first (those with ids below ``before`` when
    given), each with its newest message and that message's latest attempt: one query
    (two correlated sub-selects, each a short index walk)."""
    last = aliased(OutboxMessage)
    attempt = aliased(OutboxAttempt)
    newest_message = (
        select(OutboxMessage.id)
        .where(OutboxMessage.webhook_id == Webhook.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            Webhook.id, Webhook.url, Webhook.description, Webhook.events, Webhook.active,
            Webhook.created_at, last.status, last.created_at.label("last_queued_at"),
            attempt.status_code, Webhook.previous_secret_until,
        )
        .select_from(Webhook)
        .outerjoin(last, last.id == newest_message)
        .outerjoin(attempt, attempt.id == _latest_attempt_id(last.id))
        .order_by(Webhook.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(Webhook.id < before)
    return [
        WebhookRow(r.id, r.url, r.description, list(r.events or []), bool(r.active),
                   r.created_at, r.status, r.last_queued_at, r.status_code,
                   r.previous_secret_until)
        for r in session.execute(stmt)
    ]


@dataclass(frozen=True)
class DeliveryRow:
    """One message to an endpoint and the outcome of its latest attempt."""

    id: int
    message_id: str
    event: str
    queued_at: datetime
    attempts: int
    status: str
    last_attempt_at: datetime | None
    http_status: int | None
    answer: str | None  # the receiver's body, else the error, shortened

    @property
    def status_label(self) -> str:
        return status_label(self.status)


def delivery_page(
    session: Session, webhook_id: int, *, before: int | None, limit: int
) -> list[DeliveryRow]:
    """Up to ``limit`` messages to one endpoint with ids below ``before``, newest first.

    One query. Only the latest attempt of each message is joined, and only the first
    ``ANSWER_CHARS`` + 1 characters of its answer are read (the + 1 tells whether there
    was more to cut). The answer is the receiver's body when it sent one; otherwise the
    attempt's error (a refused connection, a timeout); for a message never attempted,
    the outbox's reason (e.g. "webhook disabled" on a cancelled one).
    """
    attempt = aliased(OutboxAttempt)
    cut = ANSWER_CHARS + 1
    stmt = (
        select(
            OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.kind,
            OutboxMessage.created_at, OutboxMessage.attempts, OutboxMessage.status,
            attempt.at, attempt.status_code,
            func.substr(attempt.response, 1, cut).label("response"),
            func.substr(attempt.error, 1, cut).label("error"),
            func.substr(OutboxMessage.last_error, 1, cut).label("last_error"),
        )
        .select_from(OutboxMessage)
        .outerjoin(attempt, attempt.id == _latest_attempt_id(OutboxMessage.id))
        .where(OutboxMessage.webhook_id == webhook_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(OutboxMessage.id < before)
    return [
        DeliveryRow(
            r.id, r.message_id, r.kind, r.created_at, r.attempts, r.status, r.at,
            r.status_code, shorten(r.response or r.error or r.last_error),
        )
        for r in session.execute(stmt)
    ]


def dead_count(session: Session, webhook_id: int) -> int:
    """How many deliveries to this endpoint failed for good (and could be sent again)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.webhook_id == webhook_id, OutboxMessage.status == "dead")
        )
        or 0
    )
