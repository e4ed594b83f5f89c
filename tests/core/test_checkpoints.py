"""Taking checkpoints in the service layer: one transaction, and exact heads among
racing writers (SQLite serializes them; PostgreSQL takes the chain-head lock)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from review_flow.audit import checkpoints
from review_flow.audit.models import AuditCheckpoint, AuditEvent
from review_flow.audit.verify import verify_chain
from tests.core.helpers import create, event_count
from tests.core.test_concurrency import race


def test_checkpoints_among_racing_writers_sign_the_event_just_before_their_own(db, people):
    key = Ed25519PrivateKey.generate()

    def writer() -> None:
        for i in range(6):
            create(db, people["author"], title=f"Racing {i}")

    def checkpointer() -> None:
        for _ in range(6):
            with db.transaction() as s:
                checkpoints.take(s, key)

    results = race(writer, writer, checkpointer)
    assert results == [None, None, None]
    with db.reading() as s:
        rows = s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars().all()
        assert len(rows) == 6
        for row in rows:
            signed = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == row.size))
            own = s.execute(select(AuditEvent).where(AuditEvent.seq == row.size + 1)).scalar_one()
            assert signed == row.head_hash
            assert own.action == "audit.checkpoint" and own.object_id == str(row.id)
            assert own.data["size"] == row.size and own.data["note"] == row.note
            assert checkpoints.open_checkpoint(row.note, key.public_key()).size == row.size
        assert verify_chain(s).ok


def test_a_checkpoint_whose_transaction_fails_leaves_nothing(db, people):
    create(db, people["author"])
    events = event_count(db)
    with pytest.raises(RuntimeError), db.transaction() as s:
        checkpoints.take(s, Ed25519PrivateKey.generate())
        raise RuntimeError("the command failed after signing")
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
    assert event_count(db) == events


def test_latest_pages_by_keyset(db: Any) -> None:
    key = Ed25519PrivateKey.generate()
    for _ in range(5):
        with db.transaction() as s:
            checkpoints.take(s, key)
    with db.reading() as s:
        newest = checkpoints.latest(s, 2)
        older = checkpoints.latest(s, 2, before=newest[-1].id)
        rest = checkpoints.latest(s, 2, before=older[-1].id)
        assert [r.id for r in newest + older + rest] == [5, 4, 3, 2, 1]
