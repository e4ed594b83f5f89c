"""Per-request plumbing: the request's database session, the signed-in person, the actor.

One web request is one :class:`~review_flow.unit_of_work.UnitOfWork`, as a CLI command or
an API call is. The first use of :func:`db_session` opens it; :func:`install` makes every
view of the app, whichever blueprint it is in, commit a state-changing request when the
view returns and roll back when it raises, and a GET never commits. On SQLite a POST
takes the write lock up front (``BEGIN IMMEDIATE``), as the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.app import database
from review_flow.audit.log import RequestContext
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import UnitOfWork
from review_flow.users import sessions
from review_flow.users.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UOW = "_rf_unit_of_work"
_ABANDON = "_rf_abandon"

def _unit_of_work() -> UnitOfWork | None:
    return g.get(_UOW)


def db_session() -> Session:
    """The request's session, opened on first use."""
    uow = _unit_of_work()
    if uow is None:
        uow = database(current_app).unit_of_work(write=request.method not in SAFE_METHODS)
        setattr(g, _UOW, uow)
    return uow.session


def abandon() -> None:
    """Roll back this request's writes although the view returns normally (a form that
    failed validation is shown again, and nothing it tried may be committed)."""
    uow = _unit_of_work()
    if uow is not None:
        uow.rollback()
    setattr(g, _ABANDON, True)


def close_session(_exc: BaseException | None = None) -> None:
    uow: UnitOfWork | None = g.pop(_UOW, None)
    if uow is not None:
        uow.close()  # ends (rolls back) whatever was not committed, returns the connection


def install(app: Flask) -> None:
    """Commit-on-success for every view of ``app``, in whatever blueprint, registered
    before or after this call: a state-changing request commits when its view returns,
    rolls back when it raises (or called :func:`abandon`); a safe one never commits."""
    dispatch = app.dispatch_request

    def dispatch_in_unit_of_work() -> Any:
        try:
            rv = dispatch()
        except BaseException:
            uow = _unit_of_work()
            if uow is not None:
                uow.rollback()
            raise
        if request.method not in SAFE_METHODS and not g.get(_ABANDON):
            uow = _unit_of_work()
            if uow is not None:
                uow.commit()
        return rv

    app.dispatch_request = dispatch_in_unit_of_work  # type: ignore[method-assign]


@dataclass(frozen=True)
class WebUser:
    """The signed-in person as Flask-Login sees them; templates read the plain fields."""

    user: User
    id: int
    email: str
    name: str
    credentials: str | None
    roles: frozenset[str]
    # The server-side session (``users/sessions.py``): its row and the token the cookies
    # carry, which is all Flask-Login stores.
    session_id: int
    token: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    @classmethod
    def of(cls, user: User, *, session_id: int, token: str) -> WebUser:
        return cls(user, user.id, user.email, user.name, user.credentials, user.roles,
                   session_id, token)

    def get_id(self) -> str:
        return self.token

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


def load_user(token: str) -> WebUser | None:
    """Flask-Login's loader, for the session cookie and the remember cookie alike: the
    person whose server-side session this token names, while it is live."""
    now = utcnow()
    found = sessions.find_live(db_session(), token, now)
    if found is None:
        return None
    row, user = found
    if sessions.needs_touch(row, now):
        if request.method in SAFE_METHODS:  # a read never commits: a small write of its own
            with database(current_app).transaction() as side:
                sessions.touch(side, row.id, now)
        else:  # commits with the request (SQLite: it already holds the write lock)
            sessions.touch(db_session(), row.id, now)
    return WebUser.of(user, session_id=row.id, token=token)


def request_context() -> RequestContext:
    return RequestContext(request_id=g.get("request_id"), client_addr=request.remote_addr)


def current_actor() -> Actor:
    """The signed-in person as the service layer's Actor (never called on public pages)."""
    web_user: WebUser = current_user._get_current_object()  # type: ignore[attr-defined]
    return Actor(web_user.user, context=request_context())
