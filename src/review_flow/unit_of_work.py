"""The unit of work: one session, one transaction, for every entry point.

The CLI and the API (``Database.transaction``) and the web app (one per request, see
``web/context.py``) all go through :class:`UnitOfWork`: it opens the session, takes
SQLite's write lock up front for a write (``BEGIN IMMEDIATE``, instead of failing on a
lock upgrade under load), commits or rolls back, and carries the domain events the
services record, which are turned into outbox rows just before the commit (see
:func:`install`), so a state change, its audit event and its notifications commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_KEY = "review_flow.unit_of_work"
_DISPATCHER = "review_flow.dispatcher"

# Turns the collected events into rows in the same transaction (set by ``install``).
Dispatcher = Callable[[Session, list[Any]], None]


class UnitOfWork:
    """A session and the domain events recorded in its current transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.events: list[Any] = []
        session.info[_KEY] = self

    @classmethod
    def begin(
        cls, sessions: sessionmaker[Session], *, write: bool, sqlite: bool
    ) -> UnitOfWork:
        """A new session; a write on SQLite begins with ``BEGIN IMMEDIATE``."""
        uow = cls(sessions())
        if write and sqlite:
            uow.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return uow

    @classmethod
    def of(cls, session: Session) -> UnitOfWork:
        """The unit of work a session belongs to (a bare session gets one on first use)."""
        uow: UnitOfWork | None = session.info.get(_KEY)
        return uow if uow is not None else cls(session)

    def record(self, domain_event: Any) -> None:
        """Remember what happened; its notifications are queued just before the commit."""
        self.events.append(domain_event)

    def dispatch(self) -> None:
        """Queue the notifications of the events recorded so far, now, in the transaction.

        For a use case about to take a lock that is held until the commit (the audit
        chain's head): what it queues first, every other writer need not wait for."""
        dispatcher: Dispatcher | None = self.session.info.get(_DISPATCHER)
        while dispatcher is not None and self.events:
            pending, self.events = self.events, []
            dispatcher(self.session, pending)

    def commit(self) -> None:
        self.session.commit()  # the dispatcher runs first (``before_commit``)

    def rollback(self) -> None:
        self.session.rollback()
        self.events.clear()

    def close(self) -> None:
        """End the session; whatever was not committed is rolled back."""
        self.session.close()
        self.events.clear()

    @classmethod
    @contextmanager
    def writing(cls, sessions: sessionmaker[Session], *, sqlite: bool) -> Iterator[UnitOfWork]:
        """A write transaction: commit on success, roll back on any exception."""
        uow = cls.begin(sessions, write=True, sqlite=sqlite)
        try:
            yield uow
            uow.commit()
        except BaseException:
            uow.rollback()
            raise
        finally:
            uow.close()

    @classmethod
    @contextmanager
    def reading(cls, sessions: sessionmaker[Session]) -> Iterator[UnitOfWork]:
        """A read-only unit of work: never commits."""
        uow = cls.begin(sessions, write=False, sqlite=False)
        try:
            yield uow
        finally:
            uow.rollback()
            uow.close()


def record(session: Session, domain_event: Any) -> None:
    """Record ``domain_event`` on the unit of work ``session`` belongs to."""
    UnitOfWork.of(session).record(domain_event)


def dispatch_now(session: Session) -> None:
    """Queue the notifications recorded so far on ``session``'s unit of work now
    (:meth:`UnitOfWork.dispatch`)."""
    UnitOfWork.of(session).dispatch()


def install(sessions: sessionmaker[Session], dispatch: Dispatcher) -> None:
    """Dispatch each transaction's events just before it commits, whichever entry point
    commits it (a failing dispatcher fails the commit: nothing is written), and forget
    them when it rolls back. The sessions carry the dispatcher for ``dispatch_now``."""
    sessions.configure(info={**sessions.kw.get("info", {}), _DISPATCHER: dispatch})

    @event.listens_for(sessions, "before_commit")
    def _dispatch(session: Session) -> None:
        uow: UnitOfWork | None = session.info.get(_KEY)
        if uow is not None:
            uow.dispatch()

    @event.listens_for(sessions, "after_soft_rollback")
    def _forget(session: Session, previous_transaction: Any) -> None:
        uow: UnitOfWork | None = session.info.get(_KEY)
        if uow is not None and previous_transaction.parent is None:
            uow.events.clear()
