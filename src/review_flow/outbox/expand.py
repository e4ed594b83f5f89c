"""Audience rows become e-mails: before claiming, a deliverer splits each due audience row
(the board's "review requested", ``notifications/board_mail.py``) into one e-mail row per
recipient, chosen now.

One short transaction: the due audience rows are taken (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so deliverers expanding at once take disjoint rows and each row is expanded
exactly once; SQLite's write lock serializes), their e-mails are written as pending rows,
and they are marked "expanded". The e-mails are then claimed and sent like any other.

A quiet period lets a burst settle first: the nightly sweep commits one article at a time
for many seconds, and a deliverer polling every few seconds would otherwise split it into
many digests. Nothing waits longer than the maximum wait, however busy the board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from review_flow.db import Database
from review_flow.notifications import board_mail
from review_flow.outbox.models import EXPANDED, TO_EXPAND, OutboxMessage
from review_flow.outbox.service import enqueue_many


def expand_due(
    db: Database,
    now: datetime,
    *,
    batch: int,
    quiet_s: float = 0.0,
    max_wait_s: float = 0.0,
    on_selected: Callable[[list[int]], None] | None = None,
) -> int:
    """Expand up to ``batch`` due audience rows; returns how many were expanded.

    Waits (returns 0) while the newest due row is younger than ``quiet_s``, unless the
    oldest is older than ``max_wait_s``. ``on_selected`` is a test seam, called with the
    rows taken before anything is written."""
    due = (OutboxMessage.status == TO_EXPAND, OutboxMessage.available_at <= now)
    with db.transaction() as session:
        newest, oldest = session.execute(
            select(func.max(OutboxMessage.created_at), func.min(OutboxMessage.created_at))
            .where(*due)
        ).one()
        if newest is None:
            return 0
        if (newest > now - timedelta(seconds=quiet_s)
                and oldest > now - timedelta(seconds=max_wait_s)):
            return 0
        stmt = (
            select(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.payload)
            .where(*due)
            .order_by(OutboxMessage.id)
            .limit(batch)
        )
        if not db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = session.execute(stmt).all()
        ids = [r.id for r in rows]
        if on_selected is not None:
            on_selected(ids)
        if not ids:
            return 0
        enqueue_many(
            session,
            board_mail.expand(session, [(r.message_id, r.payload) for r in rows]),
            now=now,
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == TO_EXPAND)
            .values(status=EXPANDED, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return len(ids)
