"""Opening and closing rounds as the article enters and leaves review.

Entering ``submitted`` (submit, request_rereview) opens round N+1 under the policy in
force; leaving review (approve, reject, request_changes, withdraw) closes it with its
outcome and cancels the assignments still waiting, so no invitation outlives its round.
Called by the workflow action inside its transaction; only flushes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from review_flow.db import table_of
from review_flow.rounds.models import OPEN_STATES, Assignment, ReviewRound
from review_flow.timeutil import UTCDateTime

REVIEW_STATES = ("submitted", "under_review")
# The round's outcome, by the action that takes the article out of review.
OUTCOME_OF_ACTION = {
    "approve": "approved",
    "reject": "rejected",
    "request_changes": "changes_requested",
    "withdraw": "withdrawn",
}

_OPEN_ROUND = select(ReviewRound).where(
    ReviewRound.article_id == bindparam("article_id"), ReviewRound.closed_at.is_(None)
)


def open_round_of(session: Session, article_id: int, *, lock: bool = False) -> ReviewRound | None:
    """The article's open round, if any; ``lock`` takes its row lock, so an assignment
    cannot slip into a round that a concurrent action is closing."""
    stmt = _OPEN_ROUND.with_for_update() if lock else _OPEN_ROUND
    return session.scalars(stmt, {"article_id": article_id}).one_or_none()


_ROUND_WITH_PLACES = (
    select(ReviewRound, Assignment)
    .outerjoin(
        Assignment,
        (Assignment.round_id == ReviewRound.id)
        & Assignment.state.in_(("invited", "accepted", "completed")),
    )
    .where(ReviewRound.article_id == bindparam("article_id"), ReviewRound.closed_at.is_(None))
)


def open_round_with_places(
    session: Session, article_id: int
) -> tuple[ReviewRound | None, list[Assignment]]:
    """In one query: the open round and its assignments that hold a place (invited,
    accepted, completed). A round has a handful, so a workflow action reads them all."""
    rows = session.execute(_ROUND_WITH_PLACES, {"article_id": article_id}).all()
    if not rows:
        return None, []
    return rows[0][0], [r[1] for r in rows if r[1] is not None]


def latest_round_of(session: Session, article_id: int) -> ReviewRound | None:
    return session.scalars(
        select(ReviewRound)
        .where(ReviewRound.article_id == article_id)
        .order_by(ReviewRound.number.desc())
        .limit(1)
    ).first()


_ROUNDS = table_of(ReviewRound)
# One statement: the next number (the article's last one plus one: the article's row lock,
# taken by the action's load, keeps concurrent openings apart) and the new row. A Core
# INSERT, not session.add(): no ORM object to track and flush for a row the action never
# changes again, and no separate read of the last number.
_OPEN = (
    insert(_ROUNDS)
    .from_select(
        ["article_id", "number", "revision_id", "policy_version", "opened_at"],
        select(
            bindparam("article_id"),
            func.coalesce(func.max(_ROUNDS.c.number), 0) + 1,
            bindparam("revision_id"),
            bindparam("policy_version"),
            bindparam("opened_at", type_=UTCDateTime),
        ).where(_ROUNDS.c.article_id == bindparam("article_id")),
    )
    .returning(_ROUNDS.c.number)
)


def open_round(
    session: Session, article_id: int, revision_id: int | None, policy_version: int,
    now: datetime,
) -> int:
    """Open the article's next round; returns its number."""
    session.flush()  # e.g. the round this action closed, before the one-open-round index
    return int(session.execute(_OPEN, {
        "article_id": article_id, "revision_id": revision_id,
        "policy_version": policy_version, "opened_at": now,
    }).scalar_one())


def close_round(
    session: Session,
    review: ReviewRound,
    outcome: str,
    now: datetime,
    places: list[Assignment] | None = None,
) -> int:
    """Close ``review`` with ``outcome``; returns how many waiting assignments it cancelled.
    ``places``: the round's assignments already loaded (else one UPDATE finds them)."""
    review.closed_at = now
    review.outcome = outcome
    reason = f"round closed: {outcome.replace('_', ' ')}"
    if places is not None:
        waiting = [a for a in places if a.state in OPEN_STATES]
        for a in waiting:
            a.state, a.reason, a.updated_at = "cancelled", reason, now
        return len(waiting)
    result = session.execute(
        update(Assignment)
        .where(Assignment.round_id == review.id, Assignment.state.in_(OPEN_STATES))
        .values(state="cancelled", reason=reason, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
