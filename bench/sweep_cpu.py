"""Benchmark: CPU per moved article of the sweep's per-item path, in process (issue 10).

    .venv/bin/python bench/sweep_cpu.py DATABASE.sqlite3 [N]

Copies a database ``bench/sweep.py --keep DIR`` built (e.g. ``--articles 4000 --due 1000
--backend sqlite``), warms up on 20 due articles, then sweeps the next ``N`` (400) and
prints this process's CPU and wall time per moved article as one JSON line. In process,
so start-up is left out and the figure is the per-item path's alone; run it with another
checkout's ``src`` first on ``PYTHONPATH`` for before/after pairs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    from review_flow.db import Database
    from review_flow.sweep import service
    from review_flow.sweep.rereview import ReReview

    source, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 400

    class Limited(ReReview):
        """The first ``k`` due articles only."""

        def __init__(self, k: int) -> None:
            self.k = k

        def due(self, session: Any, now: Any, *, after: Any, limit: int) -> Any:
            return [] if after is not None else super().due(session, now, after=None,
                                                             limit=self.k)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep.sqlite3"
        shutil.copyfile(source, path)
        db = Database(f"sqlite:///{path}")
        service.sweep(db, steps=[Limited(20)])  # warm up
        cpu, wall = _cpu(), time.perf_counter()
        report = service.sweep(db, steps=[Limited(n)])
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        moved = len(report.steps[0].done)
        assert moved == n and not report.failures, (moved, report.failures)
        db.dispose()
    print(json.dumps({"code": os.environ.get("PYTHONPATH"), "moved": moved,
                      "cpu_ms_per_moved": round(cpu / moved * 1000, 2),
                      "wall_ms_per_moved": round(wall / moved * 1000, 2),
                      "load": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
