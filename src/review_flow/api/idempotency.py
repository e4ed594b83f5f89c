"""``Idempotency-Key`` for POST: a retried request with the same key and body gets the
first response again and writes nothing; the same key with another body is refused.

The key row is inserted first with ``ON CONFLICT DO NOTHING``. On PostgreSQL a second
request with the same key waits on the unique index until the first commits, then finds
the stored answer; if the first rolls back, the second proceeds as the first. On SQLite
the write lock taken at BEGIN already serializes them. Only successful answers are kept:
a failed request writes nothing, so repeating it simply tries again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from review_flow.api.errors import Malformed
from review_flow.api.models import IdempotencyRecord
from review_flow.errors import ValidationFailed
from review_flow.timeutil import utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def parse_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise Malformed(
            f"{HEADER}: 1 to 255 printable ASCII characters, no spaces.",
            code="invalid_idempotency_key",
            fields={HEADER: "invalid"},
        )
    return raw


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass
class Stored:
    status: int
    body: Any
    headers: dict[str, str]


def begin(session: Session, user_id: int, key: str, fp: str) -> tuple[int | None, Stored | None]:
    """(record id to fill in, None) when this request goes ahead, or (None, stored answer)."""
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
    if row.fingerprint != fp:
        raise ValidationFailed(
            f"{HEADER} {key!r} was already used for a different request; "
            "use a new key for a new request.",
            code="idempotency_key_reused",
            fields={HEADER: "used for a different request"},
        )
    return None, Stored(row.status_code, row.response_body, dict(row.response_headers or {}))


def finish(session: Session, record_id: int, answer: Stored) -> None:
    record = session.get(IdempotencyRecord, record_id)
    assert record is not None
    record.status_code = answer.status
    record.response_body = answer.body
    record.response_headers = answer.headers


def purge(session: Session, older_than: datetime) -> int:
    """Forget keys older than ``older_than`` (``review-flow api purge-keys``)."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
