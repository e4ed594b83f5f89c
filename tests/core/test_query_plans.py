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
