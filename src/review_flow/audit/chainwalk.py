"""The hot path of ``audit verify``: walk a range of the chain on a driver connection.

Each event is hashed from the canonical JSON text of its fields, as the writer hashed it
(``chain.event_hash``). On SQLite the database writes that text itself (``json_array``),
which costs half what fetching eighteen columns and encoding them in Python does, but
only after proving, once per process, that SQLite writes exactly the bytes that
``chain.canonical_values`` writes (see :func:`sqlite_json_agrees`); a row that holds a
value outside that proof is encoded by ``canonical_values`` itself. So the verdict is
the one the writer's own definition gives, bit for bit, on every row.

Deliberately free of SQLAlchemy, of the application and of slow imports (no
``dataclasses``, no ``typing`` at run time): a parallel verify starts worker processes
that import only this module, the hash definition (``chain.py``) and the database
driver, and the sooner one is ready, the more of the log it takes on.
"""

from __future__ import annotations

import hashlib
import sys
from itertools import chain, islice

from review_flow.audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical_values

TYPE_CHECKING = False  # typing costs import time in every worker; type checkers see True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

    Progress = Callable[[int], object]  # what it returns is ignored (tqdm.update)

BATCH = 1000  # rows per fetch: the unit of memory and of progress reports

# Planner settings for the verify query on PostgreSQL, local to a savepoint. Without
# statistics (a freshly loaded table, autovacuum off) the planner would sort the whole
# range on disk; an index scan on the primary key already yields ``seq`` order, in heap
# order, since the log is append-only. JIT would only add compile time to this query.
_PG_SETTINGS = "SET LOCAL enable_sort = off; SET LOCAL jit = off"
_SAVEPOINT = "review_flow_audit_verify"


class Range:
    """Events ``first..last`` of a chain whose head records event ``head``; from event
    ``ordered_from`` on, no event may be dated before the one preceding it."""

    __slots__ = ("first", "head", "last", "ordered_from")

    def __init__(
        self, first: int, last: int, head: int | None = None, ordered_from: int = 1
    ) -> None:
        self.first = first
        self.last = last
        self.head = last if head is None else head
        self.ordered_from = ordered_from

    def __repr__(self) -> str:
        return (
            f"Range({self.first}, {self.last}, head={self.head}, "
            f"ordered_from={self.ordered_from})"
        )


class RangeOutcome:
    """What verifying one range found: ``events`` verified from ``first`` on, the hash of
    the last of them, the first failure as ``(message, seq)``, if any, and ``back``: the
    events before ``ordered_from`` dated before their predecessor, as ``(first, count)``
    (a log written before times were kept in order: reported, not a failure)."""

    __slots__ = ("back", "events", "failure", "first", "last_hash")

    def __init__(
        self,
        first: int,
        failure: tuple[str, int] | None,
        events: int,
        last_hash: str,
        back: tuple[int, int] | None = None,
    ) -> None:
        self.first = first
        self.failure = failure
        self.events = events
        self.last_hash = last_hash
        self.back = back

    def __repr__(self) -> str:
        return (
            f"RangeOutcome({self.first}, {self.failure!r}, {self.events}, "
            f"{self.last_hash!r}, back={self.back!r})"
        )


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


def json_query(may_hold_real: Sequence[str] = HASHED_FIELDS) -> str:
    """SQLite: each event's time and canonical text, written by ``json_array``, with the
    hashes (``at`` is stored as the very ISO text that is hashed).

    NULL instead of the text for a row holding a REAL in any hashed field: no writer
    stores one, and SQLite writes a REAL otherwise than Python does (``1.0e+20`` against
    ``1e+20``), so such a row is encoded by ``canonical_values`` (see ``walk_json``).
    Only the fields in ``may_hold_real`` are tested (:func:`sqlite_real_columns`).
    """
    cols = ", ".join(f'"{f}"' for f in HASHED_FIELDS)
    real = " OR ".join(f"typeof(\"{f}\") = 'real'" for f in may_hold_real) or "0"
    return (
        f"SELECT seq, at, CASE WHEN {real} THEN NULL ELSE json_array({cols}) END, "
        "prev_hash, hash "
        "FROM audit_events WHERE seq >= %(lo)d AND seq <= %(hi)d ORDER BY seq"
    )


