"""Markdown rendering and word diffs (no database, no Flask)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from review_flow.articles.rendering import markdown_to_html, render_revision, word_diff

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    '<p style="position:fixed">x</p>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "[x](vbscript:msgbox(1))",
    '<div onclick="alert(1)">x</div>',
    "<style>body{display:none}</style>",
]


class _Tags(HTMLParser):
    """Every element and attribute in a fragment, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str) -> None:
    """No script-capable element, event handler, style, or non-http(s) link survives."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in ("script", "style", "iframe", "img", "svg", "object", "embed",
                           "div", "form", "input", "link", "meta"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src"):
                assert (value or "").startswith(("https://", "http://", "mailto:", "#")), value


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_markdown_is_inert(attack: str) -> None:
    html = markdown_to_html(f"Text before.\n\n{attack}\n\nText after [1].")
    assert_inert(html)
    assert "Text after" in html


def test_citations_become_links_to_the_reference_list() -> None:
    html = markdown_to_html("One [1], two [2, 3], range [2-4], not `[5]`, link [a](https://x.org).")
    assert '<a href="#ref-1" class="cite"' in html
    assert '<a href="#ref-2" class="cite"' in html and '<a href="#ref-3" class="cite"' in html
    assert '<a href="#ref-4" class="cite"' in html
    assert "<code>[5]</code>" in html
    assert 'href="https://x.org"' in html


def test_body_headings_start_below_the_page_title() -> None:
    html = markdown_to_html("# Top\n\n## Sub\n")
    assert "<h2>Top</h2>" in html and "<h3>Sub</h3>" in html and "<h1" not in html


def test_rendering_is_cached_by_content_hash() -> None:
    refs = [{"title": "T", "pmid": "1"}]
    first = render_revision("sha256:abc", "Body [1].", refs)
    assert render_revision("sha256:abc", "Body [1].", refs) is first
    assert first.references[0].links == [("PMID 1", "https://pubmed.ncbi.nlm.nih.gov/1/")]
    assert first.references[0].cited


def test_reference_urls_are_only_http() -> None:
    rendered = render_revision("sha256:def", "x", [{"title": "T", "url": "javascript:alert(1)"}])
    assert rendered.references[0].url is None
    assert rendered.references[0].links == []


def test_word_diff_marks_words_and_escapes_text() -> None:
    html, stats = word_diff("Take one pill daily.", "Take two pills daily <script>.")
    assert html == ("Take <del>one</del><ins>two</ins> <del>pill</del><ins>pills</ins> daily"
                    "<ins> &lt;script&gt;</ins>.")
    assert (stats.inserted, stats.deleted) == (3, 2)
    escaped, _ = word_diff("<b onclick=x>bold</b>", "<i onclick=y>it</i>")
    parser = _Tags()
    parser.feed(escaped)
    assert {tag for tag, _ in parser.found} == {"ins", "del"}
    assert all(attrs == [] for _, attrs in parser.found)
    same, none = word_diff("Same text.", "Same text.")
    assert same == "Same text." and not none.changed


def test_a_new_paragraph_is_one_insertion() -> None:
    old = "First paragraph [1].\n\n## Heading\n"
    new = "First paragraph [1].\n\nA new claim, 130/80 mm Hg [1].\n\n## Heading\n"
    html, stats = word_diff(old, new)
    assert html == ("First paragraph [1].\n\n<ins>A new claim, 130/80 mm Hg [1].\n\n</ins>"
                    "## Heading\n")
    assert (stats.inserted, stats.deleted) == (8, 0)
