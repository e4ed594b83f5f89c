"""Path values the web routes accept, checked before a view runs.

``<id:...>`` is a database id: 1 to 2^31 - 1, the range of an integer column on
PostgreSQL (SQLite's limit, 2^63 - 1, is wider). Anything else is no row's id, so the
route does not match and the answer is 404, instead of a query the database cannot bind.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """Digits only (no sign, no Unicode digits), at most ``MAX_ID``."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
