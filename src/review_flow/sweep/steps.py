"""The sweep's runner and the shape of a step.

A step answers two questions: which items are due as of ``now`` (a batch after a keyset
position, read outside any write transaction), and "handle this one" (inside its own
transaction: re-check under a lock, then act, or say there is nothing to do). The runner
owns the transactions, so one item's failure rolls back that item alone; the others go
on and the failure is reported with the item's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from review_flow.actor import SystemActor
from review_flow.db import Database
from review_flow.errors import ReviewFlowError

BATCH = 500


@dataclass(frozen=True)
class Item:
    """One thing a step may act on: its id, its keyset position, and how to name it."""

    id: int
    position: tuple[Any, ...]
    label: str


class Step(Protocol):
    """One kind of due work. ``name`` appears in the summary ("re-review")."""

    name: str
    done_verb: str

    def due(self, session: Session, now: datetime, *, after: tuple[Any, ...] | None,
            limit: int) -> Sequence[Item]:
        """Items due as of ``now`` after the position ``after``, in keyset order."""
        ...

    def apply(self, session: Session, actor: SystemActor, item: Item, now: datetime) -> bool:
        """Handle ``item`` in the caller's transaction (flush only). False: nothing to do
        any more (handled meanwhile, or locked by another sweep, which will handle it)."""
        ...


@dataclass(frozen=True)
class Failure:
    step: str
    item: str
    message: str


@dataclass
class StepReport:
    name: str
    done_verb: str
    done: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


@dataclass
class SweepReport:
    now: datetime
    steps: list[StepReport] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Share:
    """Worker ``index`` of ``of``: the items this worker handles, chosen by a hash of the
    item's id so that every worker gets about as many whatever the ids' pattern (due
    articles are often every n-th id). Only a division of labour: each item's
    transaction re-checks under its lock, so two workers or two sweeps may meet an item
    and it is still handled once."""

    index: int
    of: int

    def holds(self, item_id: int) -> bool:
        # Fibonacci hashing (id times 2^32 over the golden ratio, mod 2^32), scaled to the
        # number of workers: spread evenly for any pattern of ids.
        return ((item_id * 2654435769) & 0xFFFFFFFF) * self.of >> 32 == self.index


def run(db: Database, now: datetime, steps: Sequence[Step], actor: SystemActor, *,
        batch: int = BATCH, share: Share | None = None) -> SweepReport:
    """Run every step as of ``now``: one transaction per item, all on one connection;
    with ``share``, only that worker's items."""
    with db.pinned() as pinned:
        return _run(pinned, now, steps, actor, batch=batch, share=share)


def _run(db: Database, now: datetime, steps: Sequence[Step], actor: SystemActor, *,
         batch: int, share: Share | None) -> SweepReport:
    report = SweepReport(now)
    for step in steps:
        done = StepReport(step.name, step.done_verb)
        report.steps.append(done)
        after: tuple[Any, ...] | None = None
        while True:
            with db.reading() as session:
                items = list(step.due(session, now, after=after, limit=batch))
            if not items:
                break
            after = items[-1].position
            for item in items:
                if share is not None and not share.holds(item.id):
                    continue
                try:
                    with db.transaction() as session:
                        acted = step.apply(session, actor, item, now)
                except ReviewFlowError as exc:
                    report.failures.append(Failure(step.name, item.label, exc.message))
                    continue
                except SQLAlchemyError as exc:  # e.g. the database went away mid-run
                    report.failures.append(
                        Failure(step.name, item.label, f"database error: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0]}"))
                    continue
                (done.done if acted else done.skipped).append(item.id)
            if len(items) < batch:
                break
    return report
