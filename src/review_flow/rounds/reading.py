"""Reading a round for people and machines: ``articles show --json``, the API and the
review page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from review_flow.policy import service as policy_service
from review_flow.rounds.acting import quorum_of, round_approvers
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.rounds.opening import latest_round_of
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow


def assignments_of(session: Session, review: ReviewRound) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.round_id == review.id)
            .options(joinedload(Assignment.reviewer))
            .order_by(Assignment.id)
        )
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def assignment_as_dict(a: Assignment, now: datetime) -> dict[str, Any]:
    return {
        "id": a.id,
        "reviewer": {"id": a.reviewer.id, "name": a.reviewer.name, "email": a.reviewer.email},
        "state": a.state,
        "response_due": _iso(a.response_due),
        "review_due": _iso(a.review_due),
        "responded_at": _iso(a.responded_at),
        "reason": a.reason,
        "overdue": a.overdue(now),
    }


def round_as_dict(
    session: Session, article_id: int, now: datetime | None = None
) -> dict[str, Any] | None:
    """The article's open round, else its latest one; None if it was never submitted."""
    review = latest_round_of(session, article_id)
    if review is None:
        return None
    now = now or utcnow()
    policy = policy_service.settings_for(session, review.policy_version)
    approvals = list(
        session.scalars(
            select(Decision)
            .where(Decision.kind == "approve", or_(
                Decision.round_id == review.id,
                # A round the migration opened: the approvals signed in it before
                # decisions named rounds (as ``acting.round_approvers`` counts them).
                and_(Decision.round_id.is_(None), Decision.article_id == review.article_id,
                     Decision.revision_id == review.revision_id,
                     Decision.signed_at >= review.opened_at)))
            .order_by(Decision.signed_at, Decision.id)
        )
    )
    quorum = (
        quorum_of(policy, round_approvers(session, review, review.revision_id))
        if review.revision_id is not None
        else None
    )
    return {
        "number": review.number,
        "policy_version": review.policy_version,
        "opened_at": _iso(review.opened_at),
        "closed_at": _iso(review.closed_at),
        "outcome": review.outcome,
        "open": review.closed_at is None,
        "assignments": [assignment_as_dict(a, now) for a in assignments_of(session, review)],
        "approvals": [
            {
                "reviewer": d.signed_by,
                "signed_at": d.signed_at.isoformat(),
                "content_hash": d.content_hash,
                "conflict": d.conflict,
            }
            for d in approvals
        ],
        "required_approvals": policy.required_approvals,
        "required_specialties": dict(policy.required_specialties),
        "still_missing": quorum.still_missing() if quorum and review.closed_at is None else None,
    }
