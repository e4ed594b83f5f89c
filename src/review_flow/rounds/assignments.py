"""Assignments: an editor asks a board member to review a round; the member accepts or
declines; the editor reassigns or cancels. Modelled on OJS's review assignments.

Each change is one audited step in the caller's transaction (services only flush). The
round's row is locked first, so an assignment cannot land in a round that a concurrent
workflow action is closing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.models import Article, Revision
from review_flow.audit import log as audit
from review_flow.domain_events import ReviewerAssigned
from review_flow.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    invalid,
)
from review_flow.policy import service as policy_service
from review_flow.policy.models import PolicySettings
from review_flow.rounds import notices
from review_flow.rounds.models import OPEN_STATES, Assignment, ReviewRound
from review_flow.rounds.opening import open_round_of
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record
from review_flow.users.models import User
from review_flow.users.roles import Role

MAX_REASON = 2000
LIVE_STATES = ("invited", "accepted", "completed")


def _require_editor(actor: Actor, what: str) -> None:
    if not actor.has_role(Role.EDITOR):
        raise PermissionDenied(f"Only editors can {what.lower()}.", code="role_required",
                               role="editor")


def _lock_article(session: Session, article_id: int) -> str | None:
    """Take the article's row lock, as workflow actions do first: every writer then
    locks article, round and assignments, and the audit chain's head in that order, so
    an assignment and an action that closes the round queue instead of deadlocking."""
    return session.scalar(
        select(Article.state).where(Article.id == article_id).with_for_update()
    )


def _round_for(session: Session, article_id: int) -> ReviewRound:
    article_state = _lock_article(session, article_id)
    if article_state is None:
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    review = open_round_of(session, article_id, lock=True)
    if review is None:
        raise InvalidTransition(
            f"Article {article_id} is {article_state}: no review round is open, so nobody "
            "can be assigned (a round opens when it is submitted).",
            code="no_open_round",
            state=article_state,
        )
    return review


def _clean_reason(reason: Any, *, required: bool, what: str) -> str | None:
    """``what``: the text as people call it ("the reason for declining"); the ``fields``
    key stays ``reason`` whatever it is called."""
    said = what[0].upper() + what[1:]
    if reason is not None and not isinstance(reason, str):
        raise invalid("reason", "must be text", f"{said} must be text.")
    text = (reason or "").strip()
    if "\x00" in text:
        raise invalid("reason", "contains NUL", f"{said} contains a NUL character; remove it.")
    if len(text) > MAX_REASON:
        raise invalid("reason", "too long", f"{said} has at most {MAX_REASON} characters.")
    if required and not text:
        raise invalid("reason", "required", f"Give {what}.")
    return text or None


def due_dates(
    policy: PolicySettings, now: datetime, review_due: date | None = None
) -> tuple[datetime, datetime]:
    """(response due, review due): from the policy's periods, or ``review_due`` (the end
    of that UTC day) when the editor sets it. An answer is never due after the review."""
    if review_due is not None:
        if review_due < now.date():
            raise invalid("due", "in the past", f"The review due date {review_due.isoformat()} "
                          "is in the past; choose today or a later day.", code="due_in_past")
        review_at = datetime.combine(review_due, time(23, 59, 59), UTC)
    else:
        review_at = now + timedelta(days=policy.review_due_days)
    response_at = min(now + timedelta(days=policy.response_due_days), review_at)
    return response_at, review_at


def check_assignable(session: Session, review: ReviewRound, reviewer: User) -> None:
    """A board member may be assigned: active, holds the reviewer role, wrote no revision
    of the article, and has no place in the round yet. Each refusal is named."""
    if not reviewer.active:
        raise ValidationFailed(f"{reviewer.name} is deactivated and cannot be assigned.",
                               code="reviewer_inactive", fields={"reviewer": "inactive"})
    if not reviewer.has_role(Role.REVIEWER):
        raise ValidationFailed(
            f"{reviewer.name} is not a board member (no reviewer role) and cannot be assigned.",
            code="not_a_reviewer", fields={"reviewer": "not a reviewer"})
    wrote = session.scalar(select(exists().where(
        Revision.article_id == review.article_id, Revision.author_id == reviewer.id)))
    author = session.scalar(select(Article.author_id).where(Article.id == review.article_id))
    if wrote or author == reviewer.id:
        raise PermissionDenied(
            f"Separation of duties: {reviewer.name} wrote or edited this article and cannot "
            "be assigned to review it.",
            code="separation_of_duties", rule="separation_of_duties")
    held = session.scalar(select(Assignment.state).where(
        Assignment.round_id == review.id, Assignment.reviewer_id == reviewer.id,
        Assignment.state.in_(LIVE_STATES)))
    if held is not None:
        raise Conflict(
            f"{reviewer.name} is already assigned to round {review.number} of article "
            f"{review.article_id} ({held}).",
            code="already_assigned", state=held)


def _event(session: Session, actor: Actor, action: str, a: Assignment, review: ReviewRound,
           now: datetime, *, comment: str | None = None, **data: Any) -> None:
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action=action,
        object_type="assignment",
        object_id=a.id,
        article_id=a.article_id,
        comment=comment,
        policy_version=review.policy_version,
        context=actor.context,
        data={"round": review.number, "reviewer_id": a.reviewer_id, "state": a.state, **data},
        at=now,
    )


def _create(session: Session, review: ReviewRound, reviewer: User, *, state: str,
            assigned_by: int, due: date | None, now: datetime) -> Assignment:
    policy = policy_service.settings_for(session, review.policy_version)
    response_due, review_due = due_dates(policy, now, due)
    a = Assignment(
        round_id=review.id, article_id=review.article_id, reviewer_id=reviewer.id, state=state,
        assigned_by_id=assigned_by, response_due=response_due, review_due=review_due,
        responded_at=now if state == "accepted" else None, created_at=now, updated_at=now)
    session.add(a)
    session.flush()
    return a


def assign(session: Session, actor: Actor, article_id: int, reviewer: User, *,
           due: date | None = None) -> Assignment:
    """An editor invites a board member to review the article's open round."""
    _require_editor(actor, "Assign reviewers")
    review = _round_for(session, article_id)
    check_assignable(session, review, reviewer)
    now = utcnow()
    a = _create(session, review, reviewer, state="invited", assigned_by=actor.id, due=due,
                now=now)
    _event(session, actor, "assignment.create", a, review, now,
           reviewer=reviewer.name, response_due=a.response_due.isoformat(),
           review_due=a.review_due.isoformat())
    # The board member hears of it by e-mail, queued in this transaction.
    record(session, ReviewerAssigned(notices.about(session, a), actor.user.name, now))
    return a


