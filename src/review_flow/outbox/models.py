"""Outbox rows and their delivery attempts.

A message is written in the same transaction as the change that causes it; a deliverer
later claims it (a lease: ``available_at`` moves into the future and ``claim_token``
names the claimant), sends it, and marks it sent or schedules a retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow

# An audience row (one e-mail to a group, e.g. the board's reviewers) waits as
# "to_expand" until a deliverer writes one e-mail row per recipient (``outbox/expand.py``),
# then reads "expanded"; it is never sent itself. Webhook rows never take these two.
TO_EXPAND = "to_expand"
EXPANDED = "expanded"
STATUSES = ("pending", TO_EXPAND, "sent", EXPANDED, "dead", "cancelled")
# Done with: what ``review-flow outbox purge`` may delete once old.
FINISHED = ("sent", EXPANDED, "dead", "cancelled")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "available_at"),
        # An endpoint's deliveries, newest first, a page at a time (admin page and API).
        Index("ix_outbox_messages_webhook_id_id", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public id carried by every delivery (Message-ID, webhook header) so receivers can
    # drop duplicates: delivery is at least once.
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # "email" | "webhook"
    kind: Mapped[str] = mapped_column(String(64))  # e-mail kind or webhook event type
    # Address or URL; for an audience row, a label for admins (who is resolved at delivery).
    recipient: Mapped[str] = mapped_column(String(2000))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"))
    article_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxAttempt(Base):
    """One try at delivering a message, with what the other side answered (admins read it)."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
