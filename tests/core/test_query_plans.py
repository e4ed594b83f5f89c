"""Hot queries use an index for what they filter on, whatever the data's shape.

Row counts in tests are too small for timings to show a scan, so the plan is checked
(SQLite's EXPLAIN QUERY PLAN names the index each step uses).
"""

from __future__ import annotations

from typing import Any

import pytest

from review_flow.articles.loading import LOAD


def test_action_load_probes_the_writer_index(db: Any, backend: str) -> None:
    """"Did the actor write any revision of this article?" is one index probe, not a
    walk over every revision the author ever wrote (a pipeline writes thousands)."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL's plans depend on table statistics; SQLite's are stable")
    stmt = LOAD[True]
    sql = str(stmt.compile(dialect=db.engine.dialect))
    params = (1, "approve", "approve", 1, 1, 1)
    with db.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
    revisions = [step for step in plan if "revisions " in step and "revisions_1" not in step]
    assert revisions == [
        "SEARCH revisions USING INDEX ix_revisions_article_author (article_id=? AND author_id=?)"
    ], plan
    assert not any(step.startswith("SCAN") for step in plan), plan


def _plan(db: Any, backend: str, stmt: Any, params: dict[str, Any]) -> list[str]:
    """The plan's lines. PostgreSQL with sequential scans priced out: on a small test
    table it would rightly scan, so this asks whether the index *can* serve the query
    (a term no index can serve would still show a scan)."""
    compiled = stmt.compile(dialect=db.engine.dialect)
    with db.engine.connect() as conn:
        if backend == "sqlite":
            values = tuple(params[k] for k in compiled.positiontup)
            return [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                                       values)]
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).all()
        conn.rollback()
        return [r[0] for r in rows]


def test_the_sweeps_due_list_walks_the_review_due_index(db: Any, backend: str) -> None:
    """Approved articles due by now, after a keyset position, in due-date order: a range
    on ix_articles_state_review_due, no scan and no sort (100,000 approved articles, 5,000
    due, are read as 5,000 index entries)."""
    from datetime import UTC, datetime

    from review_flow.sweep import rereview

    when = datetime(2030, 1, 1, tzinfo=UTC)
    params = {"state_1": "approved", "now": when.replace(tzinfo=None) if backend == "sqlite"
              else when, "after_at": datetime(1, 1, 1) if backend == "sqlite"
              else datetime(1, 1, 1, tzinfo=UTC), "after_id": 0, "param_1": 500, "limit": 500}
    plan = _plan(db, backend, rereview.DUE, params)
    text = "\n".join(plan)
    assert "ix_articles_state_review_due" in text, plan
    if backend == "sqlite":
        assert plan[0].startswith("SEARCH articles USING COVERING INDEX "
                                  "ix_articles_state_review_due (state=? AND review_due>"), plan
        assert not any(s.startswith("SCAN") or "TEMP B-TREE" in s for s in plan), plan
    else:
        assert "Seq Scan" not in text and "Sort" not in text, plan


def test_the_review_due_page_and_its_counts_walk_the_review_due_index(db: Any,
                                                                     backend: str) -> None:
    from datetime import UTC, datetime

    from review_flow.articles import review_due

    def when(*args: int) -> datetime:
        t = datetime(*args, tzinfo=UTC)  # type: ignore[misc]
        return t.replace(tzinfo=None) if backend == "sqlite" else t

    rows = _plan(db, backend, review_due._ROWS, {
        "state_1": "approved", "until": when(2030, 1, 1), "after_at": when(1, 1, 1),
        "after_id": 0, "param_1": 51, "limit": 51})
    count = _plan(db, backend, review_due._COUNT, {
        "state_1": "approved", "lo": when(1, 1, 1), "hi": when(2030, 1, 1)})
    for plan in (rows, count):
        text = "\n".join(plan)
        assert "ix_articles_state_review_due" in text, plan
        if backend == "sqlite":
            assert not any(s.startswith("SCAN") or "TEMP B-TREE" in s for s in plan), plan
        else:
            assert "Seq Scan" not in text and "Sort" not in text, plan
