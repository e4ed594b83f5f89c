"""``review-flow audit verify``: walk the chain and name the first event that breaks it.

Catches an edited event (its hash no longer matches), a deleted or inserted one (a gap
in the sequence or a broken ``prev_hash`` link), reordering (both), and a truncated end
(the chain head disagrees). Also re-checks every revision's content hash and every
signature's binding to its revision. Streams rows: memory stays flat for any log size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from review_flow.articles.content import content_hash
from review_flow.articles.models import Revision
from review_flow.audit import chainwalk
from review_flow.audit.chain import GENESIS_HASH
from review_flow.audit.chainwalk import Progress, Range, RangeOutcome, VerifyResult
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.signatures.models import Decision

__all__ = ["VerifyResult", "count_events", "verify_chain", "verify_revisions"]


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _split(last: int, parts: int) -> list[Range]:
    size = -(-last // parts)
    return [Range(lo, min(lo + size - 1, last)) for lo in range(1, last + 1, size)]


def _driver_dsn(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run_parallel(url: URL, ranges: list[Range], progress: Progress | None) -> list[RangeOutcome]:
    """Verify each range in its own process (``python -m review_flow.audit.chainwalk``):
    a plain interpreter that imports only the hash and the driver, so it starts fast."""
    dialect = url.get_backend_name()
    env = {**os.environ, chainwalk.DSN_ENV: _driver_dsn(url)}
    lock = threading.Lock()
    outcomes: list[RangeOutcome] = []
    errors: list[str] = []

    def run(rng: Range) -> None:
        cmd = [
            sys.executable,
            "-m",
            "review_flow.audit.chainwalk",
            dialect,
            str(rng.first),
            str(rng.last),
        ]
        with subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                kind, _, rest = line.partition(" ")
                if kind == "progress" and progress is not None:
                    with lock:
                        progress(int(rest))
                elif kind == "result":
                    r = json.loads(rest)
                    failure = r["failure"]
                    outcomes.append(
                        RangeOutcome(
                            r["first"],
                            None if failure is None else VerifyResult(False, 0, *failure),
                            r["events"],
                            r["last_hash"],
                        )
                    )
            stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0:
            errors.append(f"verify worker for events {rng.first}..{rng.last} failed: {stderr}")

    threads = [threading.Thread(target=run, args=(r,)) for r in ranges]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors or len(outcomes) != len(ranges):
        raise RuntimeError("; ".join(errors) or "a verify worker gave no result")
    return outcomes


# Below this many events one process is quicker than starting workers.
PARALLEL_THRESHOLD = 50_000


def verify_chain(
    session: Session, progress: Progress | None = None, workers: int | None = None
) -> VerifyResult:
    """Verify every event up to the chain head; several processes for a large log.

    The head and the highest stored sequence are read in one statement, so events that
    the application appends meanwhile are neither verified nor mistaken for forgeries.
    """
    conn = session.connection()
    head = conn.execute(
        select(
            AuditChainHead.seq,
            AuditChainHead.hash,
            select(func.max(AuditEvent.seq)).scalar_subquery(),
        )
    ).one_or_none()
    if head is None:
        return VerifyResult(False, 0, "the chain head is missing", None)
    head_seq, head_hash, max_seq = head[0], head[1], head[2] or 0
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if head_seq >= PARALLEL_THRESHOLD else 1
    ranges = _split(head_seq, max(1, workers)) if head_seq else [Range(1, 0)]
    if len(ranges) == 1:
        raw = conn.connection.driver_connection
        outcomes = [chainwalk.verify_range(raw, conn.dialect.name, ranges[0], progress)]
    else:
        outcomes = _run_parallel(session.get_bind().url, ranges, progress)
    outcomes.sort(key=lambda o: o.first)
    events = sum(o.events for o in outcomes)
    for o in outcomes:
        if o.failure is not None:
            o.failure.events = events
            return o.failure
    if max_seq > head_seq:
        return VerifyResult(
            False,
            events,
            f"event {head_seq + 1}: beyond the chain head, which records event {head_seq} "
            "(events appended outside the application)",
            head_seq + 1,
        )
    last_hash = outcomes[-1].last_hash if head_seq else GENESIS_HASH
    if last_hash != head_hash:
        return VerifyResult(
            False,
            events,
            f"event {head_seq}: its hash differs from the one the chain head records",
            head_seq,
        )
    return VerifyResult(True, events, f"OK: {events} events verified (head {head_hash})")


def verify_revisions(session: Session) -> VerifyResult:
    """Every revision's text still hashes to its content hash; every signature still
    names its revision's hash."""
    n = 0
    stmt = (
        select(
            Revision.article_id,
            Revision.number,
            Revision.title,
            Revision.body,
            Revision.references,
            Revision.content_hash,
        )
        .order_by(Revision.id)
        .execution_options(yield_per=1000)
    )
    result = session.execute(stmt)
    try:
        for rev in result:
            if content_hash(rev.title, rev.body, rev.references) != rev.content_hash:
                return VerifyResult(
                    False,
                    n,
                    f"revision {rev.number} of article {rev.article_id}: its text does not match "
                    f"its content hash (altered after it was saved)",
                )
            n += 1
    finally:
        result.close()
    moved = session.execute(
        select(Decision.id, Decision.article_id, Decision.revision_number)
        .join(Revision, Revision.id == Decision.revision_id)
        .where(Revision.content_hash != Decision.content_hash)
        .order_by(Decision.id)
        .limit(1)
    ).first()
    if moved is not None:
        return VerifyResult(
            False,
            n,
            f"signature {moved.id} on article {moved.article_id}: it names a content hash other "
            f"than its revision {moved.revision_number}'s",
        )
    return VerifyResult(True, n, f"{n} revisions verified")
