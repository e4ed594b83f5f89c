"""Benchmark: ``review-flow audit export`` at a million events (issue 12).

Builds (once, reused across runs) a log of ``--events`` chained events shaped like the
service's, 10 per article (created, submitted, reviewed, sent back with a comment, edited,
resubmitted, reviewed, approved with a signature in the data) plus sign-ins, times spread
evenly over two years: SQLite at /tmp/rf_export_bench.sqlite3, PostgreSQL in the database
``rf_export_bench``. Then runs the export command in a fresh process for each format and
filter, writing to /dev/null, and reports for each run the wall time, the process's CPU
time (user + system; the machine is shared, so CPU time is the steadier figure), events
per second of each, and the process's peak RSS. ``--code DIR`` runs another checkout's
``src`` (e.g. /work/main/src: the ORM export it replaces) against the same data.

Run: ``.venv/bin/python bench/export.py --backend sqlite|postgresql [--events N]
[--repeat R] [--code DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from review_flow import migrate  # noqa: E402
from review_flow.audit.chain import canonical_data, event_hash  # noqa: E402
from review_flow.audit.log import hashed_values  # noqa: E402
from review_flow.audit.models import AuditChainHead, AuditEvent  # noqa: E402
from review_flow.db import Database, make_engine  # noqa: E402
from review_flow.users import service as users  # noqa: E402
from review_flow.users.models import User  # noqa: E402

SQLITE_URL = "sqlite:////tmp/rf_export_bench.sqlite3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rf_export_bench"
STORY = [  # (action, from, to, comment?)
    ("article.create", None, "draft", None),
    ("article.submit", "draft", "submitted", None),
    ("article.start_review", "submitted", "under_review", None),
    ("article.request_changes", "under_review", "changes_requested",
     "Please cite the 2017 guideline and say what \"low sodium\" means, in mg."),
    ("article.edit", "changes_requested", "changes_requested", None),
    ("article.submit", "changes_requested", "submitted", None),
    ("article.start_review", "submitted", "under_review", None),
    ("article.approve", "under_review", "approved", None),
    ("auth.sign_in", None, None, None),
    ("auth.sign_in", None, None, None),
]
PASSWORD = "bench password 1"
COLUMNS = [c.name for c in AuditEvent.__table__.columns]


def _events(n: int, first_seq: int, prev: str, start: datetime, step: timedelta) -> Any:
    """``n`` chained events after (first_seq - 1, prev), as column dicts."""
    rng = random.Random(first_seq)
    for i in range(n):
        seq = first_seq + i
        article = (seq - 1) // len(STORY) + 1
        action, from_state, to_state, comment = STORY[(seq - 1) % len(STORY)]
        reviewer = 2 + rng.randrange(40)
        actor = reviewer if action in ("article.start_review", "article.request_changes",
                                       "article.approve") else 1
        revision = 1 if (seq - 1) % len(STORY) < 4 else 2
        data: dict[str, Any] = {"version": (seq - 1) % len(STORY) + 1}
        if action == "article.approve":
            data.update(approvals=1, required_approvals=1, format=2, signature={
                "printed_name": f"Dr. Reviewer {reviewer}", "credentials": "MD, FACP",
                "meaning": "I approve this revision as medically accurate",
                "decision_id": article, "attestations": {"checklist": True,
                                                        "references_verified": True}})
        sign_in = action.startswith("auth.")
        e = AuditEvent(
            seq=seq, at=start + step * seq, actor_id=actor,
            actor_name="Alex Author" if actor == 1 else f"Dr. Reviewer {reviewer}",
            action=action, object_type="user" if sign_in else "article",
            object_id=str(actor if sign_in else article),
            article_id=None if sign_in else article, from_state=from_state,
            to_state=to_state, revision=None if sign_in else revision,
            content_hash=None if sign_in else "sha256:" + f"{article:064x}",
            comment=comment, workflow_version=None if sign_in else "default/1",
            policy_version=None if sign_in else 1, request_id=f"{rng.getrandbits(128):032x}",
            client_addr=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            data_json=canonical_data(data), prev_hash=prev)
        e.hash = event_hash(prev, hashed_values(e))
        prev = e.hash
        yield e


def build(url: str, events: int) -> None:
    """Migrate and fill the database up to ``events`` events (once; then reused)."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": u.database}):
                conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        people = conn.scalar(select(func.count()).select_from(User)) or 0
    if not people:  # the author (id 1) and 40 reviewers the events name
        db = Database(url)
        # Dated before the bulk events: times never go back along the chain (verify
        # checks it, and ``--since`` seeks by it).
        from review_flow.audit import log as audit_log
        when = datetime.now(UTC) - timedelta(days=731)
        audit_log.utcnow = lambda: when  # type: ignore[assignment]
        with db.transaction() as s:
            users.add_user(s, email="author@example.org", name="Alex Author",
                           roles=["author"], password=PASSWORD)
            for i in range(2, 42):
                users.add_user(s, email=f"reviewer{i}@example.org", name=f"Dr. Reviewer {i}",
                               roles=["reviewer"], password=PASSWORD, credentials="MD, FACP")
        db.dispose()
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(AuditEvent)) or 0
        head = conn.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one()
    if have >= events:
        engine.dispose()
        return
    print(f"building {events - have} events in {url} ...", file=sys.stderr)
    t0 = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / events
    rows = _events(events - have, head.seq + 1, head.hash, start, step)
    chunk = 20_000
    pg = engine.dialect.name == "postgresql"
    last = None
    triggers: list[tuple[str, str]] = []
    if not pg:  # the chain triggers off for the load (rows are chained here); head last
        with engine.begin() as conn:
            triggers = [tuple(r) for r in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_events'")]
            for name, _ in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
    while True:
        batch = [e for _, e in zip(range(chunk), rows, strict=False)]
        if not batch:
            break
        last = batch[-1]
        with engine.begin() as conn:
            if pg:  # COPY, chain trigger off for the load; the head is set at the end
                conn.exec_driver_sql("SET session_replication_role = replica")
                raw = conn.connection.driver_connection
                with raw.cursor() as cur, cur.copy(
                        f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for e in batch:
                        copy.write_row([getattr(e, "data_json" if c == "data" else c)
                                        for c in COLUMNS])
            else:
                conn.execute(AuditEvent.__table__.insert(), [
                    {c: getattr(e, "data_json" if c == "data" else c) for c in COLUMNS}
                    for e in batch])
        print(f"  {last.seq} events", file=sys.stderr)
    if pg and last is not None:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(
                seq=last.seq, hash=last.hash, at=last.at))
    if not pg:
        with engine.begin() as conn:
            if last is not None:
                conn.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(
                    seq=last.seq, hash=last.hash, at=last.at))
            for _, sql in triggers:
                conn.exec_driver_sql(sql)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if pg else "ANALYZE")
    engine.dispose()
    print(f"built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def run_export(url: str, code: Path, args: list[str]) -> dict[str, Any]:
    """One export in a fresh process, its output thrown away: wall, CPU, peak RSS, as
    GNU time reports them for that process alone (a forked child's own high-water mark
    would include this process's memory from before its exec)."""
    env = {**os.environ, "PYTHONPATH": str(code), "REVIEW_FLOW_DATABASE_URL": url,
           "REVIEW_FLOW_SECRET_KEY": "bench"}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name, sys.executable,
               "-c", "import sys; from review_flow.cli import main; "
               "sys.argv[0] = 'review-flow'; main()", "audit", "export", *args]
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        wall, user, system, rss_kb = report.read().split()[-4:]
    return {"wall_s": float(wall), "cpu_s": float(user) + float(system),
            "peak_rss_mb": int(rss_kb) / 1024}