def _text_affinity(declared: str) -> bool:
    """Whether SQLite gives a column declared so TEXT affinity (its rules, in order)."""
    t = declared.upper()
    return "INT" not in t and any(k in t for k in ("CHAR", "CLOB", "TEXT"))


def sqlite_real_columns(raw: Any) -> tuple[str, ...]:
    """The hashed fields that can hold a REAL in this database: all but those of TEXT
    affinity, which SQLite stores numbers into as text, never as a REAL. Testing only
    these (``at``, the ids, ``revision``, ``policy_version``) costs SQLite a fifth less
    per event than testing all eighteen. A field missing from the table keeps its test."""
    cursor = raw.cursor()
    try:
        cursor.execute("SELECT name, type FROM pragma_table_info('audit_events')")
        text = {name for name, declared in cursor.fetchall() if _text_affinity(declared or "")}
    finally:
        cursor.close()
    return tuple(f for f in HASHED_FIELDS if f not in text)


def _every_character() -> Iterator[str]:
    """Every Unicode scalar value (all but the surrogates), one plane per string."""
    low = bytes(range(256)) * 256
    high = b"".join(bytes([h]) * 256 for h in range(256))
    if sys.byteorder == "little":  # the bytes of each code point: low, high, plane, 0
        codec, at_low, at_high, at_plane = "utf-32-le", 0, 1, 2
    else:
        codec, at_low, at_high, at_plane = "utf-32-be", 3, 2, 1
    for plane in range(17):
        utf32 = bytearray(4 * 65536)
        utf32[at_low::4] = low
        utf32[at_high::4] = high
        utf32[at_plane::4] = bytes([plane]) * 65536
        if plane == 0:
            del utf32[4 * 0xD800 : 4 * 0xE000]
        yield utf32.decode(codec)


def sqlite_json_agrees(raw: Any) -> bool:
    """Whether this SQLite's ``json_array`` writes what ``canonical_values`` writes, for
    every value a row can hand it other than a REAL (kept out by ``json_query``) or a
    BLOB (which ``json_array`` refuses): integers, NULL and text.

    Both escape text one character at a time, so agreeing on a text that holds every
    character means agreeing on every text; integers and NULL are checked by example,
    at the extremes. About 50 ms, once per process; any error (no JSON functions in this
    SQLite) means no.
    """
    samples = (0, 1, -1, 2**63 - 1, -(2**63), None, "")
    checks = chain(
        [("SELECT json_array(" + ", ".join("?" * len(samples)) + ")", samples)],
        (("SELECT json_array(?)", (t,)) for t in _every_character()),  # a plane at a time
    )
    cursor = raw.cursor()
    try:
        for query, values in checks:
            cursor.execute(query, values)
            if cursor.fetchone()[0] != canonical_values(values):
                return False
        return True
    except raw.Error:
        return False
    finally:
        cursor.close()


SQLITE_JSON: bool | None = None  # the answer of sqlite_json_agrees; tests set it


def _pg_can_stream_chunks() -> bool:
    """Whether psycopg can stream rows in chunks (libpq 17 or later)."""
    try:
        from psycopg import capabilities

        return bool(capabilities.has_stream_chunked())
    except Exception:  # older psycopg: no capabilities API, or no chunked mode
        return False


# Streaming (one query, rows pushed by the server) costs the server about half what a
# named cursor's FETCH round trips do, and psycopg still builds the rows in C. The
# named cursor remains for a libpq without chunked mode (one row per result is slower).
PG_STREAM: bool | None = None  # decided on first use; tests set it to cover both paths


