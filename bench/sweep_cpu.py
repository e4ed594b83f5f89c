"""Benchmark: CPU per moved article of the sweep's per-item path, in process (issue 10).

    .venv/bin/python bench/sweep_cpu.py DATABASE.sqlite3 [N]
    .venv/bin/python bench/sweep_cpu.py postgresql+psycopg://.../TEMPLATE_DB [N]

Copies a database ``bench/sweep.py --keep DIR`` built (e.g. ``--articles 4000 --due 1000
--backend sqlite``; on PostgreSQL the kept database, ``rf_<keep>_<articles>_<due>``, is
the template of a fresh one), warms up on 20 due articles, then sweeps the next ``N``
(400) and prints this process's CPU and wall time per moved article as one JSON line. In
process, so start-up is left out and the figure is the per-item path's alone; run it with
another checkout's ``src`` first on ``PYTHONPATH`` for before/after pairs. On PostgreSQL
the wall time also shows the round trips (the server's CPU is not in the CPU figure).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def _copy(source: str) -> Iterator[str]:
    """A URL of a fresh copy of ``source`` (a SQLite file, or a PostgreSQL template)."""
    if "://" not in source:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sweep.sqlite3"
            shutil.copyfile(source, path)
            yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    template = make_url(source)
    copy = template.set(database=f"rf_sweep_cpu_{uuid.uuid4().hex[:8]}")
    admin = create_engine(template.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{copy.database}" TEMPLATE "{template.database}"'))
    try:
        yield copy.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)'))
        admin.dispose()


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

    with _copy(source) as url:
        db = Database(url)
        service.sweep(db, steps=[Limited(20)])  # warm up
        cpu, wall = _cpu(), time.perf_counter()
        report = service.sweep(db, steps=[Limited(n)])
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        moved = len(report.steps[0].done)
        assert moved == n and not report.failures, (moved, report.failures)
        db.dispose()
    print(json.dumps({"code": os.environ.get("PYTHONPATH"), "backend": url.split(":")[0],
                      "moved": moved,
                      "cpu_ms_per_moved": round(cpu / moved * 1000, 2),
                      "wall_ms_per_moved": round(wall / moved * 1000, 2),
                      "load": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
