"""The board's lists: "Assigned to me", "Unassigned", "Overdue" and the editors' "All
articles" (filters by state, assignee and due date). Each reads one page by keyset over
an index that has the rows in the list's order (see tests/rounds/test_plans.py).
No Flask here: the web adapter calls these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, text, tuple_
from sqlalchemy.orm import Session, aliased

from review_flow.articles.models import WAITING_SQL, Article, Revision
from review_flow.rounds.models import OPEN_SQL, Assignment, ReviewRound
from review_flow.rounds.notices import AssignmentNotice
from review_flow.timeutil import UTCDateTime
from review_flow.users.models import User, UserRole

_START = (datetime(1970, 1, 1, tzinfo=UTC), 0)
MAX_ID = 2_147_483_647  # article ids are INTEGER


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    article_id: int
    title: str
    article_state: str
    revision: int
    reviewer_name: str
    state: str
    response_due: datetime
    review_due: datetime
    # When the sweep escalated it to the editors (``rounds/notices.py``), if it did.
    escalated_at: datetime | None = None

    def due(self) -> datetime:
        """The date the reviewer owes next: an answer while invited, else the review."""
        return self.response_due if self.state == "invited" else self.review_due

    def overdue(self, now: datetime) -> bool:
        return now > self.due()


def _open_term(column_table: str = "review_assignments") -> Any:
    # The partial indexes' condition word for word, so SQLite can use them.
    return text(OPEN_SQL.replace("state", f"{column_table}.state", 1))


@cache
def _assignment_rows() -> Any:
    return (
        select(
            Assignment.id, Assignment.article_id, Revision.title, Article.state.label("astate"),
            Revision.number, User.name, Assignment.state, Assignment.response_due,
            Assignment.review_due, AssignmentNotice.as_of,
        )
        .join(Article, Article.id == Assignment.article_id)
        .join(Revision, Revision.id == Article.current_revision_id)
        .join(User, User.id == Assignment.reviewer_id)
        .outerjoin(AssignmentNotice, and_(AssignmentNotice.assignment_id == Assignment.id,
                                          AssignmentNotice.kind == "escalation"))
        .where(
            _open_term(),
            tuple_(Assignment.review_due, Assignment.id)
            > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
        )
        .order_by(Assignment.review_due, Assignment.id)
        .limit(bindparam("limit"))
    )


def _rows(session: Session, stmt: Any, params: dict[str, Any]) -> list[AssignmentRow]:
    return [AssignmentRow(*r) for r in session.execute(stmt, params)]


def assigned_to(session: Session, reviewer_id: int, *, limit: int,
                after: tuple[datetime, int] | None = None) -> list[AssignmentRow]:
    """The reviewer's invitations and accepted reviews, soonest due first."""
    at, aid = after or _START
    stmt = _assignment_rows().where(Assignment.reviewer_id == bindparam("reviewer_id"))
    return _rows(session, stmt, {"reviewer_id": reviewer_id, "limit": limit, "after_at": at,
                                 "after_id": aid})


def overdue(session: Session, now: datetime, *, limit: int,
            after: tuple[datetime, int] | None = None) -> list[AssignmentRow]:
    """Open assignments past the date their reviewer owes: an answer, or the review."""
    at, aid = after or _START
    stmt = _assignment_rows().where(or_(
        and_(Assignment.state == "accepted",
             Assignment.review_due < bindparam("now", type_=UTCDateTime)),
        and_(Assignment.state == "invited",
             Assignment.response_due < bindparam("now", type_=UTCDateTime)),
    ))
    return _rows(session, stmt, {"now": now, "limit": limit, "after_at": at, "after_id": aid})


@dataclass(frozen=True)
class WaitingRow:
    id: int
    title: str
    state: str
    revision: int
    author_name: str
    submitted_at: datetime | None


@cache
def _unassigned() -> Any:
    held = (
        select(Assignment.id)
        .join(ReviewRound, ReviewRound.id == Assignment.round_id)
        .where(
            Assignment.article_id == Article.id,
            ReviewRound.closed_at.is_(None),
            Assignment.state.in_(("invited", "accepted", "completed")),
        )
    )
    return (
        select(Article.id, Revision.title, Article.state, Revision.number, User.name,
               Article.submitted_at)
        .join(Revision, Revision.id == Article.current_revision_id)
        .join(User, User.id == Article.author_id)
        .where(
            text(WAITING_SQL.replace("state", "articles.state", 1)),
            ~exists(held),
            tuple_(Article.submitted_at, Article.id)
            > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
        )
        .order_by(Article.submitted_at, Article.id)
        .limit(bindparam("limit"))
    )


