"""Per-user e-mail preferences: every kind is on until the person turns it off."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.errors import invalid
from review_flow.notifications.kinds import EMAIL_KINDS
from review_flow.notifications.models import EmailOptOut
from review_flow.timeutil import utcnow
from review_flow.users.models import User


def email_preferences(session: Session, user_id: int) -> dict[str, bool]:
    off = set(session.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user_id)))
    return {kind: kind not in off for kind in EMAIL_KINDS}


def set_email_preferences(
    session: Session,
    user: User,
    changes: dict[str, bool],
    *,
    context: RequestContext | None = None,
) -> dict[str, bool]:
    """Turn kinds on or off for ``user``; returns the resulting preferences."""
    unknown = [k for k in changes if k not in EMAIL_KINDS]
    if unknown:
        raise invalid("kind", f"unknown: {', '.join(unknown)}",
                      f"“{unknown[0]}” is not a kind of e-mail we send; the kinds are "
                      f"{', '.join(EMAIL_KINDS)}.")
    before = email_preferences(session, user.id)
    changed = {k: bool(v) for k, v in changes.items() if before[k] != bool(v)}
    for kind, enabled in changed.items():
        if enabled:
            session.execute(
                delete(EmailOptOut).where(EmailOptOut.user_id == user.id, EmailOptOut.kind == kind)
            )
        else:
            session.add(EmailOptOut(user_id=user.id, kind=kind, created_at=utcnow()))
    if changed:
        session.flush()
        audit.record(
            session,
            actor_id=user.id,
            actor_name=user.name,
            action="user.notifications",
            object_type="user",
            object_id=user.id,
            context=context,
            data={"email": changed},
        )
    return {**before, **changed}
