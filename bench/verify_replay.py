"""Benchmark: the whole ``review-flow audit verify`` process over a full record (issue 8).

Writes a record the way the application would leave it, ten chained events per article
(create, submit, start review, request changes with a comment, edit, submit, start
review, approve with a signature, edit, submit: three revisions, one signature, one
comment each), straight into the tables (fast: rows and hashes computed here, loaded in
bulk with the guards off, the chain head set last). Then runs ``review-flow audit
verify`` as a separate process ``--repeat`` times, timing it from start to exit and
reading its peak memory (the largest resident set of it and its workers).

Run: ``.venv/bin/python bench/verify_replay.py [--articles 100000] [--backend sqlite]
[--repeat 3] [--keep DIR]``. 100,000 articles make 1,000,000 events and 300,000
revisions (about 2 minutes to write on SQLite). ``--keep DIR`` keeps the SQLite file in
DIR and reuses it on the next run; ``--src DIR`` verifies with another checkout's code
(``DIR/src`` first on ``PYTHONPATH``), for before/after figures on one database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import PG_URL
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from review_flow import migrate
from review_flow.articles.content_hash import content_hash
from review_flow.audit.chain import GENESIS_HASH, canonical_data, event_hash
from review_flow.audit.models import AuditChainHead
from review_flow.db import Database, make_engine
from review_flow.users import service as users
from review_flow.workflow.definition import ACTIONS_BY_NAME, WORKFLOW_VERSION

BODY = (
    "High blood pressure (hypertension) often has no symptoms, which is why it is called "
    "a silent condition [1]. Over years it damages the arteries, the heart and the "
    "kidneys. Measuring it regularly is the only way to know [2].\n\n"
    "## What the numbers mean\n\n"
    "A reading has two numbers: the pressure while the heart beats (systolic) and between "
    "beats (diastolic). Guidelines call 130/80 mmHg or more high for most adults [1].\n\n"
    "## What helps\n\n"
    "Less salt, more vegetables and fruit, regular exercise, limiting alcohol and not "
    "smoking all lower blood pressure. Many people also need medicine; which one depends "
    "on age, other conditions and side effects, and is a decision to make with a doctor "
    "who knows the whole picture [2].\n"
)
REFS = [
    {"title": "2017 ACC/AHA guideline for high blood pressure in adults",
     "doi": "10.1161/HYP.0000000000000065"},
    {"title": "MedlinePlus: high blood pressure",
     "url": "https://medlineplus.gov/highbloodpressure.html"},
]
APPROVE = ACTIONS_BY_NAME["approve"].signature_meaning


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Writer:
    """Rows for every table, with the chain computed as ``audit.log.record`` would."""

    def __init__(self, author: tuple[int, str], reviewer: tuple[int, str, str]) -> None:
        self.author, self.reviewer = author, reviewer
        self.seq, self.prev = 0, GENESIS_HASH
        self.t = datetime(2026, 1, 1, tzinfo=UTC)
        self.rows: dict[str, list[tuple]] = {
            k: [] for k in ("articles", "revisions", "decisions", "comments", "audit_events")}
        self.rev_id = self.decision_id = self.comment_id = 0

    def event(self, actor: tuple, action: str, aid: int, frm: str | None, to: str,
              rev: int, chash: str, data: dict, comment: str | None = None) -> str:
        self.seq += 1
        self.t += timedelta(milliseconds=7)
        at = _iso(self.t)
        values = (
            self.seq, at, actor[0], actor[1], action, "article", str(aid), aid, frm, to, rev,
            chash, comment, WORKFLOW_VERSION, None if action == "article.create" else 1,
            None, None, canonical_data(data),
        )
        h = event_hash(self.prev, values)
        self.rows["audit_events"].append((*values, self.prev, h))
        self.prev = h
        return at

    def revision(self, aid: int, number: int, at: str) -> tuple[int, str]:
        self.rev_id += 1
        title = f"High blood pressure, part {aid}"
        body = BODY + f"\nRevision {number} of article {aid}.\n"
        chash = content_hash(title, body, REFS)
        self.rows["revisions"].append(
            (self.rev_id, aid, number, title, body, json.dumps(REFS), chash, self.author[0],
             None, at))
        return self.rev_id, chash

    def article(self, aid: int) -> None:
        a, r = self.author, self.reviewer
        e = self.event
        created = _iso(self.t + timedelta(milliseconds=7))
        r1, h1 = self.revision(aid, 1, created)
        e(a, "article.create", aid, None, "draft", 1, h1, {"version": 1})
        e(a, "article.submit", aid, "draft", "submitted", 1, h1, {"version": 2})
        e(r, "article.start_review", aid, "submitted", "under_review", 1, h1, {"version": 3})
        note = "Please cite the newer trial."
        at = e(r, "article.request_changes", aid, "under_review", "changes_requested", 1, h1,
               {"version": 4}, note)
        self.comment_id += 1
        self.rows["comments"].append(
            (self.comment_id, aid, r1, r[0], "request_changes", note, at))
        r2, h2 = self.revision(aid, 2, _iso(self.t + timedelta(milliseconds=7)))
        e(a, "article.edit", aid, "changes_requested", "changes_requested", 2, h2,
          {"version": 5})
        e(a, "article.submit", aid, "changes_requested", "submitted", 2, h2, {"version": 6})
        e(r, "article.start_review", aid, "submitted", "under_review", 2, h2, {"version": 7})
        self.decision_id += 1
        signature = {"printed_name": r[1], "credentials": r[2], "meaning": APPROVE,
                     "decision_id": self.decision_id, "attestations": None}
        at = e(r, "article.approve", aid, "under_review", "approved", 2, h2,
               {"version": 8, "approvals": 1, "required_approvals": 1, "format": 2,
                "signature": signature})
        self.rows["decisions"].append(
            (self.decision_id, aid, r2, 2, h2, r[0], "approve", r[1], r[2], APPROVE, at, None,
             None, 1))
        r3, h3 = self.revision(aid, 3, _iso(self.t + timedelta(milliseconds=7)))
        e(a, "article.edit", aid, "approved", "draft", 3, h3, {"version": 9})
        at = e(a, "article.submit", aid, "draft", "submitted", 3, h3, {"version": 10})
        self.rows["articles"].append(
            (aid, f"article-{aid}", "submitted", 10, a[0], r3, r2, None, created, at, at))


COLUMNS = {
    "articles": "id, slug, state, version, author_id, current_revision_id, "
                "approved_revision_id, review_due, created_at, updated_at, submitted_at",
    "revisions": 'id, article_id, number, title, body, "references", content_hash, author_id, '
                 "generator, created_at",
    "decisions": "id, article_id, revision_id, revision_number, content_hash, reviewer_id, "
                 "kind, printed_name, credentials, meaning, signed_at, comment, attestations, "
                 "policy_version",
    "comments": "id, article_id, revision_id, author_id, kind, body, created_at",
    "audit_events": "seq, at, actor_id, actor_name, action, object_type, object_id, "
                    "article_id, from_state, to_state, revision, content_hash, comment, "
                    "workflow_version, policy_version, request_id, client_addr, data, "
                    "prev_hash, hash",
}


def _flush(raw, dialect: str, w: Writer) -> None:  # type: ignore[no-untyped-def]
    cur = raw.cursor()
    for table in ("revisions", "articles", "decisions", "comments", "audit_events"):
        rows = w.rows[table]
        if not rows:
            continue
        if dialect == "sqlite":
            marks = ", ".join("?" * len(rows[0]))
            cur.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", rows)
        else:
            with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        rows.clear()
    raw.commit()


def fill(db: Database, articles: int) -> int:
    with db.transaction() as s:
        a = users.add_user(s, email="author@example.org", name="Alex Author",
                           roles=("author",), password="bench-password-1")
        r = users.add_user(s, email="reed@example.org", name="Dr. Maya Reed",
                           roles=("reviewer",), password="bench-password-1",
                           credentials="MD, FACP")
        author, reviewer = (a.id, a.name), (r.id, r.name, r.credentials)
        head = s.execute(select(AuditChainHead.seq, AuditChainHead.hash, AuditChainHead.at)).one()
    w = Writer(author, reviewer)
    w.seq, w.prev = head.seq, head.hash
    w.t = max(w.t, head.at)  # times never go back along the chain (audit.log.record)
    dialect = db.engine.dialect.name
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if dialect == "sqlite":
            triggers = cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_events'").fetchall()
            for name, _ in triggers:
                cur.execute(f"DROP TRIGGER {name}")
            cur.execute("PRAGMA foreign_keys = OFF")  # rows go in table by table
            cur.execute("BEGIN")
        else:
            cur.execute("SET session_replication_role = replica")  # no triggers while loading
        for aid in range(1, articles + 1):
            w.article(aid)
            if aid % 2000 == 0:
                _flush(raw, dialect, w)
                if dialect == "sqlite":
                    cur.execute("BEGIN")
        _flush(raw, dialect, w)
        if dialect == "sqlite":
            cur.execute("BEGIN")
        last = _iso(w.t) if dialect == "sqlite" else w.t.isoformat()
        cur.execute(f"UPDATE audit_chain_head SET seq = {w.seq}, hash = '{w.prev}', "
                    f"at = '{last}' WHERE id = 1")
        if dialect == "sqlite":
            for _, sql in triggers:
                cur.execute(sql)
        else:
            for table in ("articles", "revisions", "decisions", "comments"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
        raw.commit()
        if dialect == "postgresql":
            driver = raw.driver_connection
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")
            driver.autocommit = False
        else:
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    return w.seq


def run_verify(url: str, src: str | None) -> tuple[float, int, str, float, float | None]:
    """One whole ``review-flow audit verify`` process: wall seconds, peak RSS in KiB of
    the largest process of it (``/usr/bin/time``: the verify and each worker are waited
    for), its output, the CPU seconds of it and its workers (steadier than the wall
    time on a shared machine), and the wall seconds before its first worker process
    started (None when it started none): the serial start-up, while one CPU idles."""
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": url, "REVIEW_FLOW_SECRET_KEY": "bench"}
    if src:
        env["PYTHONPATH"] = str(Path(src) / "src")
    exe = str(Path(sys.executable).with_name("review-flow"))
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "rusage %M %U %S", exe, "audit", "verify"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_worker = _first_worker_after(proc, start)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"verify failed: {stdout} {stderr}")
    line = next(x for x in stderr.splitlines() if x.startswith("rusage "))
    _, peak, user, system = line.split()
    return wall, int(peak), stdout.strip(), float(user) + float(system), first_worker


def _first_worker_after(proc: subprocess.Popen[str], start: float) -> float | None:
    """Seconds from ``start`` until a verify worker (``python -m review_flow.audit.…``)
    appears among the process's descendants, polled every millisecond through
    ``/proc/PID/task/*/children`` (Linux; every thread's, as the workers are started by
    threads); None if none appears before it exits."""
    while proc.poll() is None:
        pids, seen = [proc.pid], []
        while pids:
            pid = pids.pop()
            try:
                children = [c for t in Path(f"/proc/{pid}/task").glob("*/children")
                            for c in t.read_text().split()]
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            pids.extend(int(c) for c in children)
            seen.append(cmdline)
        if any(b"review_flow.audit." in c for c in seen):
            return time.perf_counter() - start
        time.sleep(0.001)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="SQLite: keep (and reuse) the database in this folder")
    parser.add_argument("--src", help="verify with the code of this checkout")
    parser.add_argument("--compare", help="also verify with this checkout's code, interleaved")
    parser.add_argument("--phases", action="store_true",
                        help="also the CPU of each phase alone, in one process (SQLite)")
    args = parser.parse_args()
    made = False
    if args.backend == "sqlite":
        folder = Path(args.keep or f"/tmp/rf-bench-{uuid.uuid4().hex[:8]}")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"record-{args.articles}.sqlite3"
        url = f"sqlite:///{path}"
        made = not path.exists()
    else:
        name = f"rf_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        made = True
    try:
        events = None
        if made:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            db = Database(url)
            start = time.perf_counter()
            events = fill(db, args.articles)
            print(f"wrote {events:,} events in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)
            db.dispose()
        codes = [args.src] + ([args.compare] if args.compare else [])
        by_code: dict[str | None, list] = {c: [] for c in codes}
        for _ in range(args.repeat):  # interleaved, so both meet the same machine
            for c in codes:
                by_code[c].append(run_verify(url, c))
        for code, runs in by_code.items():
            report(args, code, runs)
        if args.phases and args.backend == "sqlite":
            print(json.dumps(phases(url, path.parent)), flush=True)
    finally:
        if args.backend == "postgresql":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        elif not args.keep:
            for p in folder.glob("*"):
                p.unlink()
            folder.rmdir()


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def phases(url: str, folder: Path) -> dict[str, float]:
    """CPU seconds of each part of a verify, each alone in this process: the command's
    start-up (a whole ``audit verify`` of an empty database), the chain walk of every
    event, the replay (with the re-hash) of every article. What two CPUs could at best
    share between them is their sum."""
    from review_flow.audit import chainwalk, replay

    empty = folder / "empty.sqlite3"
    if not empty.exists():
        engine = make_engine(f"sqlite:///{empty}")
        migrate.upgrade(engine)
        engine.dispose()
    out: dict[str, float] = {}
    starts = [run_verify(f"sqlite:///{empty}", None)[3] for _ in range(3)]
    out["startup_cpu_s_min"] = round(min(starts), 2)
    conn = chainwalk.connect("sqlite", make_url(url).database or "")
    head = conn.execute("SELECT seq FROM audit_chain_head").fetchone()[0]
    start = _cpu()
    o = chainwalk.verify_range(conn, "sqlite", chainwalk.Range(1, head, head), None)
    out["chain_cpu_s"] = round(_cpu() - start, 2)
    assert o.failure is None and o.events == head, o
    lo, hi = replay.article_bounds(conn)
    start = _cpu()
    r = replay.replay_range(conn, "sqlite", lo, hi, head)
    out["replay_cpu_s"] = round(_cpu() - start, 2)
    assert r.failure is None, r.failure
    conn.close()
    out["sum_cpu_s"] = round(sum(out.values()), 2)
    out["load"] = round(os.getloadavg()[0], 2)
    return out


def report(args: argparse.Namespace, code: str | None, runs: list) -> None:
    """One JSON line for one code's runs."""
    if runs:
        message = runs[0][2]
        events = int(message.split()[1])
        walls = [r[0] for r in runs]
        print(json.dumps({
            "backend": args.backend,
            "articles": args.articles,
            "events": events,
            "best_s": round(min(walls), 2),
            "median_s": round(statistics.median(walls), 2),
            "best_events_per_s": round(events / min(walls)),
            "median_events_per_s": round(events / statistics.median(walls)),
            "peak_rss_mib": round(max(r[1] for r in runs) / 1024, 1),
            "cpu_s_of_best": round(min(runs)[3], 2),
            "cpu_s_all": [round(r[3], 2) for r in runs],
            "walls_s": [round(w, 2) for w in walls],
            "before_first_worker_s": [None if r[4] is None else round(r[4], 3) for r in runs],
            "events_per_cpu_s": round(events / min(r[3] for r in runs)),
            "cpus": os.cpu_count(),
            "load": round(os.getloadavg()[0], 2),
            "message": message,
            "code": code or "this checkout",
        }), flush=True)


if __name__ == "__main__":
    main()
