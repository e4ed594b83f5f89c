"""Positions in browser lists ordered by (time, id): the ``after`` query argument.

A list page is read from the position of the last row shown ("keyset"), never by
skipping rows (OFFSET), so page 2,000 costs what page 1 costs and a row added meanwhile
neither repeats nor hides another. The position is the row's sort time in microseconds
since the epoch and its id, ``"<µs>-<id>"``: plain digits, safe in a URL. Anything else,
a mangled or hand-made value included, means the first page, as with
``read_models.parse_cursor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ID = 2**62  # as read_models.MAX_CURSOR: larger ids are no row's (SQLite cannot bind them)
_FORMAT = re.compile(r"(\d{1,16})-(\d{1,19})")
# Python's datetime ends in the year 9999: larger microsecond counts are no time.
_MAX_MICROS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Position:
    at: datetime
    id: int


def encode(at: datetime, row_id: int) -> str:
    micros = (at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{row_id}"


def decode(raw: str | None) -> Position | None:
    """The position in ``raw``, or None (the first page) for anything that is not one."""
    match = _FORMAT.fullmatch(raw or "")
    if match is None:
        return None
    micros, row_id = int(match.group(1)), int(match.group(2))
    if micros > _MAX_MICROS or not 0 < row_id <= MAX_ID:
        return None
    return Position(_EPOCH + timedelta(microseconds=micros), row_id)
