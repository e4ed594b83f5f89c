"""``review-flow audit verify``: walk the chain and name the first event that breaks it.

Catches an edited event (its hash no longer matches), a deleted or inserted one (a gap
in the sequence or a broken ``prev_hash`` link), reordering (both), a truncated end
(the chain head disagrees), and an event dated before the one preceding it (from the
head's ``ordered_from`` on; older ones, written before times were kept in order, are
counted and named in the answer, not failed). Also re-checks every revision's content hash and every
signature's binding to its revision. Streams rows: memory stays flat for any log size.

A large log is verified by this process and worker processes at once, in ranges handed
out in order; each range is checked against the event before it, so the answer (event,
message and count) is exactly the one a single pass gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from review_flow.audit import chainwalk, replay
from review_flow.audit.chain import GENESIS_HASH
from review_flow.audit.chainwalk import Range, RangeOutcome

# SQLAlchemy and the models are imported by the functions that take a session: run as
# ``review-flow`` on SQLite, the command verifies on a driver connection without them
# (``open_sqlite_snapshot``), so its workers start a few tenths of a second sooner.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from sqlalchemy.engine import URL
    from sqlalchemy.orm import Session

    from review_flow.audit.chainwalk import Progress

# The chain head and the highest stored sequence, in one statement (see ``verify_chain``).
HEAD_SQL = (
    "SELECT seq, hash, (SELECT max(seq) FROM audit_events), ordered_from FROM audit_chain_head"
)
HeadRow = tuple[int, str, int, int]

__all__ = [
    "VerifyResult",
    "count_events",
    "head_seq",
    "verify_all",
    "verify_chain",
    "verify_replay",
    "verify_revisions",
]


@dataclass
class VerifyResult:
    ok: bool
    events: int
    message: str
    bad_seq: int | None = None


def count_events(session: Session) -> int:
    from sqlalchemy import func, select

    from review_flow.audit.models import AuditEvent

    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def head_seq(session: Session) -> int:
    """The events a verify walks (the chain head's count): one row read, where counting
    the events scans an index before any checking starts."""
    from sqlalchemy import select

    from review_flow.audit.models import AuditChainHead

    return session.scalar(select(AuditChainHead.seq)) or 0


# Below this many events one process is quicker than starting workers.
PARALLEL_THRESHOLD = 50_000
# The smallest range handed out (when the chain is long enough): about 10 ms of work,
# enough to make a range's own query negligible.
MIN_CHUNK = 2_000


class _Chunks:
    """Hands out the chain as ranges, in order, each smaller than the one before
    ("guided" scheduling): large ranges while every process is busy, small ones at the
    end, so the processes finish together even when a worker starts late or shares its
    CPU with other work. A range is claimed under a lock; stopping (on a failure) hands
    out nothing more, and every range before the failing one is already claimed."""

    def __init__(self, head: int, participants: int, ordered_from: int = 1) -> None:
        self.head = head
        self.ordered_from = ordered_from
        self.next = 1
        self.share = 2 * participants
        # Never smaller than an even split: a short chain still gives each process a range.
        self.smallest = min(MIN_CHUNK, -(-head // participants))
        self.stopped = False
        self.lock = threading.Lock()

    def claim(self) -> Range | None:
        with self.lock:
            if self.stopped or self.next > self.head:
                return None
            remaining = self.head - self.next + 1
            size = max(-(-remaining // self.share), self.smallest)
            rng = Range(
                self.next, min(self.next + size - 1, self.head), self.head, self.ordered_from
            )
            self.next = rng.last + 1
            return rng

    def stop(self) -> None:
        with self.lock:
            self.stopped = True


def default_workers(url: URL) -> int:
    """Processes for a large verify: one per CPU (at most 8), whatever the database.
    With PostgreSQL on the same two CPUs, two processes verified 1.1 million events in
    5.2 to 5.4 s against 7.8 to 8.3 s for one on a quiet machine (docs/PERFORMANCE.md, issue 8,
    "Quiet machine"): the server's share of the work overlaps the client's."""
    return _default_workers(url.get_backend_name(), url.host)


def default_sqlite_workers() -> int:
    """``default_workers`` for a SQLite file, without its URL."""
    return _default_workers("sqlite", None)


def _default_workers(dialect: str, host: str | None) -> int:
    return max(min(os.cpu_count() or 1, 8), 1)


def _driver_dsn(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Parallel:
    """One verify spread over this process and ``participants - 1`` worker processes
    (``python -m review_flow.audit.chainwalk``: a plain interpreter importing only the
    hash and the driver). This process verifies ranges on its own connection meanwhile,
    so no CPU waits on a worker's start-up, and it costs one process start fewer."""

    def __init__(
        self, head: int, participants: int, progress: Progress | None, ordered_from: int = 1
    ) -> None:
        self.chunks = _Chunks(head, participants, ordered_from)
        self.participants = participants
        self.lock = threading.Lock()
        self.outcomes: list[RangeOutcome] = []
        self.errors: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []
        self.progress = progress
        self.tick: Progress | None = self._tick if progress is not None else None

    def _tick(self, k: int) -> None:
        assert self.progress is not None
        with self.lock:  # called from this thread and from worker-reading threads
            self.progress(k)

    def _record(self, outcome: RangeOutcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)
        if outcome.failure is not None:
            self.chunks.stop()  # later ranges cannot change the answer

    def run(self, raw: Any, dialect: str, dsn: str) -> list[RangeOutcome]:
        mine = self.chunks.claim()  # claimed first: ranges are handed out in this order
        firsts = [self.chunks.claim() for _ in range(self.participants - 1)]
        env = {**os.environ, chainwalk.DSN_ENV: dsn}
        threads = [
            threading.Thread(target=self._drive, args=(dialect, env, rng), daemon=True)
            for rng in firsts
            if rng is not None
        ]
        for t in threads:
            t.start()
        try:
            rng = mine
            while rng is not None:
                self._record(chainwalk.verify_range(raw, dialect, rng, self.tick))
                rng = self.chunks.claim()
        except BaseException:  # e.g. Ctrl-C: do not wait for the workers' ranges
            self.chunks.stop()
            for proc in self.procs:
                proc.kill()
            raise
        finally:
            for t in threads:
                t.join()
        if self.errors:
            raise RuntimeError("; ".join(self.errors))
        return self.outcomes

    def _drive(self, dialect: str, env: dict[str, str], first: Range) -> None:
        """Feed one worker ranges and collect its outcomes. Two ranges are kept in its
        queue once it is ready, so it never waits for this thread to be scheduled."""
        cmd = [sys.executable, "-m", "review_flow.audit.chainwalk", dialect]
        if self.tick is not None:
            cmd.append("progress")
        pending: list[Range] = []
        with subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            self.procs.append(proc)
            assert proc.stdin is not None and proc.stdout is not None
            stdin = proc.stdin

            def send(rng: Range | None) -> None:
                if rng is not None:
                    pending.append(rng)
                    stdin.write(f"{rng.first} {rng.last} {rng.head} {rng.ordered_from}\n")
                    stdin.flush()
                elif not pending and not stdin.closed:
                    stdin.close()  # nothing left: the worker exits

            try:
                send(first)
                for line in proc.stdout:
                    kind, _, rest = line.rstrip("\n").partition(" ")
                    if kind == "progress":
                        if self.tick is not None:
                            self.tick(int(rest))
                        continue
                    if kind == "result":
                        r = json.loads(rest)
                        failure, back = r["failure"], r["back"]
                        done = pending.pop(0)
                        assert r["first"] == done.first, (r, done)
                        self._record(
                            RangeOutcome(
                                r["first"],
                                None if failure is None else (failure[0], failure[1]),
                                r["events"],
                                r["last_hash"],
                                None if back is None else (back[0], back[1]),
                            )
                        )
                    if kind in ("ready", "result"):
                        send(self.chunks.claim())
            except BaseException as exc:  # the worker died mid-write, or progress raised
                self.errors.append(f"verify worker: {exc!r}")
                self.chunks.stop()
                proc.kill()
            stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0 or pending:
            self.chunks.stop()
            unfinished = ", ".join(f"{r.first}..{r.last}" for r in pending)
            self.errors.append(
                f"verify worker (events {unfinished or 'none'}) exited {proc.returncode}: "
                f"{stderr.strip()}"
            )


def verify_chain(
    session: Session, progress: Progress | None = None, workers: int | None = None
) -> VerifyResult:
    """Verify every event up to the chain head; several processes for a large log.

    The head and the highest stored sequence are read in one statement, so events that
    the application appends meanwhile are neither verified nor mistaken for forgeries.
    """
    conn = session.connection()
    url = session.get_bind().engine.url
    raw = conn.connection.driver_connection
    head = _head_of(session)
    if head is None:
        return VerifyResult(False, 0, "the chain head is missing", None)
    if workers is None:
        workers = default_workers(url) if head[0] >= PARALLEL_THRESHOLD else 1
    return _walk(raw, conn.dialect.name, _driver_dsn(url), head, progress, workers)


def _head_of(session: Session) -> HeadRow | None:
    from sqlalchemy import func, select

    from review_flow.audit.models import AuditChainHead, AuditEvent

    row = session.connection().execute(
        select(
            AuditChainHead.seq,
            AuditChainHead.hash,
            select(func.max(AuditEvent.seq)).scalar_subquery(),
            AuditChainHead.ordered_from,
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2] or 0, row[3])


def _walk(
    raw: Any, dialect: str, dsn: str, head: HeadRow, progress: Progress | None, workers: int
) -> VerifyResult:
    """The chain walk up to ``head`` (read in this connection's snapshot)."""
    head_seq, head_hash, max_seq, ordered_from = head
    if workers > 1 and head_seq > 1:
        outcomes = _Parallel(head_seq, workers, progress, ordered_from).run(raw, dialect, dsn)
    else:
        rng = Range(1, head_seq, head_seq, ordered_from)
        outcomes = [chainwalk.verify_range(raw, dialect, rng, progress)]
    return combine(outcomes, head_seq, head_hash, max_seq, ordered_from)


def combine(
    outcomes: list[RangeOutcome],
    head_seq: int,
    head_hash: str,
    max_seq: int,
    ordered_from: int = 1,
) -> VerifyResult:
    """One answer from the ranges' outcomes: the first failure in chain order, counting
    the events verified before it, exactly as one pass over the whole chain reports it;
    else the checks against the chain head."""
    events = 0
    back: tuple[int, int] | None = None
    for o in sorted(outcomes, key=lambda o: o.first):
        if o.first != events + 1:  # a range lost: never report a chain as verified then
            raise RuntimeError(f"audit verify: events {events + 1}..{o.first - 1} not checked")
        events += o.events
        if o.failure is not None:
            return VerifyResult(False, events, o.failure[0], o.failure[1])
        back = chainwalk.merge_back(back, o.back)
    if events != head_seq:
        raise RuntimeError(f"audit verify: events {events + 1}..{head_seq} not checked")
    if max_seq > head_seq:
        return VerifyResult(
            False,
            events,
            f"event {head_seq + 1}: beyond the chain head, which records event {head_seq} "
            "(events appended outside the application)",
            head_seq + 1,
        )
    last_hash = max(outcomes, key=lambda o: o.first).last_hash if head_seq else GENESIS_HASH
    if last_hash != head_hash:
        return VerifyResult(
            False,
            events,
            f"event {head_seq}: its hash differs from the one the chain head records",
            head_seq,
        )
    message = f"OK: {events} events verified (head {head_hash})"
    if back is not None:
        message += (
            f" (note: {back[1]} of the events before event {ordered_from}, written before "
            f"times were kept in chain order, are dated before the event preceding them; "
            f"the first is event {back[0]})"
        )
    return VerifyResult(True, events, message)


def verify_revisions(session: Session) -> VerifyResult:
    """Every revision's text still hashes to its content hash; every signature still
    names its revision's hash."""
    from sqlalchemy import select

    from review_flow.articles.content_hash import content_hash
    from review_flow.articles.models import Revision
    from review_flow.signatures.models import Decision

    n = 0
    stmt = (
        select(
            Revision.article_id,
            Revision.number,
            Revision.title,
            Revision.body,
            Revision.references,
            Revision.content_hash,
            Revision.professional_body,
        )
        .order_by(Revision.id)
        .execution_options(yield_per=1000)
    )
    result = session.execute(stmt)
    try:
        for rev in result:
            if (content_hash(rev.title, rev.body, rev.references, rev.professional_body)
                    != rev.content_hash):
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


# --- replaying the chain against the tables ----------------------------------------------

# Article ids per range handed to a replay worker (about 50 ms of work each).
REPLAY_CHUNK = 2_000


@dataclass
class ReplayResult:
    ok: bool
    articles: int
    revisions: int
    message: str
    failure: replay.Disagreement | None = None


def _replay_outcomes_to_result(outcomes: list[replay.ReplayOutcome]) -> ReplayResult:
    articles = revisions = 0
    for o in sorted(outcomes, key=lambda o: o.lo):
        articles += o.articles
        revisions += o.revisions
        if o.failure is not None:
            return ReplayResult(False, articles, revisions, o.failure.message, o.failure)
    return ReplayResult(
        True,
        articles,
        revisions,
        f"{articles} articles replayed against the tables, {revisions} revisions re-hashed",
    )


class _ReplayPool:
    """Replay workers (``python -m review_flow.audit.replay``), started before the chain
    walk so both run at once. Article ranges are handed out in order; a range that finds
    a disagreement stops the hand-out (ranges before it are already out, so the first
    disagreement in article order is still the one reported)."""

    def __init__(
        self, dialect: str, dsn: str, head: int, bounds: tuple[int, int], workers: int
    ) -> None:
        self.lock = threading.Lock()
        self.next, self.hi = bounds
        self.stopped = False
        self.outcomes: list[replay.ReplayOutcome] = []
        self.errors: list[str] = []
        env = {**os.environ, replay.DSN_ENV: dsn}
        cmd = [sys.executable, "-m", "review_flow.audit.replay", dialect, str(head)]
        self.threads = [
            threading.Thread(target=self._drive, args=(cmd, env), daemon=True)
            for _ in range(workers)
        ]
        for t in self.threads:
            t.start()

    def _claim(self) -> tuple[int, int] | None:
        with self.lock:
            if self.stopped or self.next > self.hi:
                return None
            lo = self.next
            self.next = lo + REPLAY_CHUNK
            return lo, min(lo + REPLAY_CHUNK - 1, self.hi)

    def _drive(self, cmd: list[str], env: dict[str, str]) -> None:
        pending: list[tuple[int, int]] = []
        with subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            stdin = proc.stdin

            def send() -> None:
                rng = self._claim()
                if rng is not None:
                    pending.append(rng)
                    stdin.write(f"{rng[0]} {rng[1]}\n")
                    stdin.flush()
                elif not pending and not stdin.closed:
                    stdin.close()

            try:
                for line in proc.stdout:
                    kind, _, rest = line.rstrip("\n").partition(" ")
                    if kind == "ready":
                        send()
                        send()  # two in its queue: it never waits for this thread
                        continue
                    r = json.loads(rest)
                    pending.pop(0)
                    o = replay.ReplayOutcome(r["lo"])
                    o.articles, o.events, o.revisions = r["articles"], r["events"], r["revisions"]
                    if r["failure"] is not None:
                        o.failure = replay.Disagreement(*r["failure"])
                    with self.lock:
                        self.outcomes.append(o)
                        if o.failure is not None:
                            self.stopped = True
                    send()
            except BaseException as exc:
                self.errors.append(f"replay worker: {exc!r}")
                proc.kill()
            stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0 or pending:
            with self.lock:
                self.stopped = True
            self.errors.append(f"replay worker exited {proc.returncode}: {stderr.strip()}")

    def result(self) -> ReplayResult:
        for t in self.threads:
            t.join()
        if self.errors:
            raise RuntimeError("; ".join(self.errors))
        outcomes = sorted(self.outcomes, key=lambda o: o.lo)
        # Every range up to the first failure must have come back.
        expected = None
        for o in outcomes:
            if expected is not None and o.lo != expected:
                raise RuntimeError(f"audit verify: articles {expected}..{o.lo - 1} not replayed")
            expected = o.lo + REPLAY_CHUNK
            if o.failure is not None:
                break
        return _replay_outcomes_to_result(outcomes)


def verify_replay(session: Session, head: int) -> ReplayResult:
    """Replay every article's events (up to event ``head``) in this process."""
    conn = session.connection()
    return _replay_here(conn.connection.driver_connection, conn.dialect.name, head)


def _replay_here(raw: Any, dialect: str, head: int) -> ReplayResult:
    lo, hi = replay.article_bounds(raw)
    if hi == 0:
        return _replay_outcomes_to_result([])
    return _replay_outcomes_to_result([replay.replay_range(raw, dialect, lo, hi, head)])


def begin_snapshot(session: Session) -> None:
    """Begin the session's transaction as one snapshot (PostgreSQL: REPEATABLE READ), so
    the chain head and every table the replay reads in this process agree, and an action
    committed meanwhile is neither half seen nor taken for a forgery. SQLite's read
    transaction is one snapshot already; a session already in a transaction keeps it."""
    backend = session.get_bind().engine.url.get_backend_name()
    if backend == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify_all(
    session: Session, progress: Progress | None = None, workers: int | None = None
) -> VerifyResult:
    """What ``review-flow audit verify`` proves: the chain is intact, and every table the
    public page trusts agrees with what the chain says (:mod:`review_flow.audit.replay`).

    A large log runs the replay in worker processes while this process walks the chain.
    A broken chain is named first: the replay means nothing over forged events.
    """
    url = session.get_bind().engine.url
    begin_snapshot(session)
    conn = session.connection()
    head = _head_of(session)
    if workers is None:
        workers = default_workers(url) if head and head[0] >= PARALLEL_THRESHOLD else 1
    raw = conn.connection.driver_connection
    return verify_snapshot(raw, conn.dialect.name, _driver_dsn(url), head, progress, workers)


def verify_snapshot(
    raw: Any,
    dialect: str,
    dsn: str,
    head: HeadRow | None,
    progress: Progress | None = None,
    workers: int = 1,
) -> VerifyResult:
    """``verify_all`` on a driver connection whose snapshot ``head`` was read in; ``dsn``
    is the database as the workers' driver names it."""
    if head is None:
        return VerifyResult(False, 0, "the chain head is missing", None)
    pool = None
    if workers > 1:
        bounds = replay.article_bounds(raw)
        if bounds[1]:
            pool = _ReplayPool(dialect, dsn, head[0], bounds, workers)
    chain_result = _walk(raw, dialect, dsn, head, progress, workers)
    replayed: ReplayResult | None = None
    if pool is not None:
        with pool.lock:
            if not chain_result.ok:
                pool.stopped = True
        try:
            replayed = pool.result()
        except RuntimeError:
            if chain_result.ok:
                raise
            # A broken chain is the answer; what the replay workers made of it is not.
    elif chain_result.ok:
        replayed = _replay_here(raw, dialect, head[0])
    if not chain_result.ok or replayed is None:
        return chain_result
    if not replayed.ok:
        return VerifyResult(False, chain_result.events, replayed.message)
    return VerifyResult(True, chain_result.events, f"{chain_result.message}; {replayed.message}")


def open_sqlite_snapshot(path: str) -> tuple[Any, HeadRow | None] | None:
    """A read-only driver connection to the SQLite file ``path`` in one read transaction,
    and the chain head read in it: what ``verify_snapshot`` needs, without SQLAlchemy or
    the app (``review-flow audit verify`` starts its workers that much sooner). None when
    the file is missing or not a review-flow database, so the caller takes the usual
    path and reports it the usual way."""
    import sqlite3

    if not os.path.isfile(path):
        return None
    raw = sqlite3.connect(path, timeout=30, isolation_level=None)  # as db.make_engine
    try:
        raw.execute("PRAGMA query_only = ON")  # verify never writes
        raw.execute("BEGIN DEFERRED")
        rows = raw.execute(HEAD_SQL).fetchall()
    except sqlite3.Error:
        raw.close()
        return None
    if len(rows) > 1:  # the usual path names this
        raw.close()
        return None
    head = None if not rows else (rows[0][0], rows[0][1], rows[0][2] or 0, rows[0][3])
    return raw, head
