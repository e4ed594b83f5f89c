"""Benchmark: full review cycles per second (issue 2).

One cycle = create a draft + submit + start_review + approve (with its signature record),
each its own transaction with its audit event, through the service layer.

Password hashing is a deliberate cost (Argon2id, ~50 ms per check with the production
parameters); this benchmark switches to cheap Argon2 parameters so that it measures the
engine, not the hash. Run: ``.venv/bin/python bench/cycle.py [--cycles N] [--backend B]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import DriverClock, StatementCounter, fresh_database

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.users import passwords
from review_flow.users import service as users

BODY = "Hypertension often has no symptoms [1]. Salt matters [2].\n" * 20
REFS = [
    {"title": "ACC/AHA guideline", "doi": "10.1161/HYP.0000000000000065"},
    {"title": "MedlinePlus", "url": "https://medlineplus.gov/highbloodpressure.html"},
]
PASSWORD = "benchmark password"


def run_one(backend: str, cycles: int) -> dict[str, float]:
    passwords.use_fast_hashing()
    with fresh_database(backend) as db:
        with db.transaction() as s:
            author = Actor(
                users.add_user(
                    s, email="a@example.org", name="Author", roles=["author"], password=PASSWORD
                )
            )
            reviewer = Actor(
                users.add_user(
                    s,
                    email="r@example.org",
                    name="Dr. R",
                    roles=["reviewer"],
                    password=PASSWORD,
                    credentials="MD",
                )
            )

        def cycle(i: int) -> None:
            with db.transaction() as s:
                aid = create_article(
                    s, author, title=f"Article {i}", body=BODY, references=REFS
                ).id
            with db.transaction() as s:
                perform_action(s, author, aid, "submit")
            with db.transaction() as s:
                perform_action(s, reviewer, aid, "start_review")
            with db.transaction() as s:
                perform_action(s, reviewer, aid, "approve", password=PASSWORD)

        for i in range(20):  # warm caches and connections
            cycle(-i - 1)
        counter = StatementCounter(db)
        driver = DriverClock(db)
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(cycles):
            cycle(i)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        return {
            "backend": backend,
            "cycles": cycles,
            "seconds": round(elapsed, 3),
            "cycles_per_second": round(cycles / elapsed, 1),
            "queries_per_cycle": round(counter.count / cycles, 2),
            # Our process's CPU, and wall time inside the driver (statements + commits).
            "cpu_ms_per_cycle": round(cpu / cycles * 1000, 2),
            "driver_ms_per_cycle": round(driver.seconds / cycles * 1000, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--json", action="store_true", help="one JSON object per backend")
    args = parser.parse_args()
    if args.backend != "all":
        print(json.dumps(run_one(args.backend, args.cycles)))
        return
    rows = []
    for backend in ("sqlite", "postgresql"):
        # A process per backend, so peak memory is each one's own.
        out = subprocess.run(
            [sys.executable, __file__, "--backend", backend, "--cycles", str(args.cycles)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{backend}: failed\n{out.stderr}", file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(
        "| backend | cycles | cycles/s | queries/cycle | CPU ms/cycle "
        "| in driver ms/cycle | peak RSS (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['backend']} | {r['cycles']} | {r['cycles_per_second']} | "
            f"{r['queries_per_cycle']} | {r['cpu_ms_per_cycle']} | "
            f"{r['driver_ms_per_cycle']} | {r['peak_rss_mib']} |"
        )


if __name__ == "__main__":
    main()
