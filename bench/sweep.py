"""Benchmark: ``review-flow sweep`` over 100,000 approved articles of which 5,000 are due.

The data, bulk inserted in a minute or two: the people through the user service (as
``bench/generate.py`` makes them: 50 authors, 20 reviewers, an editor), then 100,000
approved articles, each with its one revision (``executemany`` on SQLite, ``COPY`` on
PostgreSQL, ``bench/generate.py``'s loaders). ``--due`` of them, spread over the id
range, are past their review date by 1 to 300 days; the rest fall due in 1 to 365 days.
The sweep appends real events to the chain (its head is where the people left it), but
the bulk-inserted articles have no history of their own in the log, so ``audit verify``'s
replay would reject this database: it measures the sweep, not a record to audit
(``bench/generate.py`` builds one of those). Twenty reviewers: each re-review queues one
"review requested" row for the board, as it would in production; after the first run the
deliverer's expansion of those rows into one digest per reviewer is timed too (in a child
process, as ``outbox deliver`` would do it before sending; ``outbox/expand.py``), since
that work moved there from the sweep.

The run: the real command, ``review-flow sweep``, in a child process (its start-up
included), timed by the wall clock and by the CPU it used (the child's user + system time
from ``getrusage``; the database server's CPU is not in it). The machine is shared, so the
CPU time is the steadier figure. Then a second run, which must find nothing to do.

Run: ``.venv/bin/python bench/sweep.py [--backend sqlite|postgresql|both]
[--articles 100000] [--due 5000] [--workers N ...]``.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import generate  # noqa: E402
from _common import PG_URL  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from review_flow import migrate  # noqa: E402
from review_flow.articles.content import content_hash  # noqa: E402
from review_flow.articles.slugs import slugify  # noqa: E402
from review_flow.db import Database, make_engine  # noqa: E402
from review_flow.users import passwords  # noqa: E402

CHUNK = 10_000


def build(url: str, articles: int, due: int) -> dict[str, Any]:
    """A migrated database with the people and ``articles`` approved articles, ``due`` of
    them past their review date."""
    passwords.use_fast_hashing()
    started = time.perf_counter()
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        event.listen(db.engine, "connect", generate._bulk_pragmas)
    who = generate.people(db)
    authors = who["author"]
    now = datetime.now(UTC).replace(microsecond=0)
    step = max(1, articles // due)
    load = generate._load_sqlite if sqlite else generate._load_postgresql
    with db.engine.connect() as conn:
        first_revision = int(conn.scalar(text("SELECT coalesce(max(id), 0) FROM revisions"))) + 1
    for lo in range(1, articles + 1, CHUNK):
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
            "revisions", "articles", "comments", "decisions", "events")}
        for aid in range(lo, min(lo + CHUNK, articles + 1)):
            topic = f"{generate.CONDITIONS[aid % 60]}: {generate.ASPECTS[aid % 20]} ({aid})"
            title = topic[0].upper() + topic[1:]
            body = generate.BODY.format(topic=topic, number=1)
            approved_at = now - timedelta(days=400) + timedelta(seconds=aid)
            review_due = (now - timedelta(days=1 + aid % 300) if aid % step == 0
                          else now + timedelta(days=1 + aid % 365))
            author = authors[aid % len(authors)]
            rev_id = first_revision + aid - 1
            out["revisions"].append({
                "id": rev_id, "article_id": aid, "number": 1, "title": title, "body": body,
                "references": generate.REFS, "content_hash": content_hash(
                    title, body, generate.REFS),
                "author_id": author.id, "generator": None, "created_at": approved_at})
            out["articles"].append({
                "id": aid, "slug": f"{slugify(title)}-{aid}", "state": "approved",
                "version": 4, "author_id": author.id, "current_revision_id": rev_id,
                "approved_revision_id": rev_id, "review_due": review_due,
                "created_at": approved_at, "updated_at": approved_at,
                "submitted_at": approved_at, "published_at": approved_at})
        load(db, out)
    with db.engine.begin() as conn:
        if not sqlite:
            for table in ("articles", "revisions"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    if sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    db.dispose()
    return {"articles": articles, "seconds": round(time.perf_counter() - started, 1)}


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


def _sweep(url: str, code: str | None = None, workers: int | None = None) -> dict[str, Any]:
    """``review-flow sweep`` in a child process: wall time, its CPU (its workers' too),
    what it printed. ``workers``: its ``--workers`` (default: the command's own)."""
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": url,
           "PYTHONPATH": str(Path(code) / "src" if code else ROOT / "src"),
           "REVIEW_FLOW_SECRET_KEY": "bench"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from review_flow.cli import main; main()", "sweep",
         *(["--workers", str(workers)] if workers else [])],
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


_EXPAND = """
import json, sys, time
try:
    from review_flow.outbox.expand import expand_due
except ImportError:  # code from before the board's rows were expanded at delivery
    print("{}"); sys.exit(0)
from sqlalchemy import func, select
from review_flow.db import Database
from review_flow.outbox.models import OutboxMessage
from review_flow.timeutil import utcnow
db = Database(sys.argv[1])
def count(status):
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.status == status))
requests, before = count("to_expand"), count("pending")
cpu, started = time.process_time(), time.perf_counter()
done = 0
while True:
    n = expand_due(db, utcnow(), batch=5000)
    done += n
    if n < 5000:
        break
print(json.dumps({"seconds": round(time.perf_counter() - started, 2),
                  "cpu_seconds": round(time.process_time() - cpu, 2),
                  "requests": requests, "expanded": done,
                  "emails": count("pending") - before}))
"""


def _expand(url: str, code: str | None = None) -> dict[str, Any]:
    """The deliverer's expansion of the board's rows the sweep queued (nothing is sent)."""
    env = {**os.environ, "PYTHONPATH": str(Path(code) / "src" if code else ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", _EXPAND, url], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"expansion failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _ensure_database(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
        admin.dispose()


def _template(backend: str, keep: str, articles: int, due: int) -> tuple[str, dict[str, Any]]:
    """A built database kept for later runs (SQLite: a file in ``keep``; PostgreSQL: a
    database named after ``keep``), built the first time."""
    name = f"sweep-{articles}-{due}"
    if backend == "sqlite":
        path = Path(keep) / f"{name}.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists():
            return url, {"articles": articles, "seconds": 0}
        Path(keep).mkdir(parents=True, exist_ok=True)
        partial = f"sqlite:///{path}.partial"
        built = build(partial, articles, due)
        Path(f"{path}.partial").rename(path)
        return url, built
    db_name = f"rf_{Path(keep).name}_{articles}_{due}".replace("-", "_")
    url = make_url(PG_URL).set(database=db_name).render_as_string(hide_password=False)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": db_name})
    admin.dispose()
    if exists:
        return url, {"articles": articles, "seconds": 0}
    _ensure_database(url)
    return url, build(url, articles, due)


def _copy(backend: str, template: str, tmp: str) -> str:
    """A fresh copy of the kept database for one run (a sweep changes it)."""
    if backend == "sqlite":
        import shutil

        path = Path(tmp) / "sweep.sqlite3"
        shutil.copyfile(make_url(template).database or "", path)
        return f"sqlite:///{path}"
    url = make_url(PG_URL).set(database=f"rf_sweep_{uuid.uuid4().hex[:8]}")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE '
                          f'"{make_url(template).database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def run(backend: str, articles: int, due: int, keep: str | None = None,
        code: str | None = None, workers: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if keep:
            template, built = _template(backend, keep, articles, due)
            url = _copy(backend, template, tmp)
        elif backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'sweep.sqlite3'}"
        else:
            url = make_url(PG_URL).set(database=f"rf_sweep_{uuid.uuid4().hex[:8]}") \
                .render_as_string(hide_password=False)
        try:
            if not keep:
                _ensure_database(url)
                built = build(url, articles, due)
            due_now = _count_due(url)
            load_average = round(os.getloadavg()[0], 1)
            first = _sweep(url, code, workers)
            expand = _expand(url, code)
            second = _sweep(url, code, workers)
            result = {
                "backend": backend, "articles": built["articles"], "due": due_now,
                "build_seconds": built["seconds"], "load_average": load_average,
                "first": first, "second": second, "expand": expand,
                "code": code or "this checkout",
                "workers": workers or "default",
                # What each moved article cost beyond the start-up and the empty due query.
                "cpu_ms_per_moved": round((first["cpu_seconds"] - second["cpu_seconds"])
                                          / max(1, first["moved"]) * 1000, 2),
            }
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
    parser.add_argument("--keep", help="build the data once and keep it in this folder "
                        "(SQLite; PostgreSQL: a database named after it); each run sweeps "
                        "a fresh copy")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", help="also sweep with this checkout's code, interleaved "
                        "(needs --keep)")
    parser.add_argument("--workers", type=int, nargs="+", default=[None],
                        help="the command's --workers, one or several to compare "
                        "(interleaved); default: the command's own default")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    codes = [None] + ([args.compare] if args.compare else [])
    runs = [(b, c, w) for b in backends for _ in range(args.repeat) for c in codes
            for w in args.workers]
    for backend, code, workers in runs:  # interleaved: each meets the same machine
        result = run(backend, args.articles, args.due, args.keep, code, workers)
        print(json.dumps(result), flush=True)
        if result["first"]["moved"] != result["due"] or result["second"]["moved"] != 0:
            raise SystemExit(f"{backend}: moved {result['first']['moved']} of {result['due']} "
                             f"due, then {result['second']['moved']}")


if __name__ == "__main__":
    main()
