#!/bin/bash
# Every performance target of issues 8, 9, 10 and 12 measured in one go, on a quiet machine
# (run nothing else meanwhile; the load average is printed before each step). Results go to
# $OUT (default /tmp/rf-targets), one file per step; docs/PERFORMANCE.md, "Every target on a
# quiet machine", quotes them.
#
# Data, built once beforehand (minutes on a quiet machine, longer under load):
#   .venv/bin/python bench/generate.py --url "$PG"     # 100,000 articles, 1.1M events
#   .venv/bin/python bench/generate.py --url "$SQ"
# bench/verify_replay.py, bench/export.py and bench/sweep.py build (and keep) their own.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rf-targets}; mkdir -p "$OUT"
PG=${PG:-postgresql+psycopg://postgres@127.0.0.1:5432/rf_big}
SQ=${SQ:-sqlite:////tmp/bench/big.sqlite3}
PY=.venv/bin/python
TIME=(/usr/bin/time -f "wall %e s, user %U s, sys %S s, maxrss %M KiB")
step() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/log"; }

# The host's own speed drifts by a factor of two or more between hours: this first step
# (CPU ms of a review cycle) says which kind of hour the figures below come from.
step host-speed;      $PY bench/cycle.py --cycles 300 --backend all --json > "$OUT/host_speed.txt" 2>&1
step verify-sqlite;   $PY bench/verify_replay.py --articles 100000 --repeat 3 --keep /tmp/rf-verify-bench --phases > "$OUT/verify_sqlite.txt" 2>&1
step sweep-sqlite;    $PY bench/sweep.py --backend sqlite --keep /tmp/rf-sweep --repeat 2 > "$OUT/sweep_sqlite.txt" 2>&1
step sweep-pg;        $PY bench/sweep.py --backend postgresql --keep /tmp/rf-sweep --repeat 2 --workers 1 2 > "$OUT/sweep_pg.txt" 2>&1
step pages-pg;        $PY bench/pages.py --url "$PG" --requests 60 > "$OUT/pages_pg.txt" 2>&1
step pages-sqlite;    $PY bench/pages.py --url "$SQ" --requests 60 > "$OUT/pages_sqlite.txt" 2>&1
step timeline-pg;     $PY bench/timeline.py --url "$PG" --requests 60 > "$OUT/timeline_pg.txt" 2>&1
step timeline-sqlite; $PY bench/timeline.py --url "$SQ" --requests 60 > "$OUT/timeline_sqlite.txt" 2>&1
step audit-pages;     for b in postgresql sqlite; do $PY bench/audit_pages.py --backend $b --repeat 60 > "$OUT/audit_pages_$b.txt" 2>&1; done
step integrity;       $PY bench/integrity_pages.py --url "$PG" --repeat 60 > "$OUT/integrity_pg.txt" 2>&1
                      $PY bench/integrity_pages.py --url "$SQ" --repeat 60 > "$OUT/integrity_sqlite.txt" 2>&1
step export;          for b in sqlite postgresql; do $PY bench/export.py --backend $b --repeat 2 > "$OUT/export_$b.txt" 2>&1; done
step verify-big;      for url in "$PG" "$PG" "$SQ"; do REVIEW_FLOW_DATABASE_URL=$url "${TIME[@]}" .venv/bin/review-flow audit verify >> "$OUT/verify_big.txt" 2>&1; done
step cycle;           $PY bench/cycle.py --backend all > "$OUT/cycle.txt" 2>&1
step startup;         $PY bench/startup.py --runs 10 > "$OUT/startup.txt" 2>&1
step done
