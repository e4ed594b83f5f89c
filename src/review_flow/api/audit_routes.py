"""``/api/v1/audit``: the audit log, a page at a time, for auditors, editors and admins."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import literal, literal_column, select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api import pagination
from review_flow.api import schemas as s
from review_flow.api.blueprint import (
    AUDIT_ROLES,
    bp,
    page,
    read,
    require,
    responses,
    spec,
)
from review_flow.audit.export import event_as_dict
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.timeutil import UTCDateTime

# --- audit ----------------------------------------------------------------------------


@bp.get("/audit")
@spec.validate(query=s.AuditQuery, resp=responses(HTTP_200=s.EventList), tags=["audit"])
def read_audit_log(query: s.AuditQuery) -> Any:
    """The audit log in sequence order, filtered by actor, action and time (auditors,
    editors and admins)."""
    after = pagination.decode(query.cursor, "audit")

    def work(session: Session, actor: Actor) -> Any:
        require(actor, AUDIT_ROLES, "Reading the audit log")
        stmt = select(AuditEvent).order_by(AuditEvent.seq).limit(query.limit + 1)
        if after is not None and query.since is None:  # ``_since`` places the cursor itself
            stmt = stmt.where(AuditEvent.seq > after)
        if query.actor is not None:
            stmt = stmt.where(AuditEvent.actor_id == query.actor)
        if query.action is not None:
            stmt = stmt.where(AuditEvent.action == query.action)
        until = None if query.until is None else _aware(query.until)
        if until is not None:
            stmt = stmt.where(AuditEvent.at < until)
        if query.since is None:
            found = list(session.scalars(stmt))
        else:
            found = _since(session, stmt, _aware(query.since), after, until, query.limit + 1,
                           choose=query.actor is None and query.action is None)
        rows, cursor = page(found, query.limit, "audit", lambda e: e.seq)
        return {"items": [event_as_dict(e) for e in rows], "next_cursor": cursor}

    return read(work)


# What an entry of the time index (its time and sequence number) costs to read, as a share
# of what a row of the log costs (measured at 1.1 million events: PERFORMANCE.md, "since
# in the middle of the log"). Only for events written before times were kept in order.
INDEX_ENTRY_COST = {"sqlite": 0.5, "postgresql": 0.25}
# Before reading by time, the events just after the cursor are tried: this many by sequence.
NEAR = 2_000


def _first_at_or_after(when: Any, head: Any) -> Any:
    """The first event from ``ordered_from`` on dated at or after ``when``: one seek in
    ``ix_audit_events_at_seq``, since from there on times never go back along the chain
    (``audit.log.record``), so the events at or after ``when`` are every event from it."""
    return (
        select(AuditEvent.seq)
        .where(AuditEvent.at >= when, AuditEvent.seq >= head.c.ordered_from)
        .order_by(AuditEvent.at, AuditEvent.seq)
        .limit(1)
        .scalar_subquery()
    )


def _since(session: Session, stmt: Any, since: Any, after: int | None, until: Any,
           limit: int, *, choose: bool) -> list[AuditEvent]:
    """Up to ``limit`` events of ``stmt`` at or after ``since`` (and before ``until``), in
    sequence order, after the cursor ``after``, which ``stmt`` leaves out: each read gets
    one lower bound on the sequence (SQLite's planner starts a walk from only one of two).

    From the chain head's ``ordered_from`` on, event times never go back, so the events
    at or after ``since`` are all those from the first one dated at or after it, and
    those before ``until`` all those before the first one dated at or after ``until``:
    one statement finds both by seeking the time index, and the page is then read by
    sequence from there, whatever the log's length. Events before ``ordered_from`` (a log
    written before migration 0022) may be dated in any order and are read as before
    (:func:`_since_unordered`), ahead of the ordered ones."""
    head = AuditChainHead.__table__.alias("head")
    columns = [head.c.ordered_from, _first_at_or_after(since, head)]
    if until is not None:
        columns.append(_first_at_or_after(until, head))
    row = session.execute(select(*columns).where(head.c.id == 1)).one()
    ordered_from, first, stop = row[0], row[1], (row[2] if until is not None else None)
    start = after or 0
    found: list[AuditEvent] = []
    if start + 1 < ordered_from:
        old = stmt.where(AuditEvent.seq < ordered_from)
        if after is not None:
            old = old.where(AuditEvent.seq > after)
        found = _since_unordered(session, old, since, after, until, limit, choose=choose,
                                 below=ordered_from)
        if len(found) >= limit:
            return found
    if first is None:
        return found  # no ordered event at or after ``since``
    page = stmt.where(AuditEvent.seq >= max(first, start + 1))
    if stop is not None:
        page = page.where(AuditEvent.seq < stop)
    return found + list(session.scalars(page.limit(limit - len(found))))


def _since_unordered(session: Session, stmt: Any, since: Any, after: int | None, until: Any,
                     limit: int, *, choose: bool, below: int) -> list[AuditEvent]:
    """Up to ``limit`` events of ``stmt`` at or after ``since``, among the events before
    ``below`` (those written before times were kept in order), read the cheaper way.

    Every way gives exactly the events at or after ``since`` (and after the cursor, and
    before ``until``) in sequence order; they differ in what they read. By sequence: every
    event from the cursor (or the first) until the page is full, so the events before
    ``since`` too. By time: only ``ix_audit_events_at_seq``, every entry at or after
    ``since``, keeping the page's lowest sequence numbers; then the page's rows by
    sequence. The first event by time at or after ``since`` tells roughly how many events
    come before and after it: one probe of the time index, then the cheaper side. Because
    these times only roughly follow sequence, reading by time first tries the ``NEAR``
    events after the cursor, which answer at once when they fill the page. The probe and
    the try only choose: an event whose time is out of order is found either way. With an
    actor or action filter their own indexes are walked."""
    dialect = session.get_bind().dialect.name
    if not choose or dialect not in INDEX_ENTRY_COST:
        return list(session.scalars(stmt.where(AuditEvent.at >= since)))
    # "+at" (a no-op for SQLite) takes the time index off the table for a sequence walk.
    at = (literal_column("+audit_events.at", UTCDateTime) if dialect == "sqlite"
          else AuditEvent.at)
    first = session.scalar(
        select(AuditEvent.seq).where(AuditEvent.at >= since, AuditEvent.seq < below)
        .order_by(AuditEvent.at).limit(1))
    head = below - 1
    start = after or 0
    if first is not None and not (
            start < first and (head - first) * INDEX_ENTRY_COST[dialect] <= first - start):
        return list(session.scalars(stmt.where(at >= literal(since, UTCDateTime))))
    if first is None:
        return []  # no event at or after ``since``
    near = list(session.scalars(stmt.where(at >= literal(since, UTCDateTime),
                                           AuditEvent.seq <= start + NEAR)))
    if len(near) >= limit:
        return near
    # By time: "seq + 0" keeps the planner off the sequence walk; the index entries alone
    # say which events make the page, so no row before the page is read.
    seq = AuditEvent.seq + 0
    page_seqs = (select(AuditEvent.seq)
                 .where(AuditEvent.at >= since, seq > start, seq < below).order_by(seq))
    if until is not None:
        page_seqs = page_seqs.where(AuditEvent.at < until)
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.seq.in_(page_seqs.limit(limit)))
        .order_by(AuditEvent.seq)))


def _aware(value: Any) -> Any:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


