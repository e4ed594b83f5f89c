"""Per-request plumbing: the request's database session, the signed-in person, the actor.

One web request is one unit of work. The first use of :func:`db_session` opens a session;
views of the web blueprints are wrapped (:func:`unit_of_work`) so that a POST commits
when its view returns and rolls back when it raises, and a GET never commits. On
SQLite a POST takes the write lock up front (``BEGIN IMMEDIATE``), as the CLI does.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.app import database
from review_flow.audit.log import RequestContext
from review_flow.users.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION = "_rf_session"
_ABANDON = "_rf_abandon"

F = TypeVar("F", bound=Callable[..., Any])


def db_session() -> Session:
    """The request's session, opened on first use."""
    session: Session | None = g.get(_SESSION)
    if session is None:
        db = database(current_app)
        session = db.sessions()
        if db.is_sqlite and request.method not in SAFE_METHODS:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        setattr(g, _SESSION, session)
    return session


def abandon() -> None:
    """Roll back this request's writes although the view returns normally (a form that
    failed validation is shown again, and nothing it tried may be committed)."""
    session: Session | None = g.get(_SESSION)
    if session is not None:
        session.rollback()
    setattr(g, _ABANDON, True)


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop(_SESSION, None)
    if session is not None:
        session.close()  # ends (rolls back) whatever was not committed, returns the connection


def unit_of_work(view: F) -> F:
    """Commit a state-changing request when its view succeeds; roll back on any error."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            rv = view(*args, **kwargs)
        except BaseException:
            session: Session | None = g.get(_SESSION)
            if session is not None:
                session.rollback()
            raise
        if request.method not in SAFE_METHODS and not g.get(_ABANDON):
            session = g.get(_SESSION)
            if session is not None:
                session.commit()
        return rv

    wrapped.unit_of_work = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def _session_token(user: User) -> str:
    """Part of the login cookie's id: changes when the password does, ending old sessions."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class WebUser:
    """The signed-in person as Flask-Login sees them; templates read the plain fields."""

    user: User
    id: int
    email: str
    name: str
    credentials: str | None
    roles: frozenset[str]

    is_authenticated = True
    is_active = True
    is_anonymous = False

    @classmethod
    def of(cls, user: User) -> WebUser:
        return cls(user, user.id, user.email, user.name, user.credentials, user.roles)

    def get_id(self) -> str:
        return f"{self.id}:{_session_token(self.user)}"

    @property
    def signature_name(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class Anonymous:
    """A reader who has not signed in."""

    is_authenticated = False
    is_active = False
    is_anonymous = True
    roles: frozenset[str] = frozenset()
    id = None
    name = ""

    def get_id(self) -> None:
        return None


@functools.cache
def _user_statement() -> Any:
    """The signed-in user with their roles in one query; built once, used on every request."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    return select(User).where(User.id == bindparam("id")).options(joinedload(User.role_rows))


def load_user(user_id: str) -> WebUser | None:
    """Flask-Login's loader: the active user whose id and password token match the cookie."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    user = db_session().execute(_user_statement(), {"id": int(raw_id)}).unique(
    ).scalar_one_or_none()
    if user is None or not user.active or token != _session_token(user):
        return None
    return WebUser.of(user)


def request_context() -> RequestContext:
    return RequestContext(request_id=g.get("request_id"), client_addr=request.remote_addr)


def current_actor() -> Actor:
    """The signed-in person as the service layer's Actor (never called on public pages)."""
    web_user: WebUser = current_user._get_current_object()  # type: ignore[attr-defined]
    return Actor(web_user.user, context=request_context())
