"""User records. Roles live in their own table so a person can hold several."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.roles import ROLE_NAMES


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased copy of the e-mail: the unique key, so Ann@x.org and ann@x.org are one person.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str | None] = mapped_column(String(200))
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The last day an admin's check of the credentials holds; after it the person cannot
    # sign until re-verified. None: never verified (a reviewer without it cannot sign once
    # the board's process requires verification; see signatures).
    credentials_verified_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded on demand: an article's author shown in a list needs no roles. Entry points
    # that load the *acting* user use ``with_roles()`` to fetch them up front.
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def signature_name(self) -> str:
        """The printed name on a signature: "Jane Roe, MD, FACP"."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLE_NAMES) + ")", name="known_role"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")
