"""Reference checks and checklist answers, both append-only rows.

A reference check is one reviewer's verdict on one reference of one revision, named by
the reference's own content hash: a later check by the same reviewer replaces it (the
newest row wins), and a check carries to a new revision exactly where that hash is
unchanged. A checklist answer belongs to the approval (decision) it was given with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.models import User

CHECK_STATUSES = ("verified", "problem")
ANSWERS = ("yes", "no", "not_applicable")


class ReferenceCheck(Base):
    __tablename__ = "reference_checks"
    __table_args__ = (
        CheckConstraint("status IN ('verified', 'problem')", name="known_status"),
        CheckConstraint("status = 'verified' OR note IS NOT NULL", name="problem_has_note"),
        # The checks of an article's references as they now read: probed by hash.
        Index("ix_reference_checks_article_hash", "article_id", "reference_hash", "id"),
        Index("ix_reference_checks_revision_id", "revision_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    # The revision on screen when the reviewer checked (numbers in the audit event).
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("review_rounds.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # 1-based, as readers see it: "Reference 2".
    reference_number: Mapped[int] = mapped_column(Integer)
    reference_hash: Mapped[str] = mapped_column(String(71))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship()


class ChecklistAnswer(Base):
    __tablename__ = "checklist_answers"
    __table_args__ = (
        CheckConstraint("answer IN ('yes', 'no', 'not_applicable')", name="known_answer"),
        Index("uq_checklist_answers_decision_position", "decision_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    # The item's place in the policy version's checklist, from 1.
    position: Mapped[int] = mapped_column(Integer)
    # The item's text as the policy version put it: what the reviewer answered.
    item: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(String(16))
