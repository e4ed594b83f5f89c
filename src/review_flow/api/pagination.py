"""Opaque cursors for list endpoints: a position (the last item's sort key), encoded so
clients treat it as a token. Ordering is on immutable keys (ids, sequence numbers), so a
page never repeats or skips an item when others are added meanwhile.

Beside ``next_cursor`` in the body, a page that has a next one says so in a
``Link: <...>; rel="next"`` header (RFC 8288), the request's own URL with the cursor
replaced, so generic HTTP clients can follow pages without knowing our body shape."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from review_flow.api.errors import Malformed

# The largest position each list can hold: ids and revision numbers are integer columns
# (PostgreSQL refuses to bind more into one), audit sequence numbers are big integers.
MAX_POSITION = {"audit": 2**62, "history": 2**62}
MAX_INT_COLUMN = 2**31 - 1


def encode(kind: str, position: int) -> str:
    raw = json.dumps([kind, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or value[0] != kind
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
        or not 0 <= value[1] <= MAX_POSITION.get(kind, MAX_INT_COLUMN)
    ):
        raise Malformed(
            "cursor: not a cursor from this list; start again without one.",
            code="invalid_cursor",
            fields={"cursor": "invalid"},
        )
    return value[1]


def next_link(path: str, args: list[tuple[str, str]], cursor: str) -> str:
    """The ``Link`` header value for the page after this one: the same path and query
    (every parameter kept, in order) with ``cursor`` replaced. A relative reference, so
    it stays right behind any proxy that rewrites the host or scheme."""
    query = [(k, v) for k, v in args if k != "cursor"] + [("cursor", cursor)]
    return f'<{path}?{urlencode(query)}>; rel="next"'
