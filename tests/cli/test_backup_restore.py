"""The backup procedure of docs/DEPLOYMENT.md, run for real: ``pg_dump`` (custom format)
of a working database, ``pg_restore`` into a new one, and ``review-flow audit verify`` on
the copy accepts the same events and the same chain head; the copy carries on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from tests.conftest import PASSWORD, _pg_admin_url, new_pg_database
from tests.core.helpers import BODY, REFS

CLI = str(Path(sys.executable).parent / "review-flow")


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_bin(url: str, tool: str) -> str:
    """``tool`` of the server's own major version: pg_dump refuses newer servers, and an
    older pg_restore may not read a newer dump."""
    engine = create_engine(url)
    with engine.connect() as conn:
        major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    engine.dispose()
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin/{tool}"),):
        if candidate.exists():
            return str(candidate)
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    if f") {major}." not in version.stdout:
        pytest.skip(f"no {tool} for PostgreSQL {major} (found: {version.stdout.strip()})")
    return tool


def _verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": url,
           "REVIEW_FLOW_SECRET_KEY": "test-secret"}
    return subprocess.run([CLI, "audit", "verify"], env=env, capture_output=True, text=True,
                          timeout=120)


def _chain(db: Database) -> tuple[int, str]:
    with db.reading() as s:
        count = int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)
        head = s.scalar(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    assert head is not None
    return count, head


def _approved_article(db: Database, people: Any, title: str) -> int:
    with db.transaction() as s:
        aid = create_article(s, people["author"], title=title, body=BODY,
                             references=REFS).id
    for who, action, kw in (("author", "submit", {}), ("reviewer", "start_review", {}),
                            ("reviewer", "approve", {"password": PASSWORD})):
        with db.transaction() as s:
            perform_action(s, people[who], aid, action, **kw)
    return aid


def test_a_pg_dump_restored_into_a_new_database_verifies(
    backend: str, db_url: str, db: Database, people: Any, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_dump and pg_restore are PostgreSQL's backup tools")
    first = _approved_article(db, people, "Salt and blood pressure")
    _approved_article(db, people, "Sleep and blood pressure")
    with db.transaction() as s:
        perform_action(s, people["editor"], first, "retract", comment="New trial.")
    count, head = _chain(db)

    dump = tmp_path / "review-flow.dump"
    subprocess.run([_pg_bin(db_url, "pg_dump"), "--format=custom", "--no-owner",
                    "--file", str(dump), _libpq(db_url)], check=True, timeout=120)
    admin_url, _ = _pg_admin_url()
    assert admin_url is not None
    restored_db = new_pg_database(admin_url)  # empty, as on a fresh server
    restored_url = next(restored_db)
    try:
        subprocess.run([_pg_bin(db_url, "pg_restore"), "--no-owner", "--exit-on-error",
                        "--dbname", _libpq(restored_url), str(dump)], check=True, timeout=120)
        result = _verify(restored_url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"OK: {count} events verified"), result.stdout
        assert head in result.stdout

        restored = Database(restored_url)
        try:
            assert _chain(restored) == (count, head)
            # The copy is a working database: its append-only guard came along ...
            with pytest.raises(DBAPIError), restored.transaction() as s:
                s.execute(text("UPDATE audit_events SET comment = 'edited' WHERE seq = 1"))
            # ... and its sequences did too: the next action extends the same chain.
            with restored.transaction() as s:
                perform_action(s, people["editor"], first, "reopen")
            assert _chain(restored)[0] == count + 1
        finally:
            restored.dispose()
        again = _verify(restored_url)
        assert again.returncode == 0 and again.stdout.startswith(f"OK: {count + 1} events")
    finally:
        restored_db.close()  # drops the database
