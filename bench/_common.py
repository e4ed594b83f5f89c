"""Shared set-up for benchmarks: a fresh migrated database on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from review_flow import migrate
from review_flow.db import Database, make_engine

PG_URL = os.environ.get(
    "REVIEW_FLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_database(backend: str) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            db = Database(url)
            try:
                yield db
            finally:
                db.dispose()
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"rf_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class StatementCounter:
    """Counts SQL statements sent, leaving out transaction control (BEGIN/COMMIT)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.count += 1


class DriverClock:
    """Wall time spent inside the database driver: statements (from the cursor events)
    and commits (the dialect's ``do_commit``). What a cycle costs apart from it is our
    Python and SQLAlchemy's; it is the floor no change to either could go below."""

    def __init__(self, db: Database) -> None:
        self.seconds = 0.0
        self._started: float | None = None
        event.listen(db.engine, "before_cursor_execute", self._before)
        event.listen(db.engine, "after_cursor_execute", self._after)
        dialect = db.engine.dialect
        original = dialect.do_commit

        def timed_commit(dbapi_connection):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return original(dbapi_connection)
            finally:
                self.seconds += time.perf_counter() - t0

        dialect.do_commit = timed_commit  # type: ignore[method-assign]

    def _before(self, *args) -> None:  # type: ignore[no-untyped-def]
        self._started = time.perf_counter()

    def _after(self, *args) -> None:  # type: ignore[no-untyped-def]
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None
