"""Sign-in sessions kept on the server, so that ending one really ends it.

A browser's cookies (Flask's session cookie and the "Remember me" cookie) carry only a
random token; the database keeps its SHA-256 hash with the person, when the session
began, was last seen and expires, and whether it was revoked. A request is signed in only
while its row is live: signing out revokes that row (a copied cookie then reads nothing),
"sign out everywhere", a password change and deactivation revoke all of a person's rows,
and rows expire (the remember cookie's two weeks, else ``SESSION_LIFETIME``).

The per-request cost is one indexed lookup (the row joined with the user and roles);
``last_seen_at`` is written at most every ``TOUCH_EVERY``.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, bindparam, delete, select, update
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime
from review_flow.users.models import User

SESSION_LIFETIME = timedelta(hours=12)  # a sign-in without "Remember me"
REMEMBER_LIFETIME = timedelta(days=14)  # matches the remember cookie's duration
TOUCH_EVERY = timedelta(minutes=5)
_TOKEN_MAX = 100  # longer "tokens" are not ours: refused without a query


class SignInSession(Base):
    """One signed-in browser."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    remember: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A fingerprint of the password hash the session began under: a password changed
    # by any means (even straight in the database) ends the session.
    password_tag: Mapped[str] = mapped_column(String(16))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_addr: Mapped[str | None] = mapped_column(String(64))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_tag(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def start(session: Session, user: User, *, now: datetime, remember: bool,
          user_agent: str | None = None, client_addr: str | None = None,
          lifetime: timedelta | None = None) -> tuple[str, SignInSession]:
    """A new session for ``user``: the token for the cookie (shown nowhere else) and its row.

    Rows that expired a month ago or more are deleted on the way: nobody reads them.
    """
    session.execute(delete(SignInSession).where(
        SignInSession.user_id == user.id, SignInSession.expires_at < now - timedelta(days=30)))
    token = secrets.token_urlsafe(32)
    row = SignInSession(
        token_hash=hash_token(token), user_id=user.id, remember=remember, created_at=now,
        last_seen_at=now,
        expires_at=now + (lifetime or (REMEMBER_LIFETIME if remember else SESSION_LIFETIME)),
        password_tag=password_tag(user),
        user_agent=(user_agent or "")[:300] or None, client_addr=(client_addr or "")[:64] or None,
    )
    session.add(row)
    session.flush()
    return token, row


@functools.cache
def _live_statement() -> Any:
    """The live session for a token hash with its active user and roles; built once."""
    return (
        select(SignInSession, User)
        .join(User, User.id == SignInSession.user_id)
        .where(
            SignInSession.token_hash == bindparam("token_hash"),
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > bindparam("now"),
            User.active.is_(True),
        )
        .options(joinedload(User.role_rows))
    )


def find_live(session: Session, token: str, now: datetime) -> tuple[SignInSession, User] | None:
    """The session row and its user when ``token`` names a live session, else None."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    found = session.execute(
        _live_statement(), {"token_hash": hash_token(token), "now": now}
    ).unique().one_or_none()
    if found is None:
        return None
    row, user = found
    if row.password_tag != password_tag(user):
        return None
    return row, user


def needs_touch(row: SignInSession, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(SignInSession).where(SignInSession.id == session_id).values(last_seen_at=now)
    )


def retag(session: Session, session_id: int, user: User) -> None:
    """Let one session outlive its person's password change (the browser that made it)."""
    session.execute(update(SignInSession).where(SignInSession.id == session_id)
                    .values(password_tag=password_tag(user)))


def revoke(session: Session, session_id: int, now: datetime) -> bool:
    """End one session; False if it had already ended."""
    result = session.execute(
        update(SignInSession)
        .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_all(session: Session, user_id: int, now: datetime, *,
               keep_id: int | None = None) -> int:
    """End every live session of a person (but ``keep_id``); how many were ended."""
    stmt = (
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None),
               SignInSession.expires_at > now)
        .values(revoked_at=now)
    )
    if keep_id is not None:
        stmt = stmt.where(SignInSession.id != keep_id)
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def live_sessions(session: Session, user_id: int, now: datetime) -> list[SignInSession]:
    """A person's live sessions, the most recently seen first."""
    return list(session.scalars(
        select(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None),
               SignInSession.expires_at > now)
        .order_by(SignInSession.last_seen_at.desc(), SignInSession.id.desc())
    ))
