"""Policy versions. Each change is a new row; the highest version is in force, and
every audit event records the version it acted under."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow

REVIEW_CHECKS = ("checklist", "references_verified", "conflict_of_interest")


class PolicySettings(BaseModel):
    """What a policy version says. Unknown keys are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "Default editorial policy"
    required_approvals: int = Field(default=1, ge=1, le=10)
    rereview_months: int = Field(default=12, ge=1, le=120)
    review_checks: tuple[str, ...] = ()
    show_pending_publicly: bool = True

    def model_post_init(self, _context: Any) -> None:
        unknown = [c for c in self.review_checks if c not in REVIEW_CHECKS]
        if unknown:
            raise ValueError(f"unknown review check(s): {', '.join(unknown)}")


class PolicyVersion(Base):
    __tablename__ = "policy_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))

    @property
    def parsed(self) -> PolicySettings:
        return PolicySettings.model_validate(self.settings)
