"""Benchmark: the Signatures report and the "not reviewed since" list (issue 12, 5 and 7).

Over a database built by ``bench/generate.py`` (100,000 articles, ~1,100,000 events by
default) this times what each page does with the database and in Python, ``--repeat``
times, and reports p50 / p95 / best in milliseconds:

- the Signatures report (``audit.signatures_report.page``, 51 rows, every one re-checked:
  revision text re-hashed, its signing event found and re-hashed, fields compared) for
  the first page and page 1,000 (the position of its 49,950th row, found once by OFFSET,
  untimed; the last full page when there are fewer), unfiltered and for one signer;
- the "not reviewed since" list (``audit.trail_reviews.not_reviewed_since``, 51 rows),
  first page and from mid-chain, with no trail review; then, inside a transaction
  rolled back at the end, after a time-range review of the oldest 90 % of the events and
  a review of every 100th article (first and second page, and "since" the 90 % mark);
- with ``--integrity``, one integrity run end to end (``integrity_jobs.start`` +
  ``execute``, as the page's thread does), with its wall time (this writes a run and two
  events to the database).

Run: ``.venv/bin/python bench/integrity_pages.py --url URL [--repeat R] [--integrity]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import func, select, text

from review_flow.articles.models import Article
from review_flow.audit import integrity_jobs, signatures_report, trail_reviews
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from review_flow.signatures.models import Decision
from review_flow.users.models import User

PAGE = 50


def _time(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm the caches once
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    runs.sort()
    p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
    return {"p50_ms": round(statistics.median(runs), 2), "p95_ms": round(p95, 2),
            "best_ms": round(runs[0], 2)}


def _deep(session: Any, signer: int | None) -> tuple[Any, int, int]:
    """The position ending page 999 (or the last full page of a smaller data set)."""
    stmt = select(Decision.signed_at, Decision.id).order_by(Decision.signed_at.desc(),
                                                           Decision.id.desc())
    count = select(func.count()).select_from(Decision)
    if signer is not None:
        stmt = stmt.where(Decision.reviewer_id == signer)
        count = count.where(Decision.reviewer_id == signer)
    depth = min(999 * PAGE, (session.scalar(count) or 0) - PAGE - 1)
    row = session.execute(stmt.offset(depth - 1).limit(1)).first() if depth > 0 else None
    return (row.signed_at, row.id, depth // PAGE + 1) if row else (None, 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--integrity", action="store_true")
    opts = parser.parse_args()
    db = Database(opts.url)
    out: dict[str, Any] = {"url": db.url.render_as_string(hide_password=True)}
    with db.reading() as session:
        out["articles"] = session.scalar(select(func.count()).select_from(Article))
        out["events"] = session.scalar(select(func.max(AuditEvent.seq)))
        out["signatures"] = session.scalar(select(func.count()).select_from(Decision))
        signer = session.scalar(select(Decision.reviewer_id).group_by(Decision.reviewer_id)
                                .order_by(func.count().desc()).limit(1))
        results = {}
        for name, f in (("all", signatures_report.SignatureFilter()),
                        ("one signer", signatures_report.SignatureFilter(signer=signer))):
            deep = _deep(session, f.signer)
            results[f"signatures {name}, first page"] = _time(
                lambda f=f: signatures_report.page(session, f, before=None,
                                                   limit=PAGE + 1), opts.repeat)
            if deep[0] is not None:
                results[f"signatures {name}, page {deep[2]:,}"] = _time(
                    lambda f=f, deep=deep: signatures_report.page(
                        session, f, before=(deep[0], deep[1]), limit=PAGE + 1), opts.repeat)
            rows = signatures_report.page(session, f, before=None, limit=PAGE + 1)
            assert all(r.ok for r in rows), [r.problems for r in rows if not r.ok][:3]
        mid = out["events"] // 2
        results["not reviewed (no reviews), first page"] = _time(
            lambda: trail_reviews.not_reviewed_since(session, None, limit=PAGE + 1),
            opts.repeat)
        results["not reviewed (no reviews), from mid-chain"] = _time(
            lambda: trail_reviews.not_reviewed_since(session, None, before=mid,
                                                     limit=PAGE + 1), opts.repeat)
    auditor = None
    with db.transaction() as session:
        auditor = session.scalar(select(User).where(User.email.like("%audit%")).limit(1)) \
            or session.scalar(select(User).limit(1))
        assert auditor is not None
        head = out["events"]
        cut = session.scalar(select(AuditEvent.at).where(AuditEvent.seq == head * 9 // 10))
        first = session.scalar(select(AuditEvent.at).where(AuditEvent.seq == 1))
        session.add(trail_reviews.TrailReview(
            reviewer_id=auditor.id, reviewer_name="bench", recorded_at=cut, article_id=None,
            since=first, until=cut, first_seq=1, last_seq=head * 9 // 10, comment="bench"))
        for aid in range(1, out["articles"] + 1, 100):
            session.add(trail_reviews.TrailReview(
                reviewer_id=auditor.id, reviewer_name="bench", recorded_at=cut,
                article_id=aid, first_seq=1, last_seq=head, comment="bench"))
        session.flush()
        # Statistics for the new rows (rolled back with them), as autovacuum would keep.
        session.execute(text("ANALYZE trail_reviews"))
        results["not reviewed (90 % range-reviewed), first page"] = _time(
            lambda: trail_reviews.not_reviewed_since(session, None, limit=PAGE + 1),
            opts.repeat)
        second = trail_reviews.not_reviewed_since(session, None, limit=PAGE + 1)
        results["not reviewed (90 % range-reviewed), second page"] = _time(
            lambda: trail_reviews.not_reviewed_since(session, None, before=second[-1].last_seq,
                                                     limit=PAGE + 1), opts.repeat)
        results["not reviewed since a date (last 10 %), first page"] = _time(
            lambda: trail_reviews.not_reviewed_since(session, cut, limit=PAGE + 1),
            opts.repeat)
        session.rollback()
    if opts.integrity:
        with db.transaction() as session:
            auditor_row = session.scalar(select(User).limit(1))
            assert auditor_row is not None
            auditor_row_roles = type("U", (), {"id": auditor_row.id, "name": "bench",
                                                "roles": frozenset({"auditor"})})
            run_id = integrity_jobs.start(session, auditor_row_roles, host="bench",
                                          pid=0).id
        t0 = time.perf_counter()
        integrity_jobs.execute(db, run_id)
        with db.reading() as session:
            run = session.get(integrity_jobs.IntegrityRun, run_id)
            assert run is not None
            results["integrity run (verify_all + checkpoints)"] = {
                "seconds": round(time.perf_counter() - t0, 2), "status": run.status,
                "events": run.events, "message": (run.message or "")[:200]}
    out["results"] = results
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
