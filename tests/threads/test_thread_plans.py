"""The thread queries use their indexes (SQLite's EXPLAIN QUERY PLAN names them): the
approve guard's look at open blocking threads, and the thread list with its messages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from review_flow.articles.queries import get_article
from review_flow.threads import service
from review_flow.threads.blocking import open_blocking
from review_flow.threads.reading import threads_for
from tests.core.helpers import act, create


def _statements(db: Any, run: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return seen


def test_thread_reads_search_their_indexes(db: Any, backend: str, people: Any) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL's plans depend on table statistics; SQLite's are stable")
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    with db.transaction() as s:
        service.open_thread(s, people["reviewer"], aid, "Why?", paragraph=1, blocking=True)

    def read() -> None:
        with db.reading() as s:
            current = get_article(s, aid).current_revision
            open_blocking(s, aid, current)
            threads_for(s, aid, current, limit=51)

    statements = [(sql, p) for sql, p in _statements(db, read)
                  if "comment_threads" in sql or "thread_" in sql]
    assert len(statements) == 4, statements  # blocking; threads, messages, changes
    with db.engine.connect() as conn:
        for sql, params in statements:
            plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            scans = [step for step in plan if step.startswith("SCAN") and "thread" in step]
            assert not scans, (sql, plan)
    first = statements[0]
    with db.engine.connect() as conn:
        plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + first[0], first[1])]
    assert any("ix_comment_threads_open_blocking" in step for step in plan), plan
