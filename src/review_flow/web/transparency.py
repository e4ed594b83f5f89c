"""``/transparency``: the latest signed checkpoints and the key that signed them.

Public, read-only, one query: the newest checkpoints a page at a time (keyset on id),
never the whole table.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from review_flow.audit import checkpoints
from review_flow.errors import ValidationFailed
from review_flow.web.context import db_session

PAGE_SIZE = 10
_MAX_ID = 2**31 - 1  # an INTEGER key on both backends


def _before() -> int | None:
    value = request.args.get("before")
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10 or int(value) > _MAX_ID:
        raise ValidationFailed(
            "'before' must be a checkpoint number, as in the link to older checkpoints",
            fields={"before": "not a checkpoint number"},
        )
    return int(value)


def _keys(rows: list[Any]) -> list[dict[str, str]]:
    """Each distinct signing key among the rows shown, newest first."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        if (row.key_name, row.public_key) not in seen:
            seen[(row.key_name, row.public_key)] = {
                "name": row.key_name,
                "key_id": row.key_id,
                "pem": checkpoints.public_key_pem(row.public_key),
                "verifier": checkpoints.verifier_key_of(row.key_name, row.public_key),
            }
    return list(seen.values())


def transparency() -> ResponseReturnValue:
    before = _before()
    rows = checkpoints.latest(db_session(), PAGE_SIZE + 1, before)
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    return render_template(
        "public/transparency.html", rows=rows, keys=_keys(rows), older=older, before=before
    )
