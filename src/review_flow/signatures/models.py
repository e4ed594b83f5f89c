"""Decisions (approve / reject), each an electronic signature (DESIGN.md invariant 4).

A decision names the revision and the content hash it signs; the database refuses to
update or delete it, so a signature can never be moved to other text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime
from review_flow.users.models import User


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("kind IN ('approve', 'reject')", name="known_kind"),
        # One approval per reviewer per revision and round: distinct approvals are a
        # database fact. Decisions from before rounds (no round) keep the old rule.
        Index(
            "uq_decisions_one_approval",
            "revision_id",
            "reviewer_id",
            unique=True,
            sqlite_where="kind = 'approve' AND round_id IS NULL",
            postgresql_where="kind = 'approve' AND round_id IS NULL",
        ),
        Index(
            "uq_decisions_one_approval_per_round",
            "round_id",
            "revision_id",
            "reviewer_id",
            unique=True,
            sqlite_where="kind = 'approve' AND round_id IS NOT NULL",
            postgresql_where="kind = 'approve' AND round_id IS NOT NULL",
        ),
        # The signatures report: newest first by (time, id), with or without a signer
        # (audit/signatures_report.py; migration 0030).
        Index("ix_decisions_signed_at_id", "signed_at", "id"),
        Index("ix_decisions_reviewer_signed_at_id", "reviewer_id", "signed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    revision_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(71))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    printed_name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str | None] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(300))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    attestations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    policy_version: Mapped[int] = mapped_column(Integer)
    # The review round it was made in; None only for decisions made before rounds existed.
    round_id: Mapped[int | None] = mapped_column(ForeignKey("review_rounds.id"))
    # A conflict of interest the signer disclosed (policy ``conflicts: disclose``).
    conflict: Mapped[str | None] = mapped_column(Text)

    reviewer: Mapped[User] = relationship()

    @property
    def signed_by(self) -> str:
        return f"{self.printed_name}, {self.credentials}" if self.credentials else self.printed_name