def verify_range(raw: Any, dialect: str, rng: Range, progress: Progress | None) -> RangeOutcome:
    """Verify events ``first..last`` on a driver connection.

    Reads from ``first - 1`` so the range's first ``prev_hash`` is checked against the
    event before it. A range that ends early names its first missing event exactly as a
    single pass over the whole chain would (one more query, on that failure only).
    """
    if dialect == "postgresql":
        outcome, end = _verify_range_pg(raw, chain_query(dialect) % _bounds(rng), rng, progress)
    else:
        outcome, end = _verify_range_sqlite(raw, rng, progress)
    if end <= rng.last:  # rows ran out before the range's last event
        nxt = _next_seq(raw, end, rng.head)
        if nxt is None:
            why = f"the chain head records event {rng.head} (events deleted)"
        else:
            why = (
                f"the log goes from event {end - 1} to event {nxt} (deleted, or events renumbered)"
            )
        outcome.failure = (f"event {end}: missing; {why}", end)
    return outcome


def _bounds(rng: Range) -> dict[str, int]:
    return {"lo": rng.first - 1, "hi": rng.last}


def _verify_range_sqlite(
    raw: Any, rng: Range, progress: Progress | None
) -> tuple[RangeOutcome, int]:
    global SQLITE_JSON
    if SQLITE_JSON is None:
        SQLITE_JSON = sqlite_json_agrees(raw)
    if not SQLITE_JSON:
        return _walk_values(raw, rng, progress)
    rows = _Rows(raw, json_query(sqlite_real_columns(raw)) % _bounds(rng))
    try:
        outcome, end = walk_json(rows, rng, progress, lambda seq: _values(raw, seq))
    finally:
        rows.close()  # also when we stop early at a bad event
    if not rows.failed or end > rng.last:
        return outcome, end
    # json_array refused a value (a BLOB, which no writer stores): go on from the first
    # event not verified yet, reading values, so the bad event is named as an edit.
    rest, end = _walk_values(raw, Range(end, rng.last, rng.head, rng.ordered_from), progress)
    return RangeOutcome(
        rng.first,
        rest.failure,
        outcome.events + rest.events,
        rest.last_hash,
        merge_back(outcome.back, rest.back),
    ), end


def merge_back(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    """Two ``back`` reports of consecutive ranges as one."""
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), a[1] + b[1]


def _walk_values(raw: Any, rng: Range, progress: Progress | None) -> tuple[RangeOutcome, int]:
    cursor = raw.cursor()
    try:
        cursor.execute(chain_query("sqlite") % _bounds(rng))
        return walk(iter(lambda: cursor.fetchmany(BATCH), []), rng, progress)
    finally:
        cursor.close()


def _values(raw: Any, seq: int) -> tuple[Any, ...]:
    """One event's hashed fields as the driver gives them (for ``canonical_values``)."""
    cursor = raw.cursor()
    try:
        cursor.execute(chain_query("sqlite") % {"lo": seq, "hi": seq})
        return tuple(cursor.fetchone()[: len(HASHED_FIELDS)])
    finally:
        cursor.close()


class _Rows:
    """A query's rows in batches; a database error ends them and sets ``failed``."""

    def __init__(self, raw: Any, query: str) -> None:
        self.cursor = raw.cursor()
        self.errors = raw.Error
        self.failed = False
        try:
            self.cursor.execute(query)  # SQLite computes the first row here already
        except self.errors:
            self.failed = True

    def __iter__(self) -> Iterator[list[Any]]:
        while not self.failed:
            try:
                batch = self.cursor.fetchmany(BATCH)
            except self.errors:
                self.failed = True
                return
            if not batch:
                return
            yield batch

    def close(self) -> None:
        self.cursor.close()


