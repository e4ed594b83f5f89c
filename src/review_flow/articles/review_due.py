"""Approved articles by their next medical review date: what is overdue, what is coming.

The editors' "Review due" list and its counts. Read over ``ix_articles_state_review_due``
(state, review_due, id), in due-date order (the longest overdue first), a page at a time
from a keyset position: page 100 costs what page 1 costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from review_flow.articles.models import Article, Revision
from review_flow.timeutil import UTCDateTime

# How far ahead the list looks: what falls due within this is shown beside what is overdue.
HORIZON = timedelta(days=30)
_START = (datetime(1, 1, 1, tzinfo=UTC), 0)


@dataclass(frozen=True)
class DueRow:
    id: int
    slug: str
    title: str
    review_due: datetime
    approved_at: datetime | None
    overdue: bool
    days: int  # days overdue (overdue) or days left (not yet)


@dataclass(frozen=True)
class DueCounts:
    overdue: int
    coming: int


_UNTIL = bindparam("until", type_=UTCDateTime)
_ROWS = (
    select(Article.id, Article.slug, Article.review_due, Article.published_at, Revision.title)
    .join(Revision, Revision.id == Article.approved_revision_id)
    .where(
        Article.state == "approved",
        Article.review_due <= _UNTIL,
        tuple_(Article.review_due, Article.id)
        > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
    )
    .order_by(Article.review_due, Article.id)
    .limit(bindparam("limit"))
)
_COUNT = select(func.count()).where(
    Article.state == "approved",
    Article.review_due > bindparam("lo", type_=UTCDateTime),
    Article.review_due <= bindparam("hi", type_=UTCDateTime),
)
_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)


def due_list(session: Session, now: datetime, *, limit: int = 50,
             after: tuple[datetime, int] | None = None) -> list[DueRow]:
    """Approved articles due by ``now + HORIZON``, earliest due first, after ``after``
    (review_due, id of the last row of the page before): one query."""
    after_at, after_id = after or _START
    rows = session.execute(_ROWS, {"until": now + HORIZON, "after_at": after_at,
                                   "after_id": after_id, "limit": limit})
    out = []
    for r in rows:
        overdue = r.review_due <= now
        # Whole days overdue (rounded down), or days left (rounded up).
        days = (now - r.review_due).days if overdue else -(-(r.review_due - now) // _DAY)
        out.append(DueRow(r.id, r.slug, r.title, r.review_due, r.published_at, overdue, days))
    return out


def due_counts(session: Session, now: datetime) -> DueCounts:
    """How many are overdue and how many fall due within the horizon: two index ranges."""
    overdue = session.scalar(_COUNT, {"lo": _EARLIEST, "hi": now}) or 0
    coming = session.scalar(_COUNT, {"lo": now, "hi": now + HORIZON}) or 0
    return DueCounts(overdue, coming)
