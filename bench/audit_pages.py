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
            f = query.parse(args)
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
                times = []
                for _ in range(opts.repeat):
                    t0 = time.perf_counter()
                    got = session.execute(query.page(f, before=before, limit=PAGE + 1)).all()
                    times.append((time.perf_counter() - t0) * 1000)
                row[label] = {"rows": len(got), "median_ms": round(statistics.median(times), 2),
                              "best_ms": round(min(times), 2)}
            results.append(row)
            print(json.dumps(row), flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
