"""Benchmark: ``audit verify`` throughput and memory over a large log (issue 2).

Writes N chained events (through ``audit.log.record``, in batches), then times
``verify_chain`` over them ``--repeat`` times in one process and in parallel (as many
processes as verify chooses by itself, or ``--workers``), and measures its peak Python
memory with tracemalloc on further passes: constant memory shows as the same peak for N
and 2N events. The machine may be shared: the best run is the least disturbed one, the
median shows the spread, and the client CPU per event (this process and its workers;
not PostgreSQL's) is steadier under load.
Run: ``.venv/bin/python bench/verify.py [--events N] [--backend B] [--repeat R] [--workers W]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import fresh_database

from review_flow.audit import log as audit
from review_flow.audit.verify import PARALLEL_THRESHOLD, default_workers, verify_chain

BATCH = 5000


def fill(db, events: int) -> None:  # type: ignore[no-untyped-def]
    written = 0
    while written < events:
        with db.transaction() as s:
            for _ in range(min(BATCH, events - written)):
                written += 1
                audit.record(
                    s,
                    actor_id=None,
                    actor_name="Dr. Maya Reed",
                    action="article.approve",
                    object_type="article",
                    object_id=written,
                    article_id=written,
                    from_state="under_review",
                    to_state="approved",
                    revision=1,
                    content_hash="sha256:" + "ab" * 32,
                    comment="Looks accurate.",
                    workflow_version="default/1",
                    policy_version=1,
                    context=audit.RequestContext("req-" + str(written), "127.0.0.1"),
                    data={"version": 4, "approvals": 1},
                )


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the verify workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_verify(db, events: int, workers: int | None, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Best and median events/s over ``repeat`` runs, and the client CPU per event (of
    the fastest run): on a shared machine the best run is the one least disturbed."""
    runs = []
    for _ in range(repeat):
        with db.reading() as s:
            s.connection()  # connect outside the timing
            cpu, start = _cpu_seconds(), time.perf_counter()
            result = verify_chain(s, workers=workers)
            wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        assert result.ok and result.events == events, result.message
        runs.append((wall, cpu))
    wall, cpu = min(runs)
    return {
        "best": round(events / wall),
        "median": round(events / statistics.median(w for w, _ in runs)),
        "client_cpu_us_per_event": round(cpu * 1e6 / events, 2),
    }


def peak_mib(db, workers: int) -> float:  # type: ignore[no-untyped-def]
    """Peak Python memory of this process during one verify (tracemalloc)."""
    with db.reading() as s:
        s.connection()
        tracemalloc.start()
        verify_chain(s, workers=workers)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return round(peak / 2**20, 2)


def run_one(backend: str, events: int, repeat: int, workers: int | None) -> dict[str, object]:
    with fresh_database(backend) as db:
        start = time.perf_counter()
        fill(db, events)
        fill_s = time.perf_counter() - start
        if workers is None:  # what verify_chain chooses by itself
            workers = default_workers(db.engine.url) if events >= PARALLEL_THRESHOLD else 1
        one = time_verify(db, events, 1, repeat)
        parallel = time_verify(db, events, workers, repeat)
        return {
            "backend": backend,
            "events": events,
            "write_events_per_second": round(events / fill_s),
            "verify_one_process_per_second": one["best"],
            "verify_one_process_median_per_second": one["median"],
            "verify_one_process_client_cpu_us_per_event": one["client_cpu_us_per_event"],
            "verify_parallel_per_second": parallel["best"],
            "verify_parallel_median_per_second": parallel["median"],
            "verify_parallel_client_cpu_us_per_event": parallel["client_cpu_us_per_event"],
            "workers": workers,
            "verify_peak_python_mib": peak_mib(db, 1),
            "verify_peak_python_mib_parallel": peak_mib(db, workers),
            "load_average": round(os.getloadavg()[0], 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed verifies per mode (best and median shown)"
    )
    parser.add_argument(
        "--workers", type=int, help="processes for the parallel mode (default: verify's own choice)"
    )
    args = parser.parse_args()
    if args.backend != "all":
        print(json.dumps(run_one(args.backend, args.events, args.repeat, args.workers)))
        return
    print(
        "| backend | events | one process, events/s: best (median) "
        "| parallel, events/s: best (median) (processes) "
        "| client CPU µs/event: one, parallel "
        "| peak Python memory MiB: one, parallel | writes/s (machine speed) | load |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend in ("sqlite", "postgresql"):
        for n in (args.events, args.events * 2):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--backend",
                    backend,
                    "--events",
                    str(n),
                    "--repeat",
                    str(args.repeat),
                    *(["--workers", str(args.workers)] if args.workers else []),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{backend}: failed\n{out.stderr}", file=sys.stderr)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {backend} | {r['events']:,} "
                f"| {r['verify_one_process_per_second']:,} "
                f"({r['verify_one_process_median_per_second']:,}) "
                f"| {r['verify_parallel_per_second']:,} "
                f"({r['verify_parallel_median_per_second']:,}) ({r['workers']}) "
                f"| {r['verify_one_process_client_cpu_us_per_event']}, "
                f"{r['verify_parallel_client_cpu_us_per_event']} "
                f"| {r['verify_peak_python_mib']}, {r['verify_peak_python_mib_parallel']} "
                f"| {r['write_events_per_second']:,} | {r['load_average']} |"
            )


if __name__ == "__main__":
    main()
