"""A revision's body as numbered paragraphs: what a comment thread is anchored to.

A "paragraph" is a top-level Markdown block (a paragraph, heading, list, table, quote),
numbered from 1 in reading order. Each block is rendered from the same token stream as
the whole body (``rendering.markdown_to_html``), through the same sanitizer, so the
review page can show threads under the paragraph they are about. Cached by body text:
a revision's body never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from review_flow.articles import rendering


@dataclass(frozen=True)
class Paragraph:
    number: int
    source: str  # the block's Markdown, as the author wrote it
    html: str  # sanitized HTML of the block alone


@lru_cache(maxsize=256)
def _split(body: str) -> tuple[Paragraph, ...]:
    md = rendering.markdown_parser()
    env: dict[str, object] = {}
    tokens = md.parse(body, env)
    lines = body.splitlines()
    out: list[Paragraph] = []
    start = 0
    depth = 0
    for i, token in enumerate(tokens):
        if token.level != 0 and depth == 0:
            continue
        depth += token.nesting
        if depth != 0:
            continue
        opening = tokens[start]
        first, last = opening.map or (0, 0)
        source = "\n".join(lines[first:last]).strip()
        html = rendering.clean_html(md.renderer.render(tokens[start:i + 1], md.options, env))
        out.append(Paragraph(len(out) + 1, source, html))
        start = i + 1
    return tuple(out)


def paragraphs(body: str) -> tuple[Paragraph, ...]:
    """The body's top-level blocks, numbered from 1."""
    return _split(body)
