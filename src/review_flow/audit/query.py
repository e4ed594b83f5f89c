"""Which audit events an auditor asked for: the explorer's and the export's filters.

One filter (article, actor, action, state, time range; any combination) read from query
parameters or command-line options, checked once, and turned into one SQL statement. The
explorer reads it newest first a page at a time from a position (keyset: the last row's
time and sequence number, never OFFSET); the export reads all of it in chain order.
Every filter has an index that leads with its column and continues in the explorer's
order (migration 0024), so each page is one index range whatever the page's depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, literal, select, tuple_, union
from sqlalchemy.sql.elements import ColumnElement

from review_flow.audit.actions import AUDIT_ACTIONS
from review_flow.audit.models import AuditEvent
from review_flow.errors import ReviewFlowError
from review_flow.timeutil import UTCDateTime, isoformat
from review_flow.workflow.definition import STATES

# The query parameters (DESIGN.md, "Auditors"), in the order forms and records show them.
PARAMETERS = ("article", "actor", "action", "state", "since", "until")
# Ids past this are no row's (SQLite cannot bind them).
MAX_ID = 2**62


class BadFilter(ReviewFlowError):
    """A filter value that is not one: ``details['parameter']`` names it."""

    code = "bad_filter"
    status = 400


@dataclass(frozen=True)
class EventFilter:
    """What to show; None leaves that side open. ``since`` is inclusive, ``until`` not."""

    article: int | None = None
    actor: int | None = None
    action: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, str]:
        """The filter as query parameters (links, the export's audit record)."""
        return as_params(self, PARAMETERS)

    @property
    def empty(self) -> bool:
        return not self.params()


def parse(args: Mapping[str, str | None]) -> EventFilter:
    """The filter in ``args`` (query parameters or CLI options); a blank value is no
    filter. Raises :class:`BadFilter` naming the first parameter that is not valid."""
    values = raw_values(args, PARAMETERS)
    return EventFilter(
        whole(values["article"], "article", "an article id"),
        whole(values["actor"], "actor", "a person's id"),
        _one_of(values["action"], "action", AUDIT_ACTIONS, "audit action"),
        _one_of(values["state"], "state", STATES, "workflow state"),
        *time_range(values),
    )


# The pieces every audit filter is made of (``signatures_report.py`` too), so that the
# same value is read, refused and written back the same way on every page.


def raw_values(args: Mapping[str, str | None], names: Iterable[str]) -> dict[str, str]:
    """The parameters ``names`` of ``args``, stripped; a missing one is blank."""
    return {name: (args.get(name) or "").strip() for name in names}


def as_params(f: Any, names: Iterable[str]) -> dict[str, str]:
    """The filter ``f``'s fields ``names`` that are set, as query parameters."""
    out: dict[str, str] = {}
    for name in names:
        value = getattr(f, name)
        if isinstance(value, datetime):
            out[name] = isoformat(value) or ""
        elif value is not None:
            out[name] = str(value)
    return out


def whole(raw: str, name: str, what: str) -> int | None:
    """An id (``what`` says whose) in parameter ``name``; blank is None."""
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise BadFilter(f"{name} must be {what} (a whole number above 0), not {raw[:40]!r}.",
                    parameter=name)


def time_range(values: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """(since, until) of the stripped ``values``; until must be later than since."""
    since, until = parse_time(values["since"], "since"), parse_time(values["until"], "until")
    if since is not None and until is not None and until <= since:
        raise BadFilter(
            f"until ({isoformat(until)}) must be later than since ({isoformat(since)}).",
            parameter="until")
    return since, until


def _one_of(raw: str, name: str, known: Any, what: str) -> str | None:
    if not raw:
        return None
    if raw in known:
        return raw
    raise BadFilter(f"{name} must be a known {what}, not {raw[:40]!r}.", parameter=name)


def parse_time(raw: str, name: str) -> datetime | None:
    """ISO 8601; a time without a zone is UTC (what the form's fields say). A time that
    leaves the calendar once made UTC (year 9999 behind UTC, year 1 ahead of it) is
    refused as a bad filter too, not a server error."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise BadFilter(f"{name}: {raw[:40]!r} is not an ISO 8601 time (such as "
                        "2026-11-30T16:00:00Z).", parameter=name) from None





@dataclass(frozen=True)
class Position:
    """Where a page ends: the last row's time and sequence number."""

    at: datetime
    seq: int


E = AuditEvent
# What the explorer shows and the export writes, in the export's column order.
COLUMNS = (E.seq, E.at, E.actor_id, E.actor_name, E.action, E.object_type, E.object_id,
           E.article_id, E.from_state, E.to_state, E.revision, E.content_hash, E.comment,
           E.workflow_version, E.policy_version, E.request_id, E.client_addr, E.data_json,
           E.prev_hash, E.hash)


def _conditions(f: EventFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.article is not None:
        conds.append(E.article_id == f.article)
    if f.actor is not None:
        conds.append(E.actor_id == f.actor)
    if f.action is not None:
        conds.append(E.action == f.action)
    if f.since is not None:
        conds.append(E.at >= literal(f.since, UTCDateTime))
    if f.until is not None:
        conds.append(E.at < literal(f.until, UTCDateTime))
    return conds


def page(f: EventFilter, *, before: Position | None, limit: int,
         columns: tuple[Any, ...] = COLUMNS) -> Select[Any]:
    """Up to ``limit`` events of ``f``, newest first (time, then sequence), older than
    ``before``. A state filter (the event left or entered the state) reads the two state
    indexes, each for one page, and keeps the newest ``limit`` of both."""
    conds = _conditions(f)
    if before is not None:
        conds.append(tuple_(E.at, E.seq) < tuple_(literal(before.at, UTCDateTime),
                                                  literal(before.seq)))
    if f.state is None:
        return (select(*columns).where(*conds)
                .order_by(E.at.desc(), E.seq.desc()).limit(limit))
    branches = [
        select(*columns).where(*conds, state_column == f.state)
        .order_by(E.at.desc(), E.seq.desc()).limit(limit).subquery()
        for state_column in (E.from_state, E.to_state)
    ]
    merged = union(*(select(b) for b in branches)).subquery()
    return select(merged).order_by(merged.c.at.desc(), merged.c.seq.desc()).limit(limit)


def in_chain_order(f: EventFilter, *, through: int | None = None,
                   columns: tuple[Any, ...] = COLUMNS) -> Select[Any]:
    """Every event of ``f`` (up to sequence number ``through``), oldest first by sequence:
    the export's order, in which each event's ``prev_hash`` is the hash of the one before."""
    conds = _conditions(f)
    if through is not None:
        conds.append(E.seq <= through)
    if f.state is not None:
        conds.append((E.from_state == f.state) | (E.to_state == f.state))
    return select(*columns).where(*conds).order_by(E.seq)
