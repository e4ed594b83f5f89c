"""The hot path of ``audit verify``: walk a range of the chain on a driver connection.

Deliberately free of SQLAlchemy and of the application: a parallel verify spawns worker
processes, and each one should start in milliseconds, importing only this module, the
hash definition (``chain.py``) and the database driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from review_flow.audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical_values

BATCH = 1000
Progress = Callable[[int], None]


@dataclass
class VerifyResult:
    ok: bool
    events: int
    message: str
    bad_seq: int | None = None


def chain_query(dialect: str) -> str:
    """Raw SQL yielding each event's hashed fields as the scalars the writer hashed.

    The driver's rows go straight into the hash: no ORM objects, no type conversion
    (``at`` is formatted by the database, ``data`` is stored as canonical text).
    """
    if dialect == "postgresql":
        at = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    else:
        at = "at"  # stored as this very ISO text (timeutil.UTCDateTime)
    cols = [at if f == "at" else f'"{f}"' for f in HASHED_FIELDS]
    return (
        f"SELECT {', '.join(cols)}, prev_hash, hash FROM audit_events "
        "WHERE seq >= %(lo)d AND seq <= %(hi)d ORDER BY seq"
    )


@dataclass
class Range:
    first: int
    last: int


@dataclass
class RangeOutcome:
    first: int
    failure: VerifyResult | None
    events: int
    last_hash: str


def verify_range(raw: Any, dialect: str, rng: Range, progress: Progress | None) -> RangeOutcome:
    """Verify events ``first..last`` on a driver connection.

    Reads from ``first - 1`` so the range's first ``prev_hash`` is checked against the
    event before it; a range that ends early names its first missing event.
    """
    if dialect == "postgresql":
        # A named (server-side) cursor streams rows: memory stays flat for any log size.
        cursor = raw.cursor(name=f"review_flow_audit_verify_{rng.first}")
        cursor.itersize = BATCH
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(chain_query(dialect) % {"lo": rng.first - 1, "hi": rng.last})
        return walk(cursor, rng, progress)
    finally:
        cursor.close()  # also when we stop early at a bad event


def walk(cursor: Any, rng: Range, progress: Progress | None) -> RangeOutcome:
    # The hot loop of a large verify: rows in batches, names bound locally, the hash
    # inlined, and the event count derived from the sequence rather than kept apart.
    width = len(HASHED_FIELDS)
    dumps = canonical_values
    sha256 = hashlib.sha256
    first = rng.first
    expected_seq = first
    prev = GENESIS_HASH

    def fail(message: str, seq: int) -> RangeOutcome:
        n = expected_seq - first
        return RangeOutcome(first, VerifyResult(False, n, message, seq), n, prev)

    while batch := cursor.fetchmany(BATCH):
        for row in batch:
            seq = row[0]
            if seq != expected_seq:
                if seq == first - 1:  # the anchor: the event just before this range
                    prev = row[-1]
                    continue
                return fail(
                    f"event {expected_seq}: missing; the log goes from event "
                    f"{expected_seq - 1} to event {seq} (deleted, or events renumbered)",
                    expected_seq,
                )
            stored_prev = row[-2]
            stored_hash = row[-1]
            if sha256((stored_prev + dumps(row[:width])).encode()).hexdigest() != stored_hash:
                return fail(f"event {seq}: its content does not match its hash (edited)", seq)
            if stored_prev != prev and not (seq > 1 and prev == GENESIS_HASH):
                return fail(
                    f"event {seq}: prev_hash does not match the hash of event {seq - 1} "
                    "(an event was inserted, deleted or reordered before it)",
                    seq,
                )
            prev = stored_hash
            expected_seq += 1
        if progress is not None:
            progress(len(batch))
    if expected_seq <= rng.last:
        return fail(
            f"event {expected_seq}: missing; the chain head records event {rng.last} "
            "(events deleted)",
            expected_seq,
        )
    return RangeOutcome(first, None, expected_seq - first, prev)


DSN_ENV = "REVIEW_FLOW_VERIFY_DSN"  # passed by environment, never on a command line


def connect(dialect: str, dsn: str) -> Any:
    """A plain driver connection: workers import neither SQLAlchemy nor the app."""
    if dialect == "postgresql":
        import psycopg

        return psycopg.connect(dsn)
    import sqlite3

    return sqlite3.connect(dsn)


def _main(argv: list[str]) -> int:
    """Worker process of a parallel verify: ``python -m review_flow.audit.chainwalk DIALECT
    FIRST LAST``. Prints ``progress N`` lines, then one ``result {json}`` line."""
    import json
    import os
    import sys

    dialect, first, last = argv[0], int(argv[1]), int(argv[2])

    def tick(k: int) -> None:
        print(f"progress {k}", flush=True)

    conn = connect(dialect, os.environ[DSN_ENV])
    try:
        outcome = verify_range(conn, dialect, Range(first, last), tick)
    finally:
        conn.close()
    failure = outcome.failure
    sys.stdout.write(
        "result "
        + json.dumps(
            {
                "first": outcome.first,
                "events": outcome.events,
                "last_hash": outcome.last_hash,
                "failure": None if failure is None else [failure.message, failure.bad_seq],
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
