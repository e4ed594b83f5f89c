"""Audit events and the chain head.

``audit_events`` is append-only (database triggers refuse UPDATE and DELETE, see the
migrations). Each event's ``hash`` covers its own fields and the previous event's hash.
``audit_chain_head`` is a single row locked by every writer, so on PostgreSQL concurrent
writers append one at a time and the chain never forks.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from review_flow.audit.chain import GENESIS_HASH  # noqa: F401 - re-exported
from review_flow.db import Base
from review_flow.timeutil import UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_article_seq", "article_id", "seq"),
        Index("ix_audit_events_actor_seq", "actor_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        # The sequence number beside the time: an API page "since" a time is picked from
        # the index entries alone (api/audit_routes._since; migration 0017).
        Index("ix_audit_events_at_seq", "at", "seq"),
        # The explorer's filters, each followed by its order (time, sequence): a page under
        # a filter and a time range is one index range (audit/query.py; migration 0024).
        Index("ix_audit_events_article_at_seq", "article_id", "at", "seq"),
        Index("ix_audit_events_actor_at_seq", "actor_id", "at", "seq"),
        Index("ix_audit_events_action_at_seq", "action", "at", "seq"),
        Index("ix_audit_events_from_state_at_seq", "from_state", "at", "seq"),
        Index("ix_audit_events_to_state_at_seq", "to_state", "at", "seq"),
        # The events that change an article, in chain order: the "As of" replay reads
        # these alone, however many comments and checks the article has (migration 0029).
        Index("ix_audit_events_article_changes", "article_id", "seq",
              sqlite_where=text("to_state IS NOT NULL"),
              postgresql_where=text("to_state IS NOT NULL")),
        # Action and state together: each of the state filter's two ranges is one seek
        # (migration 0032).
        Index("ix_audit_events_action_from_state_at_seq", "action", "from_state", "at", "seq"),
        Index("ix_audit_events_action_to_state_at_seq", "action", "to_state", "at", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    article_id: Mapped[int | None] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    revision: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(71))
    comment: Mapped[str | None] = mapped_column(Text)
    workflow_version: Mapped[str | None] = mapped_column(String(32))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    # Extra detail as canonical JSON text, stored exactly as it was hashed (see chain.py).
    data_json: Mapped[str | None] = mapped_column("data", Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def data(self) -> dict[str, Any] | None:
        return json.loads(self.data_json) if self.data_json else None


class AuditChainHead(Base):
    """The last sequence number, hash and time; one row (id = 1), locked by each append.

    ``at`` is the last event's time (kept by the chain trigger): a new event is never
    dated before it (``audit.log.record``), so from event ``ordered_from`` on, times never
    go back along the chain, ``audit verify`` checks that they do not, and a ``since``
    query seeks the first event at or after a time instead of reading every one
    (migration 0022; events before ``ordered_from`` come from a log written before).
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ordered_from: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), server_default="1"
    )


class AuditCheckpoint(Base):
    """A signed checkpoint of the chain: the note as printed, and its parts for queries.

    Append-only like the log (database triggers). The note is what proves anything; the
    other columns repeat what it says so pages and checks need not parse it.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    key_name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    note: Mapped[str] = mapped_column(Text)
