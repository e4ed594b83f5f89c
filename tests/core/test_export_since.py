"""The export's time range seeks the first event instead of testing every event's time,
and still holds exactly the events in the range, old out-of-order events included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from review_flow.audit import export
from review_flow.audit import log as audit_log
from review_flow.audit.export import iter_rows
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.audit.query import EventFilter
from review_flow.timeutil import isoformat

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _append(db, at: datetime, n: int = 1) -> None:
    with db.transaction() as s:
        for _ in range(n):
            audit_log.record(s, actor_id=None, actor_name="system", action="auth.sign_in",
                             object_type="user", object_id=1, at=at)


def _log(db) -> int:
    """Events 1..k-1 dated out of order (an old log), then ordered events from k on, a
    minute apart. Returns k (the head's ``ordered_from``)."""
    _append(db, T0 + timedelta(days=10))
    with db.transaction() as s:  # a clock stepped back: the next event is dated earlier
        s.execute(text("UPDATE audit_chain_head SET at = NULL"))
    _append(db, T0 + timedelta(days=1))
    _append(db, T0 + timedelta(days=30))
    with db.transaction() as s:
        ordered_from = s.scalar(select(AuditChainHead.seq)) + 1
        s.execute(text("UPDATE audit_chain_head SET ordered_from = :k"), {"k": ordered_from})
    for i in range(12):
        _append(db, T0 + timedelta(days=30, minutes=i))
    return ordered_from


def _expected(db, since, until):
    with db.reading() as s:
        rows = s.execute(select(AuditEvent.seq, AuditEvent.at).order_by(AuditEvent.seq))
        return [seq for seq, at in rows
                if (since is None or at >= since) and (until is None or at < until)]


def test_since_and_until_hold_exactly_the_events_in_range(db) -> None:
    ordered_from = _log(db)
    with db.reading() as s:
        times = list(s.scalars(select(AuditEvent.at).order_by(AuditEvent.seq)))
    assert times != sorted(times)  # the old part is out of order
    edges = sorted({*times, *(t + timedelta(seconds=1) for t in times),
                    T0 - timedelta(days=1), T0 + timedelta(days=99)})
    cases = [(since, None) for since in edges] + [(None, until) for until in edges]
    cases += [(a, b) for a in edges[::3] for b in edges[1::4] if b > a]
    for since, until in cases:
        with db.reading() as s:
            got = [row[0] for row in iter_rows(s, EventFilter(since=since, until=until))]
        assert got == _expected(db, since, until), (isoformat(since), isoformat(until))
    assert ordered_from > 1


def test_since_reads_by_sequence_from_the_first_event_in_range(db) -> None:
    """The ordered part's statement starts at the first event at or after ``since`` (a
    bound on the sequence number), instead of testing every event's time from the first."""
    _log(db)
    since = T0 + timedelta(days=30, minutes=7)
    with db.reading() as s:
        first = s.scalar(select(AuditEvent.seq).where(AuditEvent.at >= since)
                         .order_by(AuditEvent.seq).limit(1))
    with db.reading() as s:
        got = [row[0] for row in iter_rows(s, EventFilter(since=since))]
        statements = export._statements(s, EventFilter(since=since), through=None,
                                        columns=(AuditEvent.seq,))
    assert got[0] == first
    # The old part (before ``ordered_from``) by sequence, then the ordered part from
    # ``first``: a lower bound on the sequence number, not a time test from event 1.
    assert len(statements) == 2
    compiled = statements[-1].compile()
    assert "audit_events.seq >=" in str(compiled)
    assert first in compiled.params.values()
