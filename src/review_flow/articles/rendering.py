"""Markdown to safe HTML, numbered citation links, and word-level diffs.

Domain code (no Flask): the web UI, and later the API or exports, show a revision
through :func:`render_revision`. A revision never changes and its content hash covers
title, body and references, so the rendering is cached by content hash: each revision
is rendered once per process, and the cache cannot serve stale text.

Two layers keep hostile text inert. markdown-it runs with raw HTML off (``<script>`` in
a draft becomes visible text) and refuses ``javascript:``/``data:`` links; then nh3
cleans the output against an allow-list of tags, attributes and URL schemes, so even a
bug in the first layer cannot let a script, event handler or ``style`` through.
Titles, references and comments are never rendered as HTML at all: templates escape
them as text.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from review_flow.articles.content import citation_numbers

RENDERER_VERSION = 1

_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "sup", "table", "thead", "tbody", "tr", "th", "td",
    "del", "s",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class", "id"},
    "sup": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
    attributes=_ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)

# [2], [1, 3], [2-4], [2\u20134] (en dash): the same grammar the submit guard checks (content.py).
_CITATION = re.compile(r"\[(\d+(?:\s*[,\u2013-]\s*\d+)*)\](?!\()")


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: a citation marker becomes links to the numbered reference list."""
    if state.src[state.pos] != "[":
        return False
    if state.pos > 0 and state.src[state.pos - 1] in "\\!":
        return False
    match = _CITATION.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {"marker": match.group(1)}
    state.pos = match.end()
    return True


def _render_citation(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    marker: str = tokens[idx].meta["marker"]
    parts = re.split(r"(\s*[,\u2013-]\s*)", marker)
    out = []
    for part in parts:
        if part.strip().isdigit():
            n = int(part)
            out.append(f'<a href="#ref-{n}" class="cite">{n}</a>')
        else:
            out.append(html.escape(part.strip() if "," not in part else ", "))
    return f'<sup class="cite">[{"".join(out)}]</sup>'


def _demote_headings(state: Any) -> None:
    """The page title is the only <h1>: body headings start at <h2> (screen readers)."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 6)
            token.tag = f"h{level}"


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    md.disable("image")  # no remote images in medical text: tracking and spoofing risks
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    md.core.ruler.push("demote_headings", _demote_headings)
    return md


_MD = _build()


def markdown_to_html(text: str) -> str:
    """Markdown to sanitized HTML (no raw HTML, no scripts, no styles, safe URLs only)."""
    return _CLEANER.clean(_MD.render(text))


@dataclass(frozen=True)
class RenderedReference:
    number: int
    title: str
    url: str | None
    doi: str | None
    pmid: str | None
    cited: bool

    @property
    def links(self) -> list[tuple[str, str]]:
        """(label, href) pairs; every href is http(s) by construction."""
        out = []
        if self.url:
            out.append((self.url, self.url))
        if self.doi:
            out.append((f"doi:{self.doi}", f"https://doi.org/{self.doi}"))
        if self.pmid:
            out.append((f"PMID {self.pmid}", f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"))
        return out


@dataclass(frozen=True)
class RenderedRevision:
    body_html: str
    references: tuple[RenderedReference, ...]


def _safe_url(url: Any) -> str | None:
    if isinstance(url, str) and re.match(r"^https?://", url, re.IGNORECASE):
        return url
    return None


@lru_cache(maxsize=4096)
def _render_cached(content_hash: str, body: str, refs: tuple[tuple[Any, ...], ...]
                   ) -> RenderedRevision:
    cited = set(citation_numbers(body))
    return RenderedRevision(
        body_html=markdown_to_html(body),
        references=tuple(
            RenderedReference(
                number=i,
                title=str(title),
                url=_safe_url(url),
                doi=doi,
                pmid=pmid,
                cited=i in cited,
            )
            for i, (title, url, doi, pmid) in enumerate(refs, start=1)
        ),
    )


def render_preview(body: str, references: list[dict[str, Any]]) -> RenderedRevision:
    """Unsaved text as readers would see it (the editor's Preview), sanitized exactly as
    a revision is, but not cached: a preview is seen once and must not evict revisions."""
    refs = tuple(
        (r.get("title", ""), r.get("url"), r.get("doi"), r.get("pmid")) for r in references
    )
    return _render_cached.__wrapped__("preview", body, refs)


def render_revision(content_hash: str, body: str, references: list[dict[str, Any]]
                    ) -> RenderedRevision:
    """The body as safe HTML plus the numbered reference list, cached by content hash."""
    refs = tuple(
        (r.get("title", ""), r.get("url"), r.get("doi"), r.get("pmid")) for r in references
    )
    return _render_cached(content_hash, body, refs)


# --- word-level diff ---------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class DiffStats:
    inserted: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.deleted)


def _words(tokens: list[str]) -> int:
    """Words only: punctuation and whitespace tokens are not counted."""
    return sum(1 for t in tokens if t[0].isalnum() or t[0] == "_")


def _word_level(old: str, new: str, out: list[str]) -> tuple[int, int]:
    a, b = _tokens(old), _tokens(new)
    inserted = deleted = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(b[j1:j2])))
            continue
        if op in ("delete", "replace"):
            deleted += _words(a[i1:i2])
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            inserted += _words(b[j1:j2])
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return inserted, deleted


def word_diff(old: str, new: str) -> tuple[str, DiffStats]:
    """HTML of ``new`` with inserted words in <ins> and removed words in <del>.

    Lines are matched first, so a new paragraph shows as one insertion instead of being
    stitched into its neighbours; changed lines are then compared word by word. Works on
    the source text (what the signer approves), whitespace kept. All text is escaped;
    the only markup is <ins> and <del>.
    """
    a_lines, b_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[str] = []
    inserted = deleted = 0
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old_block, new_block = "".join(a_lines[i1:i2]), "".join(b_lines[j1:j2])
        if op == "equal":
            out.append(html.escape(new_block))
        elif op == "insert":
            inserted += _words(_tokens(new_block))
            out.append(f"<ins>{html.escape(new_block)}</ins>")
        elif op == "delete":
            deleted += _words(_tokens(old_block))
            out.append(f"<del>{html.escape(old_block)}</del>")
        else:
            ins, dels = _word_level(old_block, new_block, out)
            inserted += ins
            deleted += dels
    return "".join(out), DiffStats(inserted, deleted)


def references_text(references: list[dict[str, Any]]) -> str:
    """References as numbered lines, for diffing."""
    lines = []
    for i, r in enumerate(references, start=1):
        locs = [v for v in (r.get("url"), r.get("doi") and f"doi:{r['doi']}",
                            r.get("pmid") and f"PMID {r['pmid']}") if v]
        lines.append(f"[{i}] {r.get('title', '')} — {', '.join(locs)}")
    return "\n".join(lines)


def markdown_parser() -> MarkdownIt:
    """The configured parser (citations, no raw HTML), for callers that render parts of a
    body (``paragraphs.py``); what they render still goes through :func:`clean_html`."""
    return _MD


def clean_html(rendered: str) -> str:
    """The same allow-list cleaning :func:`markdown_to_html` applies."""
    return _CLEANER.clean(rendered)
