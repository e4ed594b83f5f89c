"""Cursors for list endpoints: a position (the last item's sort key) in one list. Ordering
is on immutable keys (ids, sequence numbers), so a page never repeats or skips an item when
others are added meanwhile.

A cursor is ``<list>_<position in lowercase hex>``, e.g. ``articles_1f4``. Its exact form
is a pattern in the OpenAPI document (:func:`pattern`), one per list, that also bounds the
position to what the list's key column holds: every string the pattern accepts is a
cursor of that list, and anything else (another list's cursor, a made-up one) is refused
with 400 ``invalid_cursor``. Treat cursors as tokens: pass back what ``next_cursor`` gave.

Beside ``next_cursor`` in the body, a page that has a next one says so in a
``Link: <...>; rel="next"`` header (RFC 8288), the request's own URL with the cursor
replaced, so generic HTTP clients can follow pages without knowing our body shape."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from review_flow.api.errors import Malformed

# Bits of each list's key: ids and revision numbers are integer columns (PostgreSQL
# refuses to bind more into one), audit sequence numbers are big integers.
KEY_BITS = {
    "articles": 31,
    "history": 62,
    "revisions": 31,
    "audit": 62,
    "tokens": 31,
    "webhooks": 31,
    "deliveries": 31,
    "threads": 31,
}


def _hex_up_to(bits: int) -> str:
    """A regex for lowercase hex numbers up to 2**bits - 1 (leading zeros allowed)."""
    digits, top = divmod(bits, 4)
    if top == 0:
        return f"[0-9a-f]{{1,{digits}}}"
    return f"[0-{(1 << top) - 1}]?[0-9a-f]{{1,{digits}}}"


def pattern(kind: str) -> str:
    """The document's pattern for ``kind``'s cursors (ECMA-262, Rust and Python alike)."""
    return f"^{kind}_{_hex_up_to(KEY_BITS[kind])}$"


_COMPILED = {kind: re.compile(pattern(kind)) for kind in KEY_BITS}


def encode(kind: str, position: int) -> str:
    return f"{kind}_{position:x}"


def invalid() -> Malformed:
    return Malformed(
        "cursor: not a cursor from this list; start again without one.",
        code="invalid_cursor",
        fields={"cursor": "invalid"},
    )


def decode(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    if not _COMPILED[kind].fullmatch(cursor):
        raise invalid()
    return int(cursor[len(kind) + 1 :], 16)


def next_link(path: str, args: list[tuple[str, str]], cursor: str) -> str:
    """The ``Link`` header value for the page after this one: the same path and query
    (every parameter kept, in order) with ``cursor`` replaced. A relative reference, so
    it stays right behind any proxy that rewrites the host or scheme."""
    query = [(k, v) for k, v in args if k != "cursor"] + [("cursor", cursor)]
    return f'<{path}?{urlencode(query)}>; rel="next"'
