"""Benchmark: the statements of one ``GET /api/v1/audit?since=`` page, without HTTP.

    .venv/bin/python bench/since.py --url URL [--requests 20] [--code DIR]

Times ``api.audit_routes._since`` (what the page reads) on a large database for four
positions: ``since`` an hour before the newest event, in the middle of the log (first
page, and after a cursor near the start), and 100,000 events back. Prints one JSON line
of p50 / p95 wall ms and p50 / p95 CPU ms per position (on SQLite the CPU is the
database's work too). ``--code DIR`` runs another checkout's code (``DIR/src`` first on
the path), for before/after figures on one database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

WARM_UP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve() / "src"))

    from sqlalchemy import func, select

    from review_flow.api import audit_routes
    from review_flow.audit.models import AuditEvent
    from review_flow.db import Database

    db = Database(args.url)
    with db.reading() as s:
        head = s.scalar(select(func.max(AuditEvent.seq))) or 0
        newest = s.scalar(select(func.max(AuditEvent.at)))
        mid = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == head // 2))
        late = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == head - 100_000))
    cases: dict[str, tuple[Any, int | None]] = {
        "1 hour before the newest": (newest - timedelta(hours=1), None),
        "middle of the log": (mid, None),
        "middle of the log, cursor 1000": (mid, 1000),
        "100,000 events back, cursor 1000": (late, 1000),
    }
    # Code from before migration 0022 expects the cursor in the statement it is given.
    cursor_in_stmt = not hasattr(audit_routes, "_since_unordered")
    out: dict[str, Any] = {"code": str(args.code)}
    for name, (since, after) in cases.items():
        walls, cpus = [], []
        for i in range(args.requests + WARM_UP):
            with db.reading() as s:
                stmt = select(AuditEvent).order_by(AuditEvent.seq).limit(51)
                if after is not None and cursor_in_stmt:
                    stmt = stmt.where(AuditEvent.seq > after)
                t, c = time.perf_counter(), time.process_time()
                rows = audit_routes._since(s, stmt, since, after, None, 51, choose=True)
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                assert len(rows) <= 51 and all(r.at >= since for r in rows), name
            if i >= WARM_UP:
                walls.append(wall * 1000)
                cpus.append(cpu * 1000)
        out[name] = {"p50": _r(statistics.median(walls)), "p95": _r(_p95(walls)),
                     "cpu_p50": _r(statistics.median(cpus)), "cpu_p95": _r(_p95(cpus))}
    print(json.dumps(out))
    db.dispose()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _r(x: float) -> float:
    return round(x, 1)


if __name__ == "__main__":
    main()
