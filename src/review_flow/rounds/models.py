"""The board's review process as records: rounds, assignments, conflict declarations.

A round is opened when an article enters ``submitted`` and closed when it leaves review;
the database keeps at most one open round per article (a partial unique index, as
Wagtail keeps one open workflow state per page). Overdue is derived from the due dates,
never stored, so it cannot go stale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.models import User

OUTCOMES = ("approved", "rejected", "changes_requested", "withdrawn")
ASSIGNMENT_STATES = ("invited", "accepted", "declined", "completed", "cancelled")
# An assignment still waiting on its reviewer (to answer, or to review).
OPEN_STATES = ("invited", "accepted")
OPEN_SQL = "state IN ('invited', 'accepted')"
INVITED_SQL = "state = 'invited'"
# States that hold a reviewer's place in a round: one at a time per reviewer.
LIVE_SQL = "state IN ('invited', 'accepted', 'completed')"


class ReviewRound(Base):
    __tablename__ = "review_rounds"
    __table_args__ = (
        Index("uq_review_rounds_article_number", "article_id", "number", unique=True),
        # One open round per article: a fact the database keeps, not one the code hopes for.
        Index(
            "uq_review_rounds_one_open",
            "article_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")",
            name="known_outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    number: Mapped[int] = mapped_column(Integer)
    # The revision under review: a round never spans two (editing needs the article out
    # of review, which closes the round).
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    # The policy version the round runs under, fixed at opening: a policy change
    # mid-review applies to the next round, not this one.
    policy_version: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))

    def __repr__(self) -> str:
        return f"<ReviewRound {self.id} article {self.article_id} #{self.number}>"


class Assignment(Base):
    """A board member asked to review one round (OJS's review assignment)."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in ASSIGNMENT_STATES) + ")",
            name="known_state",
        ),
        # A reviewer holds at most one place in a round (declined or cancelled ones free it).
        Index(
            "uq_review_assignments_live",
            "round_id",
            "reviewer_id",
            unique=True,
            sqlite_where=text(LIVE_SQL),
            postgresql_where=text(LIVE_SQL),
        ),
        # "Assigned to me", walked by due date.
        Index(
            "ix_review_assignments_reviewer_open",
            "reviewer_id",
            "review_due",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # "Overdue" and the editors' due-date filter, walked by due date.
        Index(
            "ix_review_assignments_open_due",
            "review_due",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # The editors' list filtered by assignee, or by due date: article ids in order.
        Index(
            "ix_review_assignments_reviewer_article",
            "reviewer_id",
            "article_id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        Index(
            "ix_review_assignments_open_article",
            "article_id",
            "review_due",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # The sweep: invitations waiting for an answer, by answer date and by invitation
        # date (reminders, lapsed invitations).
        Index(
            "ix_review_assignments_invited_response_due",
            "response_due",
            "id",
            sqlite_where=text(INVITED_SQL),
            postgresql_where=text(INVITED_SQL),
        ),
        Index(
            "ix_review_assignments_invited_created",
            "created_at",
            "id",
            sqlite_where=text(INVITED_SQL),
            postgresql_where=text(INVITED_SQL),
        ),
        Index("ix_review_assignments_round_id", "round_id"),
        Index("ix_review_assignments_article_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_rounds.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))
    # Who asked: an editor, or the reviewer themself when claiming.
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response_due: Mapped[datetime] = mapped_column(UTCDateTime)
    review_due: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it was declined or cancelled.
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])

    def overdue(self, now: datetime) -> bool:
        """Past the date the reviewer owes next: an answer while invited, the review
        once accepted. Derived, never stored."""
        if self.state == "invited":
            return now > self.response_due
        if self.state == "accepted":
            return now > self.review_due
        return False


class ConflictDeclaration(Base):
    """A reviewer's conflict-of-interest declaration in a round: none, or a description."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (
        Index("uq_conflict_declarations_round_reviewer", "round_id", "reviewer_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_rounds.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # None: the reviewer declared no conflict ("none").
    conflict: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
