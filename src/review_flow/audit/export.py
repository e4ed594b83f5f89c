"""Exports of the audit log as JSON Lines or CSV, streamed in constant memory.

The rows come from one Core SELECT read through a server-side cursor a batch at a time
(no ORM object per row), and leave as text chunks of many rows each, so a million events
cost what the database takes to send them plus one ``str.join`` per batch: the database
writes each line, the JSON object or the CSV record (the same bytes as Python's
``csv.writer``; :func:`csv_line`), so no value is touched in Python (docs/PERFORMANCE.md,
"Audit export"). Every export is recorded
first, in a transaction of its own (:func:`record_export`), and reads exactly the events
up to that record: what was exported, by whom and when is itself in the log.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from review_flow.audit import log as audit_log
from review_flow.audit import query
from review_flow.audit.models import AuditChainHead
from review_flow.audit.query import EventFilter
from review_flow.timeutil import UTCDateTime, isoformat

# The columns of both formats (DESIGN.md, "An exported event"), in query.COLUMNS' order
# but for "actor" (the name as shown then) before "actor_id".
COLUMNS: tuple[str, ...] = (
    "seq",
    "at",
    "actor",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "article_id",
    "from_state",
    "to_state",
    "revision",
    "content_hash",
    "comment",
    "workflow_version",
    "policy_version",
    "request_id",
    "client_addr",
    "data",
    "prev_hash",
    "hash",
)
FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
BATCH = 5_000


def event_as_dict(e: Any) -> dict[str, Any]:
    """One event (an ORM object) in the export shape, ``data`` parsed (the API's lists)."""
    return {
        "seq": e.seq,
        "at": isoformat(e.at),
        "actor": e.actor_name,
        "actor_id": e.actor_id,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "article_id": e.article_id,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "revision": e.revision,
        "content_hash": e.content_hash,
        "comment": e.comment,
        "workflow_version": e.workflow_version,
        "policy_version": e.policy_version,
        "request_id": e.request_id,
        "client_addr": e.client_addr,
        "data": e.data,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _time_text(dialect: str) -> Any:
    """The event's time as the export's ISO text, made by the database: on SQLite the
    text as stored (timeutil's storage format is that form), on PostgreSQL ``to_char``
    in UTC. No datetime is built per row."""
    if dialect == "sqlite":
        return type_coerce(query.E.at, String)
    return func.to_char(func.timezone("UTC", query.E.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


def _columns(dialect: str) -> list[Any]:
    """query.COLUMNS in export order (the name as shown then before the id), the time
    as text."""
    cols: list[Any] = list(query.COLUMNS)
    cols[2], cols[3] = cols[3], cols[2]
    cols[1] = _time_text(dialect).label("at")
    return cols


def _json_object(dialect: str) -> Any:
    """One JSON object per event, built by the database (SQLite's ``json_object``,
    PostgreSQL's ``json_build_object``): keys in :data:`COLUMNS` order, ``data`` embedded
    as the JSON it is stored as."""
    args: list[Any] = []
    for name, column in zip(COLUMNS, _columns(dialect), strict=True):
        if name == "data":
            column = (func.json(query.E.data_json) if dialect == "sqlite"
                      else cast(query.E.data_json, JSON))
        args += [literal(name), column]
    if dialect == "sqlite":
        return func.json_object(*args)
    return cast(func.json_build_object(*args), Text)  # as text: psycopg would parse json


def _csv_field(column: Any, dialect: str) -> Any:
    """One value as ``csv.writer`` (``QUOTE_MINIMAL``, ``,`` and ``"``, lines ending in
    ``\\n``) writes it: NULL as nothing, a whole number as its digits, a text quoted,
    its quotes doubled, only when it holds a quote, a comma, a CR or an LF."""
    if isinstance(column.type, Integer):
        return func.coalesce(type_coerce(cast(column, Text), String), "")
    text_value = type_coerce(column, String)
    find = func.instr if dialect == "sqlite" else func.strpos
    special = or_(*(find(text_value, ch) > 0 for ch in ('"', ",", "\n", "\r")))
    quoted = literal('"', String) + func.replace(text_value, '"', '""') + literal('"', String)
    return case((text_value.is_(None), ""), (special, quoted), else_=text_value)


def csv_line(dialect: str) -> Any:
    """One CSV record per event, without its line end, built by the database from
    :data:`COLUMNS` (the time as the export's text, ``data`` as stored)."""
    fields = [_csv_field(c, dialect) for c in _columns(dialect)]
    line = fields[0]
    for field in fields[1:]:
        line = line + literal(",", String) + field
    return line


def _fetch(session: Session, stmt: Any, batch: int | None) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` a batch at a time, as the driver's plain tuples, without a
    SQLAlchemy row per event (a fifth of the export's time at a million events).

    PostgreSQL: a named (server-side) psycopg cursor in the session's transaction, given
    the statement as SQLAlchemy compiles it; its parameters are whole numbers, text and
    aware datetimes, which psycopg adapts as SQLAlchemy would. SQLite has no server-side
    cursors, but its cursor steps through the rows as they are fetched: SQLAlchemy runs
    the statement (without ``stream_results`` it reads no rows ahead) and the driver's
    cursor is read directly."""
    size = batch or BATCH
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        compiled = stmt.compile(dialect=connection.dialect)
        driver = connection.connection.driver_connection
        with driver.cursor(name="review_flow_audit_export") as cursor:  # type: ignore[union-attr]
            cursor.itersize = size
            cursor.execute(str(compiled), compiled.params)
            while rows := cursor.fetchmany(size):
                yield rows
        return
    result = connection.execute(stmt)
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        result.close()


def _first_at_or_after(when: datetime, head: Any) -> Any:
    """The first event from ``ordered_from`` on dated at or after ``when``: one seek in
    ``ix_audit_events_at_seq`` (from there on times never go back along the chain)."""
    return (
        select(query.E.seq)
        .where(query.E.at >= literal(when, UTCDateTime), query.E.seq >= head.c.ordered_from)
        .order_by(query.E.at, query.E.seq)
        .limit(1)
        .scalar_subquery()
    )


def _statements(session: Session, f: EventFilter, *, through: int | None,
                columns: tuple[Any, ...]) -> list[Any]:
    """The statements that read ``f``'s events in chain order, one after the other.

    A time range seeks: from the chain head's ``ordered_from`` on, times never go back
    along the chain, so the events at or after ``since`` are every event from the first
    one dated at or after it, and those before ``until`` every event before the first
    one dated at or after ``until``; one statement finds both (two index seeks) and the
    export reads by sequence between them instead of testing every event's time from
    the first. Events before ``ordered_from`` (a log written before migration 0022) may
    be dated in any order: they are read first, by sequence, each time tested."""
    stmt = query.in_chain_order(f, through=through, columns=columns)
    if f.since is None and f.until is None:
        return [stmt]
    head = AuditChainHead.__table__.alias("head")
    row = session.execute(select(
        head.c.ordered_from,
        _first_at_or_after(f.since, head) if f.since is not None else literal(None),
        _first_at_or_after(f.until, head) if f.until is not None else literal(None),
    ).where(head.c.id == 1)).one()
    ordered_from, first, stop = row
    parts = []
    if ordered_from > 1:
        parts.append(stmt.where(query.E.seq < ordered_from))
    if f.since is not None and first is None:
        return parts  # no ordered event at or after ``since``
    ordered = stmt.where(query.E.seq >= max(first or 1, ordered_from))
    if stop is not None:
        ordered = ordered.where(query.E.seq < stop)
    return [*parts, ordered]


def _fetch_all(session: Session, stmts: list[Any],
               batch: int | None) -> Iterator[Sequence[Any]]:
    for stmt in stmts:
        yield from _fetch(session, stmt, batch)


def row_batches(session: Session, f: EventFilter | None = None, *,
                through: int | None = None,
                batch: int | None = None) -> Iterator[Sequence[Any]]:
    """The events of ``f`` in chain order, a batch at a time, as tuples in
    :data:`COLUMNS` order: the time as ISO text, ``data`` as the stored canonical JSON
    text (what the hash covers)."""
    dialect = session.get_bind().dialect.name
    stmts = _statements(session, f or EventFilter(), through=through,
                        columns=tuple(_columns(dialect)))
    return _fetch_all(session, stmts, batch)


def iter_rows(session: Session, f: EventFilter | None = None, *, through: int | None = None,
              batch: int | None = None) -> Iterator[tuple[Any, ...]]:
    """:func:`row_batches`, a row at a time."""
    for rows in row_batches(session, f, through=through, batch=batch):
        yield from rows


def jsonl_chunks(session: Session, f: EventFilter | None = None, *,
                 through: int | None = None, batch: int | None = None) -> Iterator[str]:
    """The JSON Lines text of ``f``'s events in chain order, a batch of lines a chunk."""
    dialect = session.get_bind().dialect.name
    stmts = _statements(session, f or EventFilter(), through=through,
                        columns=(_json_object(dialect),))
    for rows in _fetch_all(session, stmts, batch):
        yield "\n".join([r[0] for r in rows]) + "\n"


def iter_events(session: Session, *, article_id: int | None = None,
                since: datetime | None = None,
                f: EventFilter | None = None) -> Iterator[dict[str, Any]]:
    """The events as dicts in the export shape, ``data`` parsed (tests, small reads)."""
    f = f or EventFilter(article=article_id, since=since)
    for row in iter_rows(session, f):
        event = dict(zip(COLUMNS, row, strict=True))
        event["data"] = json.loads(event["data"]) if event["data"] else None
        yield event


def csv_chunks(session: Session, f: EventFilter | None = None, *,
               through: int | None = None, batch: int | None = None) -> Iterator[str]:
    """The CSV text: a header row, then one record per event in chain order, a batch of
    records a chunk (each record written by the database: :func:`csv_line`)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(COLUMNS)
    yield buf.getvalue()
    dialect = session.get_bind().dialect.name
    stmts = _statements(session, f or EventFilter(), through=through,
                        columns=(csv_line(dialect),))
    for rows in _fetch_all(session, stmts, batch):
        yield "\n".join([r[0] for r in rows]) + "\n"


def chunks(fmt: str, session: Session, f: EventFilter, *,
           through: int | None = None) -> Iterator[str]:
    """The export of ``f``'s events in ``fmt`` as text chunks."""
    if fmt == "jsonl":
        return jsonl_chunks(session, f, through=through)
    return csv_chunks(session, f, through=through)


def record_export(session: Session, *, actor: Any | None, f: EventFilter, fmt: str,
                  context: audit_log.RequestContext | None = None,
                  extra: dict[str, Any] | None = None) -> int:
    """Record "``actor`` exported the events of ``f`` as ``fmt``" and return the sequence
    number the export reads up to (the event before this record). The caller commits
    before streaming, so the record stands even if the download is cut short."""
    if fmt not in FORMATS:
        raise query.BadFilter(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}.",
                              parameter="format")
    event = audit_log.record(
        session, **audit_log.actor_of(actor), action="audit.export", object_type="audit",
        context=context,
        data={"format": fmt, "filter": f.params(), **(extra or {})},
    )
    through = event.seq - 1
    return through


# --- the dict-based writers (small exports, tests) ---------------------------------------

def write_jsonl(events: Iterable[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for event in events:
        out.write(json.dumps(event, ensure_ascii=False, sort_keys=False) + "\n")
        n += 1
    return n


def write_csv(events: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for event in events:
        if event["data"] is not None:
            event = {**event, "data": json.dumps(event["data"], ensure_ascii=False,
                                                 separators=(",", ":"), sort_keys=True)}
        writer.writerow(event)
        n += 1
    return n