def _verify_range_pg(
    raw: Any, query: str, rng: Range, progress: Progress | None
) -> tuple[RangeOutcome, int]:
    # In a nested transaction (a savepoint), always rolled back: stopping a stream early
    # cancels its query, which would abort the caller's transaction, and the planner
    # settings must not outlive this range. Outside a transaction psycopg begins one.
    global PG_STREAM
    if PG_STREAM is None:
        PG_STREAM = _pg_can_stream_chunks()
    with raw.transaction(savepoint_name=_SAVEPOINT, force_rollback=True):
        raw.execute(_PG_SETTINGS)
        if PG_STREAM:
            with raw.cursor() as cursor:
                rows = cursor.stream(query, size=BATCH)
                try:
                    return walk(_batches(rows), rng, progress)
                finally:
                    rows.close()
        # A named (server-side) cursor also streams: memory stays flat for any log size.
        with raw.cursor(name=f"{_SAVEPOINT}_{rng.first}") as cursor:
            cursor.itersize = BATCH
            cursor.execute(query)
            return walk(iter(lambda: cursor.fetchmany(BATCH), []), rng, progress)


def _batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while batch := list(islice(rows, BATCH)):
        yield batch


def _next_seq(raw: Any, after: int, head: int) -> int | None:
    """The first stored event after ``after`` up to the head: names the end of a gap."""
    cursor = raw.cursor()
    try:
        cursor.execute(
            f"SELECT min(seq) FROM audit_events WHERE seq > {after:d} AND seq <= {head:d}"
        )
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row[0]


def walk(
    batches: Iterable[Sequence[Any]], rng: Range, progress: Progress | None
) -> tuple[RangeOutcome, int]:
    """:func:`_walk` for rows that hold the hashed fields' values, then ``prev_hash``
    and ``hash``: the writer's own encoder (``chain.canonical_values``) makes the text."""
    width = len(HASHED_FIELDS)
    dumps = canonical_values
    return _walk(batches, rng, progress, lambda row: dumps(row[:width]))


def walk_json(
    batches: Iterable[Sequence[Any]],
    rng: Range,
    progress: Progress | None,
    values: Callable[[int], tuple[Any, ...]],
) -> tuple[RangeOutcome, int]:
    """:func:`_walk` for rows of ``json_query``: ``(seq, at, text, prev_hash, hash)``.

    The text is what ``canonical_values`` would write (the caller has checked
    ``sqlite_json_agrees``); where the query gives none (a REAL among the fields), the
    writer's encoder writes it from ``values(seq)``.
    """
    dumps = canonical_values
    return _walk(
        batches, rng, progress, lambda row: dumps(values(row[0])) if row[2] is None else row[2]
    )


def _walk(
    batches: Iterable[Sequence[Any]],
    rng: Range,
    progress: Progress | None,
    text_of: Callable[[Sequence[Any]], str],
) -> tuple[RangeOutcome, int]:
    """Check each row's hash, its link to the row before and that it is not dated before
    it; return the outcome and the first event not seen (``last + 1`` once the range is
    complete or has failed). Rows start with ``seq`` and ``at`` (the ISO text that is
    hashed: fixed width, so text order is time order) and end with ``prev_hash`` and
    ``hash``; ``text_of`` gives the canonical text of a row's hashed fields. An event
    dated before its predecessor fails from ``ordered_from`` on; before it, such events
    are counted in the outcome's ``back``.

    The hot loop of a large verify: names bound locally, the hash inlined, the event
    count derived from the sequence. Measured alternatives (the encoder called directly,
    digests compared as bytes, hashing with the previous row's hash) were no faster.
    """
    sha256 = hashlib.sha256
    first = rng.first
    anchor = first - 1
    ordered_from = rng.ordered_from
    expected_seq = reported = first
    prev = GENESIS_HASH
    prev_at = ""  # before every time (the first event has none before it)
    back_first, back_count = 0, 0
    for batch in batches:
        try:
            for row in batch:
                seq = row[0]
                if seq != expected_seq:
                    if seq == anchor:  # the event just before this range
                        prev = row[-1]
                        prev_at = row[1]
                        continue
                    return _failed(rng, expected_seq, prev, _missing(expected_seq, seq))
                stored_prev = row[-2]
                stored_hash = row[-1]
                if sha256((stored_prev + text_of(row)).encode()).hexdigest() != stored_hash:
                    return _failed(rng, seq, prev, _edited(seq))
                if stored_prev != prev and not (seq > 1 and prev == GENESIS_HASH):
                    return _failed(rng, seq, prev, _unlinked(seq))
                at = row[1]
                if at < prev_at:
                    if seq >= ordered_from:
                        return _failed(rng, seq, prev, _back_in_time(seq, at, prev_at))
                    back_count += 1
                    back_first = back_first or seq
                prev = stored_hash
                prev_at = at
                expected_seq += 1
        except (TypeError, ValueError):
            # A value no writer could have stored (a BLOB, or NULL where text was hashed)
            # has no canonical form, so it cannot match its hash.
            return _failed(rng, expected_seq, prev, _edited(expected_seq))
        if progress is not None:  # events verified, not rows read (the anchor is not)
            progress(expected_seq - reported)
            reported = expected_seq
    back = (back_first, back_count) if back_count else None
    return RangeOutcome(first, None, expected_seq - first, prev, back), expected_seq


