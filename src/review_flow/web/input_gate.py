"""Text no page accepts: NUL characters, refused before any view reads the request.

PostgreSQL cannot store NUL in text and SQLite would store it silently, so a NUL in a
form field, a query argument or the path (a slug) is refused for every web route at
once with a 422 naming the field, and nothing is written. The JSON API has its own gate
(``api/blueprint.py``); the domain refuses NUL too (``articles/content.py``), for the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Request

from review_flow.errors import ValidationFailed


def _values(request: Request) -> Iterator[tuple[str, Any]]:
    for name, value in (request.view_args or {}).items():
        yield f"address ({name})", value
    for name, value in request.args.items(multi=True):
        yield f"query argument {name!r}", value
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        for name, value in request.form.items(multi=True):
            yield name, value


def refuse_nul(request: Request) -> None:
    """Raise ``ValidationFailed`` naming the first field that holds a NUL character."""
    for where, value in _values(request):
        if "\x00" in str(where) or (isinstance(value, str) and "\x00" in value):
            name = str(where).replace("\x00", "\\0")
            # A form's own name for the field: the summary of a form shows its label.
            said = name if name.startswith(("address", "query")) else f"form field “{name}”"
            raise ValidationFailed(
                f"The {said} contains a NUL character, which no text here may hold; remove "
                "it. Nothing was saved.",
                code="nul_character", fields={name: "contains NUL"},
            )
