"""Notices about a review assignment, as records: each reminder, escalation or lapsed
invitation the sweep sends is a row, unique per (assignment, kind).

The row is the proof it was sent (and when, judged as of which instant), so a second
sweep, or two sweeps at once, send nothing twice: the sweep step re-checks under the
assignment's lock that no row exists, and the unique index refuses a second one should
that check ever be bypassed. Records over counters: "reminded twice" is two rows of two
kinds, never a number that a crash could leave half-incremented.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, String, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.actor import SystemActor
from review_flow.articles.models import Article, Revision
from review_flow.audit import log as audit
from review_flow.db import Base
from review_flow.domain_events import AssignmentAbout, AssignmentNoticed
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.timeutil import UTCDateTime, isoformat, utcnow
from review_flow.unit_of_work import record
from review_flow.users.models import User

# kind -> (the assignment state it applies to, what it is, for the audit log)
NOTICE_KINDS: dict[str, tuple[str, str]] = {
    "response_reminder": ("invited", "reminder: an answer to the invitation is due soon"),
    "response_overdue": ("invited", "reminder: the answer to the invitation is overdue"),
    "review_reminder": ("accepted", "reminder: the review is due soon"),
    "review_overdue": ("accepted", "reminder: the review is overdue"),
    "escalation": ("accepted", "escalated to the editors: the review is long overdue"),
    "lapsed": ("invited", "the invitation lapsed unanswered; the assignment is cancelled"),
}
# Which audit action records each kind.
AUDIT_ACTION = {"escalation": "assignment.escalate", "lapsed": "assignment.lapse"}
REMIND_ACTION = "assignment.remind"


class AssignmentNotice(Base):
    """One notice about one assignment: sent once, ever."""

    __tablename__ = "assignment_notices"
    __table_args__ = (
        Index("uq_assignment_notices_assignment_kind", "assignment_id", "kind", unique=True),
        Index("ix_assignment_notices_article_id", "article_id"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in NOTICE_KINDS) + ")", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignments.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # The due date the notice is about (answer or review), as it stood when sent.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The instant the sweep judged by (``--now``), and the real time it recorded the row.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def not_sent(kind: str) -> ColumnElement[bool]:
    """SQL: no notice of ``kind`` exists for the assignment (the sweep's due queries)."""
    return ~exists().where(AssignmentNotice.assignment_id == Assignment.id,
                           AssignmentNotice.kind == kind)


def already_sent(session: Session, assignment_id: int, kind: str) -> bool:
    return session.scalar(select(exists().where(
        AssignmentNotice.assignment_id == assignment_id, AssignmentNotice.kind == kind))) or False


def about(session: Session, a: Assignment) -> AssignmentAbout:
    """What e-mails say about ``a``: the article's current title, the reviewer."""
    title, number = session.execute(
        select(Revision.title, Revision.number)
        .join(Article, Article.current_revision_id == Revision.id)
        .where(Article.id == a.article_id)).one()
    reviewer = session.get(User, a.reviewer_id)
    assert reviewer is not None
    return AssignmentAbout(
        id=a.id, article_id=a.article_id, title=title, revision=number,
        reviewer_id=reviewer.id, reviewer_email=reviewer.email, reviewer_name=reviewer.name,
        state=a.state, response_due=a.response_due, review_due=a.review_due)


def send(session: Session, actor: SystemActor, a: Assignment, kind: str, *, due_at: datetime,
         as_of: datetime, days_after: int | None = None) -> AssignmentNotice:
    """Record the notice, its audit event and its e-mails, in the caller's transaction."""
    now = utcnow()
    notice = AssignmentNotice(assignment_id=a.id, article_id=a.article_id, kind=kind,
                              due_at=due_at, as_of=as_of, created_at=now)
    session.add(notice)
    session.flush()
    review = session.get(ReviewRound, a.round_id)
    audit.record(
        session, actor_id=None, actor_name=actor.name,
        action=AUDIT_ACTION.get(kind, REMIND_ACTION), object_type="assignment",
        object_id=a.id, article_id=a.article_id,
        comment=NOTICE_KINDS[kind][1],
        policy_version=review.policy_version if review else None, context=actor.context,
        data={"kind": kind, "notice": notice.id, "reviewer_id": a.reviewer_id,
              "state": a.state, "due": isoformat(due_at), "as_of": isoformat(as_of),
              **({"days_after": days_after} if days_after is not None else {})},
    )
    record(session, AssignmentNoticed(notice.id, kind, about(session, a), due_at, now,
                                      days_after))
    return notice