def _missing(seq: int, found: int) -> str:
    return (
        f"event {seq}: missing; the log goes from event {seq - 1} to event {found} "
        "(deleted, or events renumbered)"
    )


def _edited(seq: int) -> str:
    return f"event {seq}: its content does not match its hash (edited)"


def _unlinked(seq: int) -> str:
    return (
        f"event {seq}: prev_hash does not match the hash of event {seq - 1} "
        "(an event was inserted, deleted or reordered before it)"
    )


def _back_in_time(seq: int, at: str, prev_at: str) -> str:
    return (
        f"event {seq}: dated {at}, before event {seq - 1} ({prev_at}); times never go back "
        "along the chain (a forged or re-dated event)"
    )


def _failed(rng: Range, seq: int, prev: str, message: str) -> tuple[RangeOutcome, int]:
    """The outcome of a range that breaks at ``seq``: events before it were verified."""
    return RangeOutcome(rng.first, (message, seq), seq - rng.first, prev), rng.last + 1


PROGRESS_STEP = 20 * BATCH  # events between a worker's progress reports
DSN_ENV = "REVIEW_FLOW_VERIFY_DSN"  # passed by environment, never on a command line


def connect(dialect: str, dsn: str) -> Any:
    """A plain driver connection: workers import neither SQLAlchemy nor the app."""
    if dialect == "postgresql":
        import psycopg

        return psycopg.connect(dsn)
    import sqlite3

    conn = sqlite3.connect(dsn)
    conn.execute("PRAGMA query_only = ON")  # a verify worker never writes
    return conn


def _main(argv: list[str]) -> int:
    """Worker process of a parallel verify: ``python -m review_flow.audit.chainwalk
    DIALECT [progress]``, the database named by ``$REVIEW_FLOW_VERIFY_DSN``.

    Prints ``ready`` once connected, then for each ``FIRST LAST HEAD ORDERED_FROM`` line read from
    stdin one ``result {json}`` line (after ``progress N`` lines, if asked); exits at
    the end of its input.
    """
    import json
    import os
    import sys

    dialect = argv[0]
    out = sys.stdout
    done = [0]  # events verified but not yet reported

    def tick(k: int) -> None:
        # Every line wakes a thread in the parent, which then takes the GIL from the
        # parent's own verify: report in steps of PROGRESS_STEP events, not per batch.
        done[0] += k
        if done[0] >= PROGRESS_STEP:
            report()

    def report() -> None:
        if done[0]:
            out.write(f"progress {done[0]}\n")
            out.flush()
            done[0] = 0

    progress = tick if argv[1:] == ["progress"] else None
    conn = connect(dialect, os.environ[DSN_ENV])
    try:
        out.write("ready\n")
        out.flush()
        for line in sys.stdin:
            first, last, head, ordered_from = map(int, line.split())
            o = verify_range(conn, dialect, Range(first, last, head, ordered_from), progress)
            report()
            result = {
                "first": o.first,
                "events": o.events,
                "last_hash": o.last_hash,
                "failure": o.failure,
                "back": o.back,
            }
            out.write("result " + json.dumps(result) + "\n")
            out.flush()
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
