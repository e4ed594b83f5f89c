"""Reading and changing the review policy.

Policy rows never change once written, so a parsed version can be cached for the life
of the process; only "which version is newest" has to be asked of the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.domain_events import PolicyChanged
from review_flow.errors import Conflict, NotConfigured, PermissionDenied, invalid
from review_flow.policy import document
from review_flow.policy.models import PolicySettings, PolicyVersion
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record
from review_flow.users.models import User
from review_flow.users.roles import Role

if TYPE_CHECKING:
    from review_flow.actor import Actor

NOTE_MAX = 500  # policy_versions.note

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


def may_set_policy(actor: Actor) -> PermissionDenied | None:
    """Editors and admins set the policy; an API token (a pipeline) never does, whoever
    it belongs to: the policy decides how much review a pipeline's drafts get."""
    if actor.via_token:
        return PermissionDenied("The review policy cannot be changed with an API token.",
                                code="token_cannot_set_policy")
    if actor.has_role(Role.EDITOR) or actor.has_role(Role.ADMIN):
        return None
    return PermissionDenied("Changing the review policy requires the editor or admin role.",
                            code="role_required", role="editor")


def put_policy(
    session: Session,
    actor: Actor,
    policy_doc: dict[str, Any],
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> int | None:
    """Put the policy ``policy_doc`` describes in force as a new version (keys left out
    take their defaults). Returns the new version, or None when it says exactly what the
    version in force says (nothing is written: a re-sent form or file makes no version).
    """
    denied = may_set_policy(actor)
    if denied:
        raise denied
    new = document.validated(policy_doc)
    note = _clean_note(note)
    audit.lock_head(session)  # one policy writer at a time: the version read stays true
    version = session.scalar(select(func.max(PolicyVersion.version)))
    if version is None:
        raise NotConfigured("No review policy is installed; run `review-flow db upgrade`.")
    if expected_version is not None and expected_version != version:
        raise Conflict(
            f"The policy changed while you were editing it: version {version} is in force "
            f"now, not {expected_version}. Reload the page to see it, then make your change "
            "again.", code="stale_policy", current_version=version)
    current = document.as_document(settings_for(session, version))
    changes = document.diff(current, document.as_document(new))
    if not changes:
        return None
    return _write(session, version, new, changes=changes, changed_by=actor.user, note=note,
                  context=actor.context)


def changes_of(session: Session, version: int) -> dict[str, Any]:
    """What version ``version`` changed against the one before it."""
    earlier = session.get(PolicyVersion, version - 1)
    return document.diff(
        document.as_document(earlier.parsed) if earlier else None,
        document.as_document(settings_for(session, version)),
    )


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise invalid("note", f"at most {NOTE_MAX} characters",
                      f"The note on a policy change has at most {NOTE_MAX} characters.")
    return note or None


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
    new = document.validated({**current.model_dump(), **changes})
    return _write(session, version, new, changes=changes, changed_by=changed_by, note=note,
                  context=context)


def _write(
    session: Session,
    version: int,
    new: PolicySettings,
    *,
    changes: dict[str, Any],
    changed_by: User | None,
    note: str | None,
    context: RequestContext | None,
) -> int:
    """The new version row and its ``policy.update`` event, in the caller's transaction."""
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
