"""Following a paginated web list the way a reader does: by its "next" link."""

from __future__ import annotations

import re
from html import unescape
from typing import Any


def next_link(html: str, label: str) -> str | None:
    """The address of the link labelled ``label``, or None on the last page."""
    match = re.search(r'<a href="([^"]+)">' + label + "</a>", html)
    return unescape(match.group(1)) if match else None


def walk(client: Any, url: str, label: str, pattern: re.Pattern[str]) -> list[list[str]]:
    """Every page's rows (what ``pattern`` finds, unescaped), following the ``label``
    link from ``url`` to the end."""
    pages: list[list[str]] = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, next_url
        html = response.get_data(as_text=True)
        pages.append([unescape(t) for t in pattern.findall(html)])
        next_url = next_link(html, label)
        assert len(pages) < 50, "the pager never ends"
    return pages
