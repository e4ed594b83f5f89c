"""Benchmark: ``audit verify`` throughput and memory over a large log (issue 2).

Writes N chained events (through ``audit.log.record``, in batches), then times
``verify_chain`` over them and measures its peak Python memory with tracemalloc on a
second pass. Constant memory shows as the same peak for N and 2N events.
Run: ``.venv/bin/python bench/verify.py [--events N] [--backend B]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import fresh_database

from review_flow.audit import log as audit
from review_flow.audit.verify import verify_chain

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


def run_one(backend: str, events: int) -> dict[str, float]:
    with fresh_database(backend) as db:
        start = time.perf_counter()
        fill(db, events)
        fill_s = time.perf_counter() - start
        timings = {}
        for workers in (1, None):  # one process; then the default (a worker per CPU)
            with db.reading() as s:
                start = time.perf_counter()
                result = verify_chain(s, workers=workers)
                timings[workers] = time.perf_counter() - start
            assert result.ok and result.events == events, result.message
        with db.reading() as s:
            tracemalloc.start()
            verify_chain(s, workers=1)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return {
            "backend": backend,
            "events": events,
            "write_events_per_second": round(events / fill_s),
            "verify_one_process_per_second": round(events / timings[1]),
            "verify_parallel_per_second": round(events / timings[None]),
            "workers": os.cpu_count() or 1,
            "verify_peak_python_mib": round(peak / 2**20, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    args = parser.parse_args()
    if args.backend != "all":
        print(json.dumps(run_one(args.backend, args.events)))
        return
    print(
        "| backend | events | one process, events/s | parallel, events/s (workers) "
        "| peak Python memory, one process (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for backend in ("sqlite", "postgresql"):
        for n in (args.events, args.events * 2):
            out = subprocess.run(
                [sys.executable, __file__, "--backend", backend, "--events", str(n)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{backend}: failed\n{out.stderr}", file=sys.stderr)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {backend} | {r['events']:,} | {r['verify_one_process_per_second']:,} "
                f"| {r['verify_parallel_per_second']:,} ({r['workers']}) "
                f"| {r['verify_peak_python_mib']} |"
            )


if __name__ == "__main__":
    main()
