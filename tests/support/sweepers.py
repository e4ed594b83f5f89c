"""Two sweepers racing over one database: the harness of the "exactly once" sweep tests."""

from __future__ import annotations

import threading
from datetime import datetime

from review_flow.db import Database
from review_flow.sweep.service import sweep
from review_flow.sweep.steps import SweepReport


def sweep_twice_at_once(db_url: str, now: datetime, *, batch: int) -> list[SweepReport]:
    """The reports of two sweeps as of ``now``, each on its own connections, started
    together (a barrier) in batches of ``batch`` so they interleave. An error in either
    sweeper is raised here, not lost in its thread."""
    start = threading.Barrier(2)
    reports: dict[int, SweepReport] = {}
    errors: list[BaseException] = []

    def sweeper(n: int) -> None:
        own = Database(db_url)
        try:
            start.wait()
            reports[n] = sweep(own, now, batch=batch)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=sweeper, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return [reports[0], reports[1]]
