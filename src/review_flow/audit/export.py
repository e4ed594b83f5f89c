"""Exports of the audit log as JSON Lines or CSV, streamed in constant memory.

The rows come from one Core SELECT read through a server-side cursor a batch at a time
(no ORM object per row), and leave as text chunks of many rows each, so a million events
cost what the database takes to send them plus one ``csv.writer.writerows`` or one
``str.join`` per batch (docs/PERFORMANCE.md, "Audit export"). Every export is recorded
first, in a transaction of its own (:func:`record_export`), and reads exactly the events
up to that record: what was exported, by whom and when is itself in the log.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import String, type_coerce
from sqlalchemy.orm import Session

from review_flow.audit import log as audit_log
from review_flow.audit import query
from review_flow.audit.query import EventFilter
from review_flow.timeutil import isoformat

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
_DATA = COLUMNS.index("data")


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


def _columns(session: Session) -> tuple[Any, ...]:
    """query.COLUMNS in export order; on SQLite the time as stored, which is already the
    export's ISO form (timeutil), so no datetime is built per row."""
    cols = list(query.COLUMNS)
    cols[2], cols[3] = cols[3], cols[2]  # actor (name), then actor_id
    if session.get_bind().dialect.name == "sqlite":
        cols[1] = type_coerce(query.E.at, String).label("at")
    return tuple(cols)


def iter_rows(session: Session, f: EventFilter = EventFilter(), *, through: int | None = None,
              batch: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The events of ``f`` in chain order as tuples in :data:`COLUMNS` order, the time as
    ISO text and ``data`` as the stored canonical JSON text (what the hash covers)."""
    stmt = query.in_chain_order(f, through=through, columns=_columns(session))
    result = session.execute(stmt.execution_options(stream_results=True,
                                                    yield_per=batch or BATCH))
    text_times = session.get_bind().dialect.name == "sqlite"
    for rows in result.partitions():
        if text_times:
            yield from rows  # type: ignore[misc]
        else:
            for r in rows:
                yield (r[0], isoformat(r[1]), *r[2:])


def iter_events(session: Session, *, article_id: int | None = None,
                since: datetime | None = None,
                f: EventFilter | None = None) -> Iterator[dict[str, Any]]:
    """The events as dicts in the export shape, ``data`` parsed (tests, small reads)."""
    f = f or EventFilter(article=article_id, since=since)
    for row in iter_rows(session, f):
        event = dict(zip(COLUMNS, row, strict=True))
        event["data"] = json.loads(event["data"]) if event["data"] else None
        yield event


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def csv_chunks(rows: Iterator[tuple[Any, ...]], size: int | None = None) -> Iterator[str]:
    """The CSV text: a header row, then one row per event, ``size`` rows a chunk."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for chunk in _batches(rows, size or BATCH):
        writer.writerows(chunk)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue()


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
# One JSON object per event; ``data`` is spliced in as stored (canonical JSON already).
_HEAD = tuple(f'"{name}":' for name in COLUMNS)


def _jsonl_line(row: tuple[Any, ...]) -> str:
    parts = []
    for i, value in enumerate(row):
        if i == _DATA:
            parts.append(_HEAD[i] + (value or "null"))
        elif value is None:
            parts.append(_HEAD[i] + "null")
        elif isinstance(value, int):
            parts.append(_HEAD[i] + str(value))
        else:
            parts.append(_HEAD[i] + _ENCODE(value))
    return "{" + ",".join(parts) + "}\n"


def jsonl_chunks(rows: Iterator[tuple[Any, ...]], size: int | None = None) -> Iterator[str]:
    """The JSON Lines text, one object per event, ``size`` events a chunk."""
    for chunk in _batches(rows, size or BATCH):
        yield "".join(map(_jsonl_line, chunk))


def chunks(fmt: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    return csv_chunks(rows) if fmt == "csv" else jsonl_chunks(rows)


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
