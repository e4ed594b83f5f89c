"""Writing to the outbox (in the caller's transaction) and reading it back for admins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.db import table_of
from review_flow.errors import ValidationFailed
from review_flow.outbox.models import FINISHED, OutboxAttempt, OutboxMessage
from review_flow.timeutil import utcnow
from review_flow.users.models import User


def enqueue(
    session: Session,
    *,
    channel: str,
    kind: str,
    recipient: str,
    payload: dict[str, Any],
    user_id: int | None = None,
    webhook_id: int | None = None,
    article_id: int | None = None,
    now: datetime | None = None,
    message_id: str | None = None,
) -> OutboxMessage:
    """Add a message; it is sent only if the caller's transaction commits."""
    now = now or utcnow()
    msg = OutboxMessage(
        message_id=message_id or str(uuid.uuid4()),
        channel=channel,
        kind=kind,
        recipient=recipient,
        payload=payload,
        user_id=user_id,
        webhook_id=webhook_id,
        article_id=article_id,
        status="pending",
        attempts=0,
        available_at=now,
        created_at=now,
    )
    session.add(msg)
    return msg


# Inline: no RETURNING of the new ids, which nothing reads (the message ids are ours);
# for a single row it would cost about what the INSERT itself costs the client.
_INSERT = insert(table_of(OutboxMessage)).inline()


def enqueue_many(
    session: Session, messages: list[dict[str, Any]], *, now: datetime | None = None,
    status: str = "pending",
) -> list[str]:
    """Add several messages in one INSERT statement (the fan-out of one change).

    Each dict holds ``channel``, ``kind``, ``recipient``, ``payload`` and optionally
    ``user_id``, ``webhook_id``, ``article_id``, ``message_id``. Returns the message ids.
    ``status``: "to_expand" for an audience row (``outbox/expand.py``).
    """
    if not messages:
        return []
    now = now or utcnow()
    rows = [
        {
            "message_id": m.get("message_id") or str(uuid.uuid4()),
            "channel": m["channel"],
            "kind": m["kind"],
            "recipient": m["recipient"],
            "payload": m["payload"],
            "user_id": m.get("user_id"),
            "webhook_id": m.get("webhook_id"),
            "article_id": m.get("article_id"),
            "status": status,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    # Core executemany on the session's connection: one statement whatever the mix of
    # rows (the ORM bulk path would split rows whose NULL columns differ).
    session.connection().execute(_INSERT, rows)
    return [r["message_id"] for r in rows]


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: n for status, n in rows}


def attempts_for(session: Session, message_ids: list[int]) -> dict[int, list[OutboxAttempt]]:
    out: dict[int, list[OutboxAttempt]] = {m: [] for m in message_ids}
    if not message_ids:
        return out
    for a in session.scalars(
        select(OutboxAttempt)
        .where(OutboxAttempt.message_id.in_(message_ids))
        .order_by(OutboxAttempt.message_id, OutboxAttempt.attempt)
    ):
        out[a.message_id].append(a)
    return out


def purge(session: Session, *, older_than: datetime) -> int:
    """Delete finished messages (sent, expanded, dead, cancelled) created before
    ``older_than``, with their attempts. Pending ones are never purged."""
    finished = select(OutboxMessage.id).where(
        OutboxMessage.status.in_(FINISHED),
        OutboxMessage.created_at < older_than,
    )
    session.execute(delete(OutboxAttempt).where(OutboxAttempt.message_id.in_(finished)))
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(finished)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def redrive(
    session: Session,
    *,
    message_ids: Sequence[int] = (),
    webhook_id: int | None = None,
    everything: bool = False,
    by: User | None = None,
    context: RequestContext | None = None,
) -> list[int]:
    """Send dead messages again, once what failed them is fixed (a receiver back up, a
    network allowed): they become pending, due now, with a fresh attempt budget; their
    attempt log stays. Chosen by id, by webhook endpoint, or all of them; messages that
    are not dead are left alone. Audited. Returns the ids requeued."""
    if not message_ids and webhook_id is None and not everything:
        raise ValidationFailed(
            "choose the dead messages to send again: ids, a webhook, or all",
            fields={"messages": "required"},
        )
    stmt = update(OutboxMessage).where(OutboxMessage.status == "dead")
    if message_ids:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    if webhook_id is not None:
        stmt = stmt.where(OutboxMessage.webhook_id == webhook_id)
    ids = sorted(
        session.scalars(
            stmt.values(status="pending", attempts=0, available_at=utcnow(), claim_token=None)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    if ids:
        audit.record(
            session,
            **audit.actor_of(by),
            action="outbox.redrive",
            object_type="webhook" if webhook_id is not None else "outbox",
            object_id=webhook_id,
            context=context,
            data={"messages": len(ids), "ids": ids[:100]},
        )
    return ids
