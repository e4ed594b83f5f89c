"""Reading and changing the review policy.

Policy rows never change once written, so a parsed version can be cached for the life
of the process; only "which version is newest" has to be asked of the database.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.domain_events import PolicyChanged
from review_flow.errors import NotConfigured, ValidationFailed
from review_flow.policy.models import PolicySettings, PolicyVersion
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record
from review_flow.users.models import User

# Keyed by database as well as version: one process may talk to several databases (tests).
_cache: dict[tuple[str, int], PolicySettings] = {}


def newest_version_query() -> Any:
    return select(func.max(PolicyVersion.version)).scalar_subquery()


def settings_for(session: Session, version: int) -> PolicySettings:
    key = (str(session.get_bind().engine.url), version)
    cached = _cache.get(key)
    if cached is None:
        row = session.get(PolicyVersion, version)
        if row is None:
            raise NotConfigured(
                f"Policy version {version} does not exist; run `review-flow db upgrade`."
            )
        cached = _cache[key] = row.parsed
    return cached


def active_policy(session: Session) -> tuple[int, PolicySettings]:
    version = session.scalar(select(func.max(PolicyVersion.version)))
    if version is None:
        raise NotConfigured("No review policy is installed; run `review-flow db upgrade`.")
    return version, settings_for(session, version)


def set_policy(
    session: Session,
    *,
    changed_by: User | None,
    changes: dict[str, Any],
    note: str | None = None,
    context: RequestContext | None = None,
) -> int:
    """Put a new policy version in force: the current one with ``changes`` applied."""
    version, current = active_policy(session)
    try:
        new = PolicySettings.model_validate({**current.model_dump(), **changes})
    except (ValidationError, ValueError) as exc:
        raise ValidationFailed(f"policy: {exc}", fields={"policy": str(exc)}) from None
    row = PolicyVersion(
        version=version + 1,
        settings=new.model_dump(mode="json"),
        created_by_id=changed_by.id if changed_by else None,
        note=note,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        **audit.actor_of(changed_by),
        action="policy.update",
        object_type="policy",
        object_id=row.version,
        policy_version=row.version,
        comment=note,
        context=context,
        data={"changes": changes},
    )
    record(session, PolicyChanged(changed_by, row.version, utcnow()))
    return row.version
