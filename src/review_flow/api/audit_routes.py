"""``/api/v1/audit``: the audit log, a page at a time, for auditors, editors and admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
from review_flow.audit.models import AuditEvent

# --- audit ----------------------------------------------------------------------------


@bp.get("/audit")
@spec.validate(query=s.AuditQuery, resp=responses(HTTP_200=s.EventList), tags=["audit"])
def audit_log(query: s.AuditQuery) -> Any:
    """The audit log in sequence order, filtered by actor, action and time (auditors,
    editors and admins)."""
    after = pagination.decode(query.cursor, "audit")

    def work(session: Session, actor: Actor) -> Any:
        require(actor, AUDIT_ROLES, "Reading the audit log")
        stmt = select(AuditEvent).order_by(AuditEvent.seq).limit(query.limit + 1)
        if after is not None:
            stmt = stmt.where(AuditEvent.seq > after)
        if query.actor is not None:
            stmt = stmt.where(AuditEvent.actor_id == query.actor)
        if query.action is not None:
            stmt = stmt.where(AuditEvent.action == query.action)
        if query.since is not None:
            stmt = stmt.where(AuditEvent.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(AuditEvent.at < query.until)
        rows, cursor = page(list(session.scalars(stmt)), query.limit, "audit", lambda e: e.seq)
        return {"items": [event_as_dict(e) for e in rows], "next_cursor": cursor}

    return read(work)


