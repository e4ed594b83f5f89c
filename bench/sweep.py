"""Benchmark: ``review-flow sweep`` over 100,000 approved articles of which 5,000 are due.

The data: ``bench/generate.py`` with every article approved (created, submitted, review
started, approved with a signature: four chained events each, so ``audit verify`` still
accepts the database), then the review dates set so that ``--due`` articles, spread over
the id range, are past theirs and the rest fall due within the next year (the review date
is not part of any event, so the chain stays intact). Twenty reviewers: each re-review
queues a "review requested" e-mail to each of them, as it would in production.

The run: the real command, ``review-flow sweep``, in a child process (its start-up
included), timed by the wall clock and by the CPU it used (the child's user + system time
from ``getrusage``; PostgreSQL's own CPU is not in it). The machine is shared, so the CPU
time is the steadier figure. Then a second run, which must find nothing to do.

Run: ``.venv/bin/python bench/sweep.py [--backend sqlite|postgresql|both]
[--articles 100000] [--due 5000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import generate  # noqa: E402
from _common import PG_URL  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from review_flow.db import Database  # noqa: E402

# Every article ends approved after the shortest history that gets it there.
generate.FINAL_STATES = ((1.0, "approved"),)
generate.LIFECYCLE = ("create", "submit", "start_review", "approve")
generate.STEPS = {"approved": 4}


def _set_review_dates(url: str, articles: int, due: int) -> None:
    """Every (articles // due)-th article is past its date (by 1 to 300 days); the others
    fall due in 1 to 365 days."""
    step = articles // due
    db = Database(url)
    past = "CAST(:now AS TIMESTAMP WITH TIME ZONE) - make_interval(days => 1 + id % 300)"
    future = "CAST(:now AS TIMESTAMP WITH TIME ZONE) + make_interval(days => 1 + id % 365)"
    if db.engine.dialect.name == "sqlite":
        fmt = "strftime('%Y-%m-%dT%H:%M:%fZ', :now, '{}' || ({}) || ' days')"
        past = fmt.format("-", "1 + id % 300")
        future = fmt.format("+", "1 + id % 365")
        # strftime's %f is SS.SSS: pad to the stored microseconds.
        past, future = (f"substr({e}, 1, 23) || '000Z'" for e in (past, future))
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE articles SET review_due = CASE WHEN id % :step = 0 "
                          f"THEN {past} ELSE {future} END"),
                     {"step": step, "now": now if db.engine.dialect.name == "sqlite"
                      else now + "Z"})
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE articles")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    db.dispose()


def _count_due(url: str) -> int:
    db = Database(url)
    with db.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM articles WHERE state = 'approved' "
                              "AND review_due <= :now"),
                         {"now": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
                          if db.engine.dialect.name == "sqlite"
                          else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).scalar()
    db.dispose()
    return int(n or 0)


def _sweep(url: str) -> dict[str, Any]:
    """``review-flow sweep`` in a child process: wall time, its CPU, what it printed."""
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": url,
           "PYTHONPATH": str(ROOT / "src"), "REVIEW_FLOW_SECRET_KEY": "bench"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from review_flow.cli import main; main()", "sweep"],
        env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stderr[-2000:]}")
    moved_line = next(line for line in done.stdout.splitlines() if line.startswith("re-review:"))
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round((after.ru_utime - before.ru_utime)
                             + (after.ru_stime - before.ru_stime), 2),
        "moved": int(moved_line.split()[1]),
    }


def _verify(url: str) -> bool:
    from review_flow.audit.verify import verify_all

    db = Database(url)
    with db.reading() as s:
        result = verify_all(s)
    db.dispose()
    return result.ok


def run(backend: str, articles: int, due: int, verify: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'sweep.sqlite3'}"
        else:
            url = make_url(PG_URL).set(database=f"rf_sweep_{uuid.uuid4().hex[:8]}") \
                .render_as_string(hide_password=False)
        try:
            started = time.perf_counter()
            built = generate.generate(url, articles)
            _set_review_dates(url, articles, due)
            build_seconds = round(time.perf_counter() - started, 1)
            due_now = _count_due(url)
            first = _sweep(url)
            second = _sweep(url)
            result = {
                "backend": backend, "articles": built["articles"], "events": built["events"],
                "due": due_now, "build_seconds": build_seconds, "first": first,
                "second": second,
            }
            if verify:
                result["verified"] = _verify(url)
            return result
        finally:
            if backend == "postgresql":
                admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                                      "WITH (FORCE)"))
                admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--verify", action="store_true",
                        help="then run `audit verify`'s checks over the swept database")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = run(backend, args.articles, args.due, args.verify)
        print(json.dumps(result), flush=True)
        if result["first"]["moved"] != result["due"] or result["second"]["moved"] != 0:
            raise SystemExit(f"{backend}: moved {result['first']['moved']} of {result['due']} "
                             f"due, then {result['second']['moved']}")


if __name__ == "__main__":
    main()
