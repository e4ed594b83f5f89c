"""The integrity check as a recorded background run (the "Integrity" page).

A run does exactly what ``review-flow audit verify`` does (the chain walk and the replay
of the tables, :func:`review_flow.audit.verify.verify_all`), then proves the latest
stored checkpoints' prefixes. At a million events that takes seconds, so no web request
waits for it: :func:`start` writes the run's row and an ``audit.verify`` event in the
request's transaction, and :func:`execute` runs in a thread of the app server process
after that commits, writing its progress and a heartbeat every second and, at the end,
the result and an ``audit.verify_result`` event.

One run at a time is the database's rule: a partial unique index allows one row with
status "running" (migration 0030). A process that dies mid-run leaves its row "running"
with a heartbeat that stops: after :data:`STALE` the row reads as "interrupted", and the
next start records it so before starting (so a crash never blocks the page for good).

Flask-free: the web layer passes the :class:`~review_flow.db.Database` and the user.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.audit import checkpoints, verify
from review_flow.audit.log import RequestContext, record
from review_flow.audit.models import AuditChainHead
from review_flow.db import Base, Database
from review_flow.errors import PermissionDenied, ReviewFlowError
from review_flow.timeutil import UTCDateTime, isoformat, utcnow

log = logging.getLogger("review_flow.integrity")

BIGINT = BigInteger().with_variant(Integer, "sqlite")
# A running row whose heartbeat is older than this belongs to a process that stopped.
STALE = timedelta(seconds=30)
HEARTBEAT_SECONDS = 1.0
# Stored checkpoints each run proves (newest first).
CHECKPOINTS = 3
STARTER_ROLES = frozenset({"auditor", "admin"})


class IntegrityRun(Base):
    __tablename__ = "integrity_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'ok', 'failed', 'interrupted')",
                        name="known_status"),
        Index("uq_integrity_runs_one_running", "status", unique=True,
              sqlite_where=text("status = 'running'"),
              postgresql_where=text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_by_name: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(BIGINT)  # events to walk (the head when it started)
    progress: Mapped[int] = mapped_column(BIGINT)  # events walked so far
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events: Mapped[int | None] = mapped_column(BIGINT)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    bad_seq: Mapped[int | None] = mapped_column(BIGINT)
    message: Mapped[str | None] = mapped_column(Text)

    def shown_status(self, now: datetime | None = None) -> str:
        """"interrupted" for a running row whose process stopped beating."""
        if self.status == "running" and self.heartbeat_at < (now or utcnow()) - STALE:
            return "interrupted"
        return self.status

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.progress * 100 // self.total)


class RunInProgress(ReviewFlowError):
    """Another run is going: its row is named so the page can point at it."""

    code = "integrity_run_in_progress"
    status = 409


def start(session: Session, user: Any, *, host: str, pid: int,
          context: RequestContext | None = None) -> IntegrityRun:
    """Record a new run (status "running") and its ``audit.verify`` event, in the
    caller's transaction; the caller runs :func:`execute` once that commits."""
    if not (set(user.roles) & STARTER_ROLES):
        raise PermissionDenied("Only auditors and admins run the integrity check.")
    now = utcnow()
    running = session.scalar(select(IntegrityRun).where(IntegrityRun.status == "running")
                             .with_for_update())
    if running is not None:
        if running.shown_status(now) == "running":
            raise RunInProgress(
                f"An integrity check is already running (run {running.id}, started by "
                f"{running.started_by_name} at {isoformat(running.started_at)}); wait for "
                "its result.", run=running.id)
        running.status = "interrupted"
        running.finished_at = now
        running.message = (f"Interrupted: its process ({running.host}, pid {running.pid}) "
                           f"stopped; last heard from at {isoformat(running.heartbeat_at)}.")
        session.flush()
    run = IntegrityRun(started_by_id=user.id, started_by_name=user.name, started_at=now,
                       status="running", host=host[:200], pid=pid, heartbeat_at=now,
                       total=verify.head_seq(session), progress=0)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise RunInProgress("An integrity check was started a moment ago by someone else; "
                            "wait for its result.") from None
    event = record(session, actor_id=user.id, actor_name=user.name, action="audit.verify",
                   object_type="integrity_run", object_id=run.id, context=context,
                   data={"run": run.id})
    run.total = event.seq  # the run checks the chain through its own start event
    session.flush()
    return run