def count(url: str, code: Path, args: list[str]) -> int:
    """Events an export holds (lines, less the CSV header)."""
    env = {**os.environ, "PYTHONPATH": str(code), "REVIEW_FLOW_DATABASE_URL": url,
           "REVIEW_FLOW_SECRET_KEY": "bench"}
    cmd = [sys.executable, "-c", "import sys; from review_flow.cli import main; "
           "sys.argv[0] = 'review-flow'; main()", "audit", "export", *args]
    lines = 0
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
    if proc.returncode:
        raise SystemExit(f"{cmd} failed ({proc.returncode})")
    return lines - 1 if "csv" in args else lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT / "src")
    parser.add_argument("--only", help="run only the case of this name")
    opts = parser.parse_args()
    url = SQLITE_URL if opts.backend == "sqlite" else PG_URL
    build(url, opts.events)
    since = (datetime.now(UTC) - timedelta(days=73)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = {
        "all, csv": ["--format", "csv"],
        "all, jsonl": ["--format", "jsonl"],
        "one article, csv": ["--format", "csv", "--article", "4242"],
        "one article, jsonl": ["--format", "jsonl", "--article", "4242"],
        "action=article.approve, csv": ["--format", "csv", "--action", "article.approve"],
        "since (last 10 %), jsonl": ["--format", "jsonl", "--since", since],
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(AuditEvent))
    engine.dispose()
    results = []
    for name, args in cases.items():
        if opts.only and opts.only != name:
            continue
        events = count(url, opts.code, args)
        runs = [run_export(url, opts.code, args) for _ in range(opts.repeat)]
        best = min(runs, key=lambda r: r["wall_s"])
        cpu = min(r["cpu_s"] for r in runs)
        results.append({
            "case": name, "events": events, "best_wall_s": round(best["wall_s"], 2),
            "events_per_s_wall": round(events / best["wall_s"]),
            "best_cpu_s": round(cpu, 2), "events_per_cpu_s": round(events / cpu),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1)})
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"backend": opts.backend, "log_events": total, "code": str(opts.code),
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
