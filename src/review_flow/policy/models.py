"""Policy versions. Each change is a new row; the highest version is in force, and
every audit event records the version it acted under."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
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
    # The board's process (DESIGN.md, "The board's review process"). The bare default
    # keeps the open queue: any board member may claim, nobody must be assigned.
    required_specialties: dict[str, int] = Field(default_factory=dict)
    require_assignment: bool = False
    allow_claiming: bool = True
    conflicts: Literal["refuse", "disclose"] = "refuse"
    checklist: tuple[str, ...] = ()
    # Due periods in days. OJS defaults to four weeks for each; a health article is short
    # and its readers act on it, so a board answers an invitation within a week and
    # reviews within two.
    response_due_days: int = Field(default=7, ge=1, le=90)
    review_due_days: int = Field(default=14, ge=1, le=180)
    # Reminders go out this many days before a due date; an assignment this many days
    # past due is escalated to the editors; an invitation nobody answered lapses after
    # ``invitation_expiry_days``.
    reminder_days_before: int = Field(default=2, ge=0, le=30)
    escalate_days_after: int = Field(default=3, ge=0, le=60)
    invitation_expiry_days: int = Field(default=14, ge=1, le=180)
    # Board members sign only while an admin's check of their credentials holds. A lapsed
    # verification always stops signing; with this on, never having been verified does too.
    require_verified_credentials: bool = False

    @field_validator("required_specialties")
    @classmethod
    def _specialty_counts(cls, value: dict[str, int]) -> dict[str, int]:
        cleaned: dict[str, int] = {}
        for name, count in value.items():
            key = name.strip().lower()
            if not key:
                raise ValueError("required_specialties: a specialty name is empty")
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise ValueError(f"required_specialties: {name!r} needs a count of 1 or more")
            cleaned[key] = count
        return cleaned

    @field_validator("checklist")
    @classmethod
    def _checklist_items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value)
        if any(not item for item in items):
            raise ValueError("checklist: an item is empty")
        if len(set(items)) != len(items):
            raise ValueError("checklist: an item appears twice")
        return items

    def model_post_init(self, _context: Any) -> None:
        unknown = [c for c in self.review_checks if c not in REVIEW_CHECKS]
        if unknown:
            raise ValueError(f"unknown review check(s): {', '.join(unknown)}")
        needed = sum(self.required_specialties.values())
        if needed > self.required_approvals:
            raise ValueError(
                f"required_specialties asks for {needed} specialist approvals but "
                f"required_approvals is {self.required_approvals}"
            )


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
