"""Reading people for the admin's people pages: a page at a time, in e-mail order.

Keyset paging on the unique ``email_key`` index (``?after=<email key>``): each page is
one index range read, however many people there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.errors import NotFound
from review_flow.signatures.credentials import lapsed
from review_flow.users import service as users
from review_flow.users.models import User

# A verification ending within this many days is flagged on the people page.
LAPSES_SOON_DAYS = 30
EMAIL_KEY_MAX = 320


def people_page(session: Session, *, after: str | None, limit: int) -> list[User]:
    """Up to ``limit`` people after the e-mail key ``after``, with their roles."""
    stmt = select(User).order_by(User.email_key).limit(limit).options(users.with_roles())
    if after:
        stmt = stmt.where(User.email_key > after[:EMAIL_KEY_MAX])
    return list(session.scalars(stmt))


def get_person(session: Session, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id).options(users.with_roles()))
    if user is None:
        raise NotFound(f"There is no person with id {user_id}.", user_id=user_id)
    return user


@dataclass(frozen=True)
class Verification:
    """How a person's credentials stand today, for the people pages."""

    state: str  # "none" | "lapsed" | "soon" | "valid"
    until: date | None
    text: str


def verification(user: User, today: date) -> Verification:
    until = user.credentials_verified_until
    if until is None:
        return Verification("none", None, "not verified")
    if lapsed(until, today):
        return Verification("lapsed", until, f"lapsed (verified until {until:%Y-%m-%d})")
    days = (until - today).days
    if days <= LAPSES_SOON_DAYS:
        return Verification("soon", until, f"until {until:%Y-%m-%d} (lapses in {days} "
                                           f"day{'s' if days != 1 else ''})")
    return Verification("valid", until, f"until {until:%Y-%m-%d}")
