"""Benchmark: how long ``review-flow --help`` takes to start (issue 9, section 5).

Runs the command-line entry point in a fresh interpreter ``--runs`` times and reports
wall time and CPU time (user + system, which a busy machine disturbs less than wall
time), minimum and median. ``--ref REV`` measures the code of a git revision instead of
the working tree (its ``src/``, ``templates/`` and ``migrations/`` taken with
``git archive`` into a temporary folder), so a before/after pair is two runs:

    .venv/bin/python bench/startup.py --ref 0d27e3c
    .venv/bin/python bench/startup.py

``python -X importtime -c 'from review_flow.cli import main'`` shows where the rest goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from review_flow.cli import main; "
    "main(prog_name='review-flow')"
)


def _checkout(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref, "src", "templates", "migrations"],
                             cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _once(src: Path, workdir: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "REVIEW_FLOW_INSTANCE_PATH": str(workdir)}
    subprocess.run([sys.executable, "-c", PROBE, str(src), "--help"], cwd=workdir, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--ref", help="a git revision to measure instead of the work tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        src = _checkout(args.ref, workdir / "tree") if args.ref else ROOT / "src"
        _once(src, workdir)  # warm the file cache and .pyc files
        walls, cpus = zip(*(_once(src, workdir) for _ in range(args.runs)), strict=True)
    label = args.ref or "work tree"
    print(f"review-flow --help ({label}, {args.runs} runs, load {os.getloadavg()[0]:.1f}): "
          f"wall min {min(walls) * 1000:.0f} ms, median {statistics.median(walls) * 1000:.0f} ms;"
          f" CPU min {min(cpus) * 1000:.0f} ms, median {statistics.median(cpus) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
