"""Benchmark: the audit explorer's page query, first page and page 1,000, per filter.

Uses the data set ``bench/export.py`` builds (1,000,000 events; run that first). For
each filter the page-1,000 position is found once (the 49,950th row of the filter, by
OFFSET, untimed), then the explorer's statement (``audit.query.page``, 51 rows) is run
``--repeat`` times for the first page and for page 1,000 and the median and best wall
times are reported. The statement is the page's only query over audit_events.

Run: ``.venv/bin/python bench/audit_pages.py --backend sqlite|postgresql [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from export import PG_URL, SQLITE_URL

from review_flow.audit import query
from review_flow.db import Database

PAGE = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", help="only the filter of this name")
    parser.add_argument("--explain", action="store_true",
                        help="print each statement's query plan (first page)")
    opts = parser.parse_args()
    db = Database(SQLITE_URL if opts.backend == "sqlite" else PG_URL)
    now = datetime.now(UTC)
    filters = {
        "none": {},
        "article": {"article": "4242"},
        "actor": {"actor": "7"},
        "action": {"action": "article.approve"},
        "state": {"state": "approved"},
        "since (last year)": {"since": (now - timedelta(days=365)).isoformat()},
        "since+until (a month)": {"since": (now - timedelta(days=400)).isoformat(),
                                  "until": (now - timedelta(days=370)).isoformat()},
        "actor+action": {"actor": "7", "action": "article.start_review"},
        "action+state+since": {"action": "article.submit", "state": "changes_requested",
                               "since": (now - timedelta(days=600)).isoformat()},
    }
    results = []
    with db.reading() as session:
        for name, args in filters.items():
            if opts.only and opts.only != name:
                continue
            f = query.parse(args)
            if opts.explain:
                print(f"-- {name}\n" + _plan(session, query.page(f, before=None,
                                                                 limit=PAGE + 1)))
            depth = 999 * PAGE  # the last row of page 999
            deep = session.execute(query.page(f, before=None, limit=depth).offset(
                depth - 1)).first()
            where = {"first": None,
                     "page 1000": deep and query.Position(deep.at, deep.seq)}
            row: dict[str, object] = {"filter": name}
            for label, before in where.items():
                if label == "page 1000" and before is None:
                    row[label] = "fewer than 1,000 pages"
                    continue
                times, cpu = [], []
                for _ in range(opts.repeat):
                    t0, c0 = time.perf_counter(), time.process_time()
                    got = session.execute(query.page(f, before=before, limit=PAGE + 1)).all()
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                times.sort()
                cpu.sort()
                row[label] = {"rows": len(got), "median_ms": round(statistics.median(times), 2),
                              "p95_ms": round(_p95(times), 2), "best_ms": round(min(times), 2),
                              # This process's CPU: on SQLite the query's whole work, which
                              # a shared machine's load does not stretch as it does the
                              # wall time; on PostgreSQL only the client's part.
                              "cpu_median_ms": round(statistics.median(cpu), 2),
                              "cpu_p95_ms": round(_p95(cpu), 2)}
            results.append(row)
            print(json.dumps(row), flush=True)
    db.dispose()


def _p95(values: list[float]) -> float:
    """The 95th percentile of sorted ``values`` (nearest rank)."""
    return values[max(0, -(-len(values) * 95 // 100) - 1)]


def _plan(session: Any, stmt: Any) -> str:
    """The statement's query plan as the database gives it (SQLite's EXPLAIN QUERY PLAN,
    PostgreSQL's EXPLAIN ANALYZE), for the statement and parameters the driver gets."""
    from sqlalchemy import event

    conn = session.connection()
    seen: list[tuple[str, Any]] = []

    def on(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", on)
    try:
        conn.execute(stmt).all()
    finally:
        event.remove(conn, "before_cursor_execute", on)
    sql, params = seen[-1]
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        return "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql,
                                params).all()
    return "\n".join(r[0] for r in rows)


if __name__ == "__main__":
    main()
