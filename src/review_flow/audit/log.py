"""Writing audit events: in the caller's transaction, chained to the event before.

The first event of a transaction locks the chain head (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite write transactions already hold the database's write lock), so
writers in several processes append one after another and the chain cannot fork. The
lock is held until the transaction ends, which is why services write their audit event
last, just before the entry point commits.

Times never go back along the chain: an event is dated the later of the clock (or the
time the caller gives) and the event before it, read with the head under the same lock.
A clock stepped back, servers whose clocks differ, or an action recorded "as of" an
earlier time therefore cannot put an event before its predecessor, which is what lets a
``since`` query seek by time and ``audit verify`` name an event that goes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.audit.actions import check_action
from review_flow.audit.chain import canonical_data, event_hash
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.db import table_of
from review_flow.timeutil import isoformat, utcnow

_HEAD_KEY = "review_flow.audit_head"
# The actor_name column's size: a longer name (a sign-in attempt's e-mail as typed) is
# recorded cut short rather than refused by PostgreSQL (SQLite would keep it whole).
ACTOR_NAME_MAX = 300


@dataclass(frozen=True)
class RequestContext:
    """Where an action came from: recorded with its audit event."""

    request_id: str | None = None
    client_addr: str | None = None


_LOCK_HEAD = (
    select(AuditChainHead.seq, AuditChainHead.hash, AuditChainHead.at)
    .where(AuditChainHead.id == 1)
    .with_for_update()
)


def actor_of(user: Any | None) -> dict[str, Any]:
    """``actor_id`` and ``actor_name`` for an event done by ``user``, or by the system
    (a CLI command or a migration acting on no one's behalf)."""
    if user is None:
        return {"actor_id": None, "actor_name": "system"}
    return {"actor_id": user.id, "actor_name": user.name}


def _head(session: Session) -> tuple[int, str, datetime | None]:
    tx = session.get_transaction()
    cached = session.info.get(_HEAD_KEY)
    if tx is not None and cached is not None and cached[0] is tx:
        return cached[1], cached[2], cached[3]
    row = session.execute(_LOCK_HEAD).one()
    # The transaction may have begun with this very statement: key the cache after it.
    session.info[_HEAD_KEY] = (session.get_transaction(), row.seq, row.hash, row.at)
    return row.seq, row.hash, row.at


def lock_head(session: Session) -> None:
    """Take the chain head's lock now, before reading what the event will describe: two
    writers of one kind (policy versions) then run one after the other, each seeing what
    the other committed. The event later reuses the head read here."""
    _head(session)


def seed_head(session: Session, seq: int, hash_: str, at: datetime | None) -> None:
    """Hand over a head the caller read under the head lock in its own query, so the
    transaction's first event need not read it again (``articles.loading.load_article``)."""
    session.info[_HEAD_KEY] = (session.get_transaction(), seq, hash_, at)


def event_time(at: datetime | None, previous: datetime | None) -> datetime:
    """The time an event is recorded at: ``at`` (the clock when not given), but never
    before the event before it."""
    at = at or utcnow()
    return previous if previous is not None and at < previous else at


def record(
    session: Session,
    *,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    article_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    revision: int | None = None,
    content_hash: str | None = None,
    comment: str | None = None,
    workflow_version: str | None = None,
    policy_version: int | None = None,
    context: RequestContext | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the session's current transaction."""
    check_action(action)
    context = context or RequestContext()
    prev_seq, prev_hash, prev_at = _head(session)
    at = event_time(at, prev_at)
    event = AuditEvent(
        seq=prev_seq + 1,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name[:ACTOR_NAME_MAX],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        article_id=article_id,
        from_state=from_state,
        to_state=to_state,
        revision=revision,
        content_hash=content_hash,
        comment=comment,
        workflow_version=workflow_version,
        policy_version=policy_version,
        request_id=context.request_id,
        client_addr=context.client_addr,
        data_json=canonical_data(data),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(prev_hash, hashed_values(event))
    # A Core INSERT, not session.add(): the log is written once and never updated, so the
    # unit of work's change tracking would be pure overhead on every action.
    session.execute(_INSERT, {name: getattr(event, attr) for name, attr in _COLUMNS})
    session.info[_HEAD_KEY] = (session.get_transaction(), event.seq, event.hash, at)
    return event


# (column name, attribute name) pairs: "data" is stored from ``data_json``.
_COLUMNS = tuple((prop.columns[0].name, prop.key) for prop in AuditEvent.__mapper__.column_attrs)
_INSERT = table_of(AuditEvent).insert()


def hashed_values(e: AuditEvent) -> tuple[Any, ...]:
    return (
        e.seq,
        isoformat(e.at),
        e.actor_id,
        e.actor_name,
        e.action,
        e.object_type,
        e.object_id,
        e.article_id,
        e.from_state,
        e.to_state,
        e.revision,
        e.content_hash,
        e.comment,
        e.workflow_version,
        e.policy_version,
        e.request_id,
        e.client_addr,
        e.data_json,
    )
