"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Databases are built by running the Alembic migrations once per test session into a
template (a SQLite file; a PostgreSQL template database) and cloned for each test, so
every test starts from exactly what ``review-flow db upgrade`` produces.

PostgreSQL: ``REVIEW_FLOW_TEST_DATABASE_URL`` names the server. When it is set, the run
fails if the server does not answer. When it is not set, the local default is tried and,
if nothing answers, the PostgreSQL half is skipped with a visible reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from review_flow import migrate
from review_flow.actor import Actor
from review_flow.db import Database, make_engine
from review_flow.users import passwords
from review_flow.users import service as users
from tests.support.webhook_config import LOOPBACK

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery"

_pg_status: dict[str, Any] = {}
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    passwords.use_fast_hashing()


def _pg_admin_url() -> tuple[str | None, str]:
    """(url, reason): the PostgreSQL server to use, or None and why not."""
    if "url" in _pg_status:
        return _pg_status["url"], _pg_status["reason"]
    url = os.environ.get("REVIEW_FLOW_TEST_DATABASE_URL")
    required = bool(url)
    url = url or DEFAULT_PG_URL
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        _pg_status.update(url=url, reason="")
    except Exception as exc:
        if required:
            pytest.exit(
                f"REVIEW_FLOW_TEST_DATABASE_URL is set but PostgreSQL does not answer: {exc}",
                returncode=3,
            )
        _pg_status.update(
            url=None,
            reason=f"PostgreSQL half SKIPPED: no server at {make_url(url).render_as_string()} "
            f"(set REVIEW_FLOW_TEST_DATABASE_URL to run it)",
        )
    return _pg_status["url"], _pg_status["reason"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_status.get("url") is None and _pg_status.get("reason"):
        terminalreporter.write_sep("=", _pg_status["reason"], yellow=True, bold=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[tuple[str, str]]:
    url, reason = _pg_admin_url()
    if url is None:
        pytest.skip(reason)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"rf_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    template_url = make_url(url).set(database=name)
    engine = make_engine(template_url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url, name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(template: tuple[str, str]) -> Iterator[str]:
    admin_url, tpl = template
    yield from new_pg_database(admin_url, template=tpl)


def new_pg_database(admin_url: str, *, template: str | None = None) -> Iterator[str]:
    """Create a database on the test server (a copy of ``template``, or empty), yield its
    URL, drop it afterwards."""
    name = f"rf_t_{os.getpid()}_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a freshly migrated database, once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "review-flow.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _fresh_pg(request.getfixturevalue("pg_template"))


@pytest.fixture
def backend(db_url: str) -> str:
    return make_url(db_url).get_backend_name()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def make_user(db: Database) -> Callable[..., Actor]:
    """Create a user (committed) and return an Actor for them."""

    def factory(
        email: str | None = None,
        *roles: str,
        name: str | None = None,
        credentials: str | None = None,
        password: str = PASSWORD,
    ) -> Actor:
        email = email or f"user{next(_counter)}@example.org"
        with db.transaction() as session:
            user = users.add_user(
                session,
                email=email,
                name=name or email.split("@")[0].title(),
                roles=roles or ("author",),
                password=password,
                credentials=credentials,
            )
        return Actor(user)

    return factory


@pytest.fixture
def people(make_user: Callable[..., Actor]) -> dict[str, Actor]:
    return {
        "author": make_user("author@example.org", "author", name="Alex Author"),
        "reviewer": make_user(
            "reed@example.org", "reviewer", name="Dr. Maya Reed", credentials="MD, FACP"
        ),
        "reviewer2": make_user(
            "okafor@example.org", "reviewer", name="Dr. Chidi Okafor", credentials="MD, MPH"
        ),
        "editor": make_user("editor@example.org", "editor", name="Erin Editor"),
        "auditor": make_user("auditor@example.org", "auditor", name="Aubrey Auditor"),
    }


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            self.statements.append(statement)


@pytest.fixture
def count_queries(db: Database) -> Callable[[], Any]:
    """``with count_queries() as q: ...; q.count`` counts SQL statements (not BEGIN/COMMIT)."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def app(db_url: str, db: Database) -> Iterator[Any]:
    """The Flask app on this test's database (CSRF on, as in production)."""
    from review_flow.app import create_app

    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "SERVER_NAME": "localhost",
            "WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,  # the receivers listen there
            # API rate limits off: tests/api/test_rate_limits.py turns them on.
            "API_RATE_LIMIT": "off",
            "API_RATE_LIMIT_PER_ADDRESS": "off",
        }
    )
    yield application
    from review_flow.app import database

    database(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
