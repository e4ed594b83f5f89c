"""One sweep run shared by several processes (PostgreSQL).

Each moved article is its own transaction, and on one connection the client's work and
the server's take turns: the process waits while the database works and the database
waits while the process works. Workers forked from the command each take a share of
every step's items (``steps.Share``) on their own connection, so one worker's statements
run while another prepares its next. They wait for one another only while holding the
audit chain's head, from an item's audit event to its commit (the sweep's load does not
take the head: ``articles/loading.py``).

Nothing here decides what is due or how an item is handled: each worker runs the same
``steps.run`` as a single sweep, and an item is still handled once however the workers
and other sweeps meet (each transaction re-checks under its lock). SQLite allows one
writer at a time, so there the sweep stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from review_flow.actor import SystemActor
from review_flow.db import Database
from review_flow.sweep.steps import Failure, Share, Step, StepReport, SweepReport, run

# What the forked workers run: set just before the fork, read in the child (a Database
# cannot be pickled, and need not be: the child inherits it and opens its own
# connections).
_JOB: tuple[Database, datetime, Sequence[Step], SystemActor, int, int] | None = None


def default_workers(db: Database) -> int:
    """One worker per CPU (at most 8) on PostgreSQL; one on SQLite."""
    if db.is_sqlite:
        return 1
    return max(min(os.cpu_count() or 1, 8), 1)


def can_share(db: Database) -> bool:
    """Whether a run can be shared here: PostgreSQL (SQLite has one writer at a time) and
    a system that forks (not Windows; the workers inherit the command's state)."""
    return not db.is_sqlite and "fork" in multiprocessing.get_all_start_methods()


def run_shared(db: Database, now: datetime, steps: Sequence[Step], actor: SystemActor, *,
               workers: int, batch: int) -> SweepReport:
    """``steps.run`` in ``workers`` forked processes, their reports merged into one."""
    global _JOB
    db.dispose()  # no connection of the parent's crosses the fork
    _JOB = (db, now, steps, actor, batch, workers)
    reports: list[SweepReport] = []
    lost: list[Failure] = []
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_work, index) for index in range(workers)]
            for index, future in enumerate(futures):
                try:
                    reports.append(future.result())
                except BrokenProcessPool:
                    # A worker was killed (out of memory, a signal): its share is not all
                    # done. What it committed stays; the next run does the rest.
                    lost.append(Failure("sweep", f"worker {index + 1} of {workers}",
                                        "the worker process stopped before finishing its "
                                        "share; run the sweep again to do the rest"))
    finally:
        _JOB = None
    merged = merge(now, reports)
    merged.failures += lost
    return merged


def _work(index: int) -> SweepReport:
    assert _JOB is not None, "run_shared sets the job before forking"
    db, now, steps, actor, batch, workers = _JOB
    db.engine.dispose(close=False)  # the parent's pool state is not ours to use
    try:
        return run(db, now, steps, actor, batch=batch, share=Share(index, workers))
    finally:
        db.dispose()


def merge(now: datetime, reports: Sequence[SweepReport]) -> SweepReport:
    """One report of the workers' reports: each step's items in id order, every failure."""
    merged = SweepReport(now)
    for position, first in enumerate(reports[0].steps if reports else []):
        step = StepReport(first.name, first.done_verb)
        for report in reports:
            step.done += report.steps[position].done
            step.skipped += report.steps[position].skipped
        step.done.sort()
        step.skipped.sort()
        merged.steps.append(step)
    for report in reports:
        merged.failures += report.failures
    return merged

