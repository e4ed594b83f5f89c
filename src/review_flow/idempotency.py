"""At most one effect per key: a request repeated with a key already used gets the first
answer back and writes nothing. Used by the JSON API (``Idempotency-Key``, see
``api/idempotency.py``) and by the web's create forms (a one-time form nonce, see
``web/form_nonce.py``); each caller chooses its own key space and what a stored answer holds.

The key row is inserted first with ``ON CONFLICT DO NOTHING``. On PostgreSQL a second
request with the same key waits on the unique index until the first commits, then finds
the stored answer; if the first rolls back, the second proceeds as the first. On SQLite
the write lock taken at BEGIN already serializes them. Only successful answers are kept:
the record is written in the same transaction as the change, so a failed request writes
nothing, and repeating it simply tries again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keys are per user: two pipelines choosing the same key never see each other's answer.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and canonical JSON body: same key + other body is told apart.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass
class Stored:
    status: int
    body: Any
    headers: dict[str, str]
    # Keys of ``body`` holding a secret shown once (a new token, a signing secret): kept
    # out of the stored copy, so a replay answers them as null and the database never
    # holds the secret.
    shown_once: tuple[str, ...] = ()

    def storable_body(self) -> Any:
        if not self.shown_once or not isinstance(self.body, dict):
            return self.body
        return {k: (None if k in self.shown_once else v) for k, v in self.body.items()}


@dataclass
class Earlier:
    """What a key already used answered, and whether that request was this one
    (same fingerprint) or another one under the same key."""

    answer: Stored
    same_request: bool


def claim(session: Session, user_id: int, key: str, fp: str
          ) -> tuple[int | None, Earlier | None]:
    """(record id to fill in with :func:`finish`, None) when this request goes ahead, or
    (None, what the first request with this key answered)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_id = session.scalar(
        insert(IdempotencyRecord)
        .values(user_id=user_id, key=key, fingerprint=fp, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyRecord.id)
    )
    if new_id is not None:
        return new_id, None
    row = session.execute(
        select(
            IdempotencyRecord.fingerprint,
            IdempotencyRecord.status_code,
            IdempotencyRecord.response_body,
            IdempotencyRecord.response_headers,
        ).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    ).one()
    answer = Stored(row.status_code, row.response_body, dict(row.response_headers or {}))
    return None, Earlier(answer, same_request=row.fingerprint == fp)


def finish(session: Session, record_id: int, answer: Stored) -> None:
    record = session.get(IdempotencyRecord, record_id)
    assert record is not None
    record.status_code = answer.status
    record.response_body = answer.storable_body()
    record.response_headers = answer.headers


def purge(session: Session, older_than: datetime) -> int:
    """Forget keys older than ``older_than`` (``review-flow api purge-keys``)."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
