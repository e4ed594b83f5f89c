"""Engine, sessions and the transaction boundary.

Services only ``flush()``; the entry point (a web request, a CLI command, a test)
owns the transaction through a :class:`~review_flow.unit_of_work.UnitOfWork`
(:meth:`Database.transaction` for the CLI and the API, one per request in the web app),
so a state change, its audit event and its outgoing notifications commit together or
not at all.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from review_flow.unit_of_work import UnitOfWork, install

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as a Table (SQLAlchemy types ``__table__`` as any
    FROM clause), for Core statements such as executemany inserts."""
    return cast(Table, model.__table__)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine with the per-dialect settings the app relies on.

    SQLite: foreign keys on, WAL journal, and transactions that we begin
    ourselves so that write transactions can take the write lock up front
    (``BEGIN IMMEDIATE``) instead of failing on a lock upgrade under load.
    """
    url = make_url(url)
    if _is_sqlite(url):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if url.database and url.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _dispatch(session: Session, events: list[Any]) -> None:
    """The notifications dispatcher, imported on the first event: a command that changes
    nothing (``audit verify``) does not load the webhook machinery."""
    from review_flow.notifications.dispatcher import dispatch

    dispatch(session, events)


class Database:
    """One engine and its session factory; the unit of work for every entry point."""

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.url = make_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        install(self.sessions, _dispatch)

    @property
    def is_sqlite(self) -> bool:
        return _is_sqlite(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction (a :class:`UnitOfWork`): commit on success, roll back on
        any exception."""
        with UnitOfWork.writing(self.sessions, sqlite=self.is_sqlite) as uow:
            yield uow.session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work: never commits."""
        with UnitOfWork.reading(self.sessions) as uow:
            yield uow.session

    def unit_of_work(self, *, write: bool) -> UnitOfWork:
        """A unit of work the caller ends (the web app: one per request)."""
        return UnitOfWork.begin(self.sessions, write=write, sqlite=self.is_sqlite)

    @contextmanager
    def pinned(self) -> Iterator[Database]:
        """This database with every unit of work on one connection, checked out once.

        For a long run of short transactions (the sweep: one per item): on PostgreSQL each
        checkout from the pool costs a round trip (``pool_pre_ping``'s ``SELECT 1``) and
        its bookkeeping; here the connection is checked (pinged) once, when the run starts.
        Each unit of work still begins and commits its own transaction on it. SQLite pools
        without a ping, so there this is the database itself."""
        if self.is_sqlite:
            yield self
            return
        with self.engine.connect() as conn:
            view = copy.copy(self)
            view.sessions = sessionmaker(conn, expire_on_commit=False)
            install(view.sessions, _dispatch)
            yield view

    def dispose(self) -> None:
        self.engine.dispose()
