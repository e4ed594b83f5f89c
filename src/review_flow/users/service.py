"""Creating and finding users. Every change is audited in the caller's transaction."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.errors import NotFound, PermissionDenied, ValidationFailed, invalid
from review_flow.notifications import board
from review_flow.timeutil import utcnow
from review_flow.users import sessions
from review_flow.users.models import User, UserRole
from review_flow.users.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from review_flow.users.roles import ROLE_NAMES, Role

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def with_roles() -> Any:
    """Loader option for the acting user: roles come in the same round trip set."""
    return selectinload(User.role_rows)


def get_actor_user(session: Session, user_id: int) -> User | None:
    """The active user with this id and their roles (Flask-Login's user loader, tokens)."""
    user = session.scalar(select(User).where(User.id == user_id).options(with_roles()))
    return user if user is not None and user.active else None


def email_key(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    password: str | None,
    credentials: str | None = None,
    specialties: Sequence[str] = (),
    credentials_verified_until: date | None = None,
    created_by: User | None = None,
    context: RequestContext | None = None,
) -> User:
    email = email.strip()
    if not EMAIL_PATTERN.match(email):
        raise invalid("email", "invalid", f"“{email}” is not an e-mail address; enter one "
                      "such as name@example.org.")
    name = " ".join((name or "").split())
    if not name:
        raise invalid("name", "required", "Enter a display name.")
    roles = sorted(set(roles))
    if not roles:
        raise invalid("role", "required", "Choose at least one role.")
    unknown = [r for r in roles if r not in ROLE_NAMES]
    if unknown:
        raise invalid("role", f"unknown: {', '.join(unknown)}",
                      f"“{unknown[0]}” is not a role; choose from {', '.join(ROLE_NAMES)}.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise _short_password()
    key = email_key(email)
    if session.scalar(select(User.id).where(User.email_key == key)) is not None:
        raise invalid("email", "taken", f"Someone already has the e-mail address {email}.")
    user = User(
        email=email,
        email_key=key,
        name=name,
        credentials=(credentials or "").strip() or None,
        specialties=[s.strip() for s in specialties if s.strip()],
        credentials_verified_until=credentials_verified_until,
        password_hash=hash_password(password) if password else None,
        role_rows=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    if Role.REVIEWER in roles:
        board.record_change(session, created_by, user.id)
    audit.record(
        session,
        **audit.actor_of(created_by),
        action="user.create",
        object_type="user",
        object_id=user.id,
        context=context,
        data={
            "email": user.email,
            "roles": roles,
            "credentials": user.credentials,
            "specialties": user.specialties,
            "credentials_verified_until": (
                credentials_verified_until.isoformat() if credentials_verified_until else None
            ),
        },
    )
    return user


def get_by_email(session: Session, email: str) -> User:
    user = session.scalar(
        select(User).where(User.email_key == email_key(email)).options(with_roles())
    )
    if user is None:
        raise NotFound(f"Nobody has the e-mail address {email}.", email=email)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (no hint which was wrong)."""
    user = session.scalar(
        select(User).where(User.email_key == email_key(email)).options(with_roles())
    )
    if user is None or not user.active:
        verify_password(None, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def check_new_password(password: str | None) -> str:
    """A password a person may choose; the refusal names the rule."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise _short_password()
    if "\x00" in password:
        raise invalid("password", "contains NUL",
                      "The password contains a NUL character; remove it.")
    return password


def _short_password() -> ValidationFailed:
    return invalid("password", f"at least {MIN_PASSWORD_LENGTH} characters",
                   f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    changed_by: User | None = None,
    context: RequestContext | None = None,
    keep_session_id: int | None = None,
) -> int:
    """A new password; every other session of the person ends (``keep_session_id``: the
    browser that made the change stays signed in). Returns how many sessions ended."""
    user.password_hash = hash_password(check_new_password(password))
    ended = sessions.revoke_all(session, user.id, utcnow(), keep_id=keep_session_id)
    if keep_session_id is not None:  # that browser began under the old password
        sessions.retag(session, keep_session_id, user)
    audit.record(
        session,
        **audit.actor_of(changed_by),
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        context=context,
        data={"email": user.email, "sessions_ended": ended},
    )
    return ended


def set_active(
    session: Session,
    user: User,
    active: bool,
    *,
    changed_by: User | None = None,
    context: RequestContext | None = None,
) -> int:
    """Deactivate (ending every session) or activate an account; sessions ended.
    Nobody deactivates themselves: the last admin could lock the site out."""
    if user.active == active:
        return 0
    if not active and changed_by is not None and changed_by.id == user.id:
        raise PermissionDenied("You cannot deactivate your own account; another admin can.",
                               code="self_lockout")
    user.active = active
    ended = 0 if active else sessions.revoke_all(session, user.id, utcnow())
    audit.record(
        session,
        **audit.actor_of(changed_by),
        action="user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.id,
        context=context,
        data={"email": user.email, "sessions_ended": ended,
              "changes": {"active": {"old": not active, "new": active}}},
    )
    if Role.REVIEWER in user.roles:
        board.record_change(session, changed_by, user.id)
    return ended


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email_key).options(with_roles())))
