"""The unit of work: one session, one transaction, for every entry point.

The CLI and the API (``Database.transaction``) and the web app (one per request, see
``web/context.py``) all go through :class:`UnitOfWork`: it opens the session, takes
SQLite's write lock up front for a write (``BEGIN IMMEDIATE``, instead of failing on a
lock upgrade under load), and commits or rolls back, so a state change, its audit
event and its notifications commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

_KEY = "review_flow.unit_of_work"


class UnitOfWork:
    """A session and its transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
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

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def close(self) -> None:
        """End the session; whatever was not committed is rolled back."""
        self.session.close()

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