def claim(session: Session, actor: Actor, review: ReviewRound, now: datetime) -> Assignment:
    """A reviewer takes an unassigned round themself (``start_review`` when the policy
    allows claiming): an accepted self-assignment. Audited by the action's event."""
    return _create(session, review, actor.user, state="accepted", assigned_by=actor.id,
                   due=None, now=now)


def _get_open(session: Session, assignment_id: int, article_id: int | None) -> Assignment:
    owner = session.scalar(select(Assignment.article_id).where(Assignment.id == assignment_id))
    if owner is not None:
        _lock_article(session, owner)  # the article first, as everywhere (see above)
    a = session.get(Assignment, assignment_id, with_for_update=True, populate_existing=True)
    if a is None or (article_id is not None and a.article_id != article_id):
        raise NotFound(f"Assignment {assignment_id} does not exist"
                       + (f" on article {article_id}." if article_id is not None else "."),
                       assignment_id=assignment_id)
    return a


def cancel(session: Session, actor: Actor, assignment_id: int, *, reason: Any = None,
           article_id: int | None = None) -> Assignment:
    """An editor withdraws an invitation or an accepted assignment."""
    _require_editor(actor, "Cancel assignments")
    text = _clean_reason(reason, required=False, what="the reason for cancelling")
    a = _get_open(session, assignment_id, article_id)
    review = session.get(ReviewRound, a.round_id)
    assert review is not None
    if a.state not in OPEN_STATES:
        raise InvalidTransition(
            f"Assignment {a.id} is {a.state}: only an invited or accepted assignment can be "
            "cancelled.", code="assignment_closed", state=a.state)
    now = utcnow()
    a.state, a.reason, a.updated_at = "cancelled", text, now
    session.flush()
    _event(session, actor, "assignment.cancel", a, review, now, comment=text)
    return a


def reassign(session: Session, actor: Actor, assignment_id: int, reviewer: User, *,
             due: date | None = None, article_id: int | None = None) -> Assignment:
    """Cancel one assignment and invite another board member in its place."""
    _require_editor(actor, "Reassign reviews")
    old = _get_open(session, assignment_id, article_id)
    if old.reviewer_id == reviewer.id:
        raise ValidationFailed(f"{reviewer.name} already holds assignment {old.id}.",
                               code="same_reviewer", fields={"reviewer": "same reviewer"})
    review = _round_for(session, old.article_id)
    check_assignable(session, review, reviewer)
    cancel(session, actor, assignment_id, reason=f"reassigned to {reviewer.name}")
    return assign(session, actor, old.article_id, reviewer, due=due)


def respond(session: Session, actor: Actor, article_id: int, answer: str, *,
            comment: Any = None) -> Assignment:
    """The invited board member accepts, or declines with a reason."""
    if answer not in ("accept", "decline"):
        raise invalid("answer", "accept or decline",
                      f"Answer the invitation with accept or decline (not “{answer}”).")
    text = _clean_reason(comment, required=answer == "decline", what="the reason for declining"
                         if answer == "decline" else "the comment")
    review = _round_for(session, article_id)
    a = session.scalars(select(Assignment).where(
        Assignment.round_id == review.id, Assignment.reviewer_id == actor.id,
        Assignment.state.in_(LIVE_STATES)).with_for_update()).one_or_none()
    if a is None:
        lapsed = session.scalar(select(notices.AssignmentNotice.created_at).join(
            Assignment, Assignment.id == notices.AssignmentNotice.assignment_id).where(
            Assignment.round_id == review.id, Assignment.reviewer_id == actor.id,
            notices.AssignmentNotice.kind == "lapsed")
            .order_by(notices.AssignmentNotice.id.desc()).limit(1))
        if lapsed is not None:
            raise InvalidTransition(
                f"Your invitation to review round {review.number} of article {article_id} "
                f"lapsed unanswered on {lapsed:%Y-%m-%d}; ask an editor to assign you again.",
                code="invitation_lapsed", state="cancelled")
        raise PermissionDenied(
            f"You have no assignment on round {review.number} of article {article_id} to answer.",
            code="not_assigned")
    if a.state != "invited":
        raise InvalidTransition(
            f"You already answered this assignment: it is {a.state}.",
            code="already_answered", state=a.state)
    now = utcnow()
    a.state = "accepted" if answer == "accept" else "declined"
    a.responded_at = a.updated_at = now
    a.reason = text
    session.flush()
    _event(session, actor, "assignment.respond", a, review, now, comment=text, answer=answer)
    return a


def assignee_of(session: Session, review: ReviewRound, reviewer_id: int) -> Assignment | None:
    """The reviewer's place in the round (invited, accepted or completed), if any."""
    return session.scalars(select(Assignment).where(
        Assignment.round_id == review.id, Assignment.reviewer_id == reviewer_id,
        Assignment.state.in_(LIVE_STATES))).one_or_none()
