"""``review-flow audit export``: the log as JSON Lines or CSV, streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.audit.models import AuditEvent
from review_flow.timeutil import isoformat

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


def event_as_dict(e: AuditEvent) -> dict[str, Any]:
    """One event in the export shape (JSON Lines, CSV and the API's audit lists)."""
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


def iter_events(
    session: Session,
    *,
    article_id: int | None = None,
    since: datetime | None = None,
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    if article_id is not None:
        stmt = stmt.where(AuditEvent.article_id == article_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    for e in session.scalars(stmt):
        yield event_as_dict(e)
        session.expunge(e)


def write_jsonl(events: Iterator[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for event in events:
        out.write(json.dumps(event, ensure_ascii=False, sort_keys=False) + "\n")
        n += 1
    return n


def write_csv(events: Iterator[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for event in events:
        if event["data"] is not None:
            event = {**event, "data": json.dumps(event["data"], ensure_ascii=False, sort_keys=True)}
        writer.writerow(event)
        n += 1
    return n
