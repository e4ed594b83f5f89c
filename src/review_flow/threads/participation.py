"""Where a person stands in the article's current review round, for comment threads.

A thread is part of the review, so who takes part follows the board's process
(``who.take_part``): when the round's policy requires assignment, a reviewer comments
only while holding an accepted (or completed) place in the article's current round.
The current round is the open one, else the last one closed (while the author revises
after "changes requested", the reviewers of that round still answer the threads).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Exists

from review_flow.actor import AnyActor
from review_flow.errors import PermissionDenied
from review_flow.policy import service as policy_service
from review_flow.rounds.models import Assignment
from review_flow.rounds.opening import latest_round_of
from review_flow.threads import who

# An accepted place that the round's own closing cancelled (``opening.close_round``
# writes this reason): the reviewer held it for the round the threads belong to.
CLOSED_BY_ROUND = "round closed:%"


@dataclass(frozen=True)
class Standing:
    """``requires_assignment``: the current round's policy (else the one in force) asks
    for assignment; ``assigned``: the person holds an accepted place in that round."""

    requires_assignment: bool
    assigned: bool
    round_number: int | None = None


def held_place(round_id: int, user_id: int) -> Exists:
    """The condition "``user_id`` holds (or held, until the round closed) an accepted
    place in round ``round_id``"."""
    return exists().where(
        Assignment.round_id == round_id,
        Assignment.reviewer_id == user_id,
        or_(
            Assignment.state.in_(("accepted", "completed")),
            and_(
                Assignment.state == "cancelled",
                Assignment.responded_at.is_not(None),
                Assignment.reason.like(CLOSED_BY_ROUND),
            ),
        ),
    )


def standing(session: Session, article_id: int, user_id: int) -> Standing:
    """Two small reads at most: the current round, then (only when its policy requires
    assignment) the person's place in it."""
    review = latest_round_of(session, article_id)
    if review is None:
        policy = policy_service.active_policy(session)[1]
        return Standing(requires_assignment=policy.require_assignment, assigned=False)
    policy = policy_service.settings_for(session, review.policy_version)
    if not policy.require_assignment:
        return Standing(requires_assignment=False, assigned=False, round_number=review.number)
    assigned = bool(session.scalar(select(held_place(review.id, user_id))))
    return Standing(requires_assignment=True, assigned=assigned, round_number=review.number)


def refusal(session: Session, actor: AnyActor, *, article_id: int, article_author_id: int,
            wrote_revision: bool) -> PermissionDenied | None:
    """Why ``actor`` may not comment on the article (threads and general comments alike),
    or None. The round is read only for a reviewer the assignment rule could refuse."""
    place = None
    if actor.id is not None and who.needs_standing(
            actor, article_author_id=article_author_id, wrote_revision=wrote_revision):
        place = standing(session, article_id, actor.id)
    return who.take_part(actor, article_author_id=article_author_id,
                         wrote_revision=wrote_revision, standing=place)