@dataclass
class _Counter:
    done: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def add(self, k: int) -> None:
        with self.lock:
            self.done += k


def execute(db: Database, run_id: int) -> None:
    """Run the check for ``run_id`` and record its result. Never raises: an error is
    the run's (failed) result. A run that is not (or no longer) "running" is left alone:
    its start may have been rolled back after the thread was asked for."""
    with db.reading() as session:
        run = session.get(IntegrityRun, run_id)
        if run is None or run.status != "running":
            log.warning("integrity run %s is not running; not started", run_id)
            return
    counter = _Counter()
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(db, run_id, counter, stop),
                            name=f"integrity-heartbeat-{run_id}", daemon=True)
    beat.start()
    head_hash: str | None = None
    try:
        with db.reading() as session:
            verify.begin_snapshot(session)
            head = session.execute(select(AuditChainHead.seq, AuditChainHead.hash)).first()
            head_hash = head.hash if head is not None else None
            result = verify.verify_all(session, progress=counter.add)
            if result.ok:
                result = _with_checkpoints(session, result)
    except Exception as exc:  # the run's result, not a crash of the app server
        log.exception("integrity run %s stopped", run_id)
        result = verify.VerifyResult(False, counter.done,
                                     f"The check stopped with an error: {exc!r}")
    finally:
        stop.set()
        beat.join()
    with db.transaction() as session:
        finish(session, run_id, result, head_hash)


def _with_checkpoints(session: Session, result: verify.VerifyResult) -> verify.VerifyResult:
    """The latest stored checkpoints: each note's signature by its own stored key, and
    that the log still holds exactly its prefix."""
    said = [result.message]
    for row in checkpoints.latest(session, limit=CHECKPOINTS):
        name = f"checkpoint {row.id} (size {row.size})"
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(row.public_key))
            cp = checkpoints.open_checkpoint(row.note, key)
        except Exception as exc:
            return verify.VerifyResult(False, result.events,
                                       f"{name}: its signed note does not verify ({exc})")
        problem = checkpoints.prefix_problem(session, cp)
        if problem is not None:
            return verify.VerifyResult(False, result.events, f"{name}: {problem}")
        said.append(f"{name}: the log still holds exactly these events")
    return verify.VerifyResult(True, result.events, "; ".join(said))


def _heartbeat(db: Database, run_id: int, counter: _Counter, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            with db.transaction() as session:
                session.execute(update(IntegrityRun)
                                .where(IntegrityRun.id == run_id,
                                       IntegrityRun.status == "running")
                                .values(progress=counter.done, heartbeat_at=utcnow()))
        except Exception:  # a busy database skips a beat; the next one tries again
            log.warning("integrity run %s: heartbeat failed", run_id, exc_info=True)


def finish(session: Session, run_id: int, result: verify.VerifyResult,
           head_hash: str | None) -> IntegrityRun:
    """Store the result on the run and chain an ``audit.verify_result`` event."""
    run = session.get(IntegrityRun, run_id, with_for_update=True)
    assert run is not None
    run.status = "ok" if result.ok else "failed"
    run.finished_at = utcnow()
    run.heartbeat_at = run.finished_at
    run.progress = max(run.progress, result.events)
    run.events = result.events
    run.head_hash = head_hash
    run.bad_seq = result.bad_seq
    run.message = result.message
    session.flush()
    record(session, actor_id=None, actor_name="system", action="audit.verify_result",
           object_type="integrity_run", object_id=run.id,
           comment=(result.message if result.ok else f"FAILED: {result.message}")[:4000],
           data={"run": run.id, "ok": result.ok, "events": result.events,
                 "head": head_hash, "bad_seq": result.bad_seq})
    return run


def current(session: Session) -> IntegrityRun | None:
    """The newest run."""
    return session.scalar(select(IntegrityRun).order_by(IntegrityRun.id.desc()).limit(1))


def runs(session: Session, *, before: int | None = None, limit: int = 10) -> list[IntegrityRun]:
    """Runs newest first (keyset on id)."""
    stmt = select(IntegrityRun).order_by(IntegrityRun.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(IntegrityRun.id < before)
    return list(session.scalars(stmt))