def unassigned(session: Session, *, limit: int,
               after: tuple[datetime, int] | None = None) -> list[WaitingRow]:
    """Waiting articles whose open round nobody holds, longest waiting first."""
    at, aid = after or _START
    return [WaitingRow(*r) for r in session.execute(
        _unassigned(), {"limit": limit, "after_at": at, "after_id": aid})]


# --- the editors' "All articles" ----------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    id: int
    slug: str
    title: str
    state: str
    revision: int
    updated_at: datetime
    assignments: tuple[AssignmentRow, ...] = ()


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59, 999999), UTC)


def all_articles(
    session: Session,
    *,
    limit: int,
    before_id: int | None = None,
    state: str | None = None,
    assignee_id: int | None = None,
    due_by: date | None = None,
) -> list[ArticleRow]:
    """Every article, newest first, from ``before_id`` down. With an assignee or a due
    date, the ids come from the open assignments' indexes (one per article, in id order);
    otherwise from the articles' own (the primary key, or state and id)."""
    below = before_id if before_id is not None else MAX_ID
    if assignee_id is None and due_by is None:
        ids_stmt = select(Article.id).where(Article.id < below)
        if state:
            ids_stmt = ids_stmt.where(Article.state == state)
        ids = list(session.scalars(ids_stmt.order_by(Article.id.desc()).limit(limit)))
    else:
        ids_stmt = select(Assignment.article_id).where(_open_term(), Assignment.article_id < below)
        if assignee_id is not None:
            ids_stmt = ids_stmt.where(Assignment.reviewer_id == assignee_id)
        if due_by is not None:
            ids_stmt = ids_stmt.where(Assignment.review_due <= end_of(due_by))
        if state:
            ids_stmt = ids_stmt.where(exists().where(
                Article.id == Assignment.article_id, Article.state == state))
        ids = list(session.scalars(
            ids_stmt.group_by(Assignment.article_id)
            .order_by(Assignment.article_id.desc()).limit(limit)))
    if not ids:
        return []
    rows = session.execute(
        select(Article.id, Article.slug, Revision.title, Article.state, Revision.number,
               Article.updated_at)
        .join(Revision, Revision.id == Article.current_revision_id)
        .where(Article.id.in_(ids))
    ).all()
    held: dict[int, list[AssignmentRow]] = {}
    held_stmt: Any = (
        select(Assignment.id, Assignment.article_id, Revision.title,
               Article.state.label("astate"), Revision.number, User.name, Assignment.state,
               Assignment.response_due, Assignment.review_due, AssignmentNotice.as_of)
        .join(Article, Article.id == Assignment.article_id)
        .join(Revision, Revision.id == Article.current_revision_id)
        .join(User, User.id == Assignment.reviewer_id)
        # Escalated as on the "Overdue" view: the sweep's notice (one per assignment).
        .outerjoin(AssignmentNotice, and_(AssignmentNotice.assignment_id == Assignment.id,
                                          AssignmentNotice.kind == "escalation"))
        .where(Assignment.article_id.in_(ids), _open_term())
    )
    for r in session.execute(held_stmt):
        held.setdefault(r.article_id, []).append(AssignmentRow(*r))
    for rows_of in held.values():  # a page's few assignments, in the order they were made
        rows_of.sort(key=lambda a: a.id)
    by_id = {r.id: r for r in rows}
    return [
        ArticleRow(*by_id[i], assignments=tuple(held.get(i, ())))  # type: ignore[misc]
        for i in ids if i in by_id
    ]


@dataclass(frozen=True)
class BoardMember:
    id: int
    name: str
    credentials: str | None
    specialties: tuple[str, ...]
    load: int  # open assignments (invited or accepted)


def board_members(session: Session) -> list[BoardMember]:
    """Active reviewers with their specialties and current load, for the assign list."""
    load = (
        select(func.count()).select_from(Assignment)
        .where(Assignment.reviewer_id == User.id, _open_term())
        .scalar_subquery()
    )
    role = aliased(UserRole)
    rows = session.execute(
        select(User.id, User.name, User.credentials, User.specialties, load.label("load"))
        .join(role, and_(role.user_id == User.id, role.role == "reviewer"))
        .where(User.active.is_(True))
    )
    # The board is a few dozen people: sorted here, so the list's query needs no sort.
    return sorted(
        (BoardMember(r.id, r.name, r.credentials, tuple(r.specialties or ()), r.load)
         for r in rows),
        key=lambda m: (m.name.casefold(), m.id),
    )
