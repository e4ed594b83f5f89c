"""Each of the two rendering layers holds on its own (articles/rendering.py).

The hostile-input tests in tests/web/test_rendering.py pass as long as either layer
works, so they cannot notice one layer being lost. These pin each layer separately:
markdown-it with raw HTML off shows HTML a draft contains as text, even tags the
cleaner would allow; nh3 strips what markdown-it itself emits but the allow-list does
not permit, and marks every link.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from review_flow.articles.rendering import markdown_to_html


@pytest.mark.parametrize(
    "source",
    [
        "<em>urgent</em>",
        '<a href="https://example.org/cure">a cure</a>',
        # A fake citation would pass the cleaner (sup and a with class are allowed).
        '<sup class="cite"><a href="#ref-9" class="cite">9</a></sup>',
    ],
)
def test_raw_html_in_a_draft_is_shown_as_text(source: str) -> None:
    """Raw HTML off: markup the allow-list would keep still never becomes markup."""
    elements, text = _parse(markdown_to_html(f"Before {source} after."))
    assert elements == ["p"]
    assert text == f"Before {source} after."


def _parse(html: str) -> tuple[list[str], str]:
    """The elements a browser would build from ``html``, in order, and its text."""
    elements: list[str] = []
    text: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            elements.append(tag)

        def handle_data(self, data: str) -> None:
            text.append(data)

    Parser(convert_charrefs=True).feed(html)
    return elements, "".join(text).strip()


def test_every_link_is_marked_noopener_noreferrer_nofollow() -> None:
    html = markdown_to_html('[a source](https://example.org/s "its title") and [1].')
    assert ('<a href="https://example.org/s" title="its title" '
            'rel="noopener noreferrer nofollow">a source</a>') in html


@pytest.mark.parametrize("url", ["ftp://example.org/file", "irc://example.org/chan",
                                 "ssh://example.org", "tel:+15551234"])
def test_a_link_to_a_scheme_outside_the_allow_list_loses_its_target(url: str) -> None:
    """markdown-it lets these through; the cleaner keeps only http, https and mailto."""
    html = markdown_to_html(f"[click here]({url})")
    assert "href" not in html and url not in html
    assert "click here" in html


def test_table_alignment_styles_are_dropped() -> None:
    """markdown-it writes alignment as a style attribute; no style reaches the page."""
    html = markdown_to_html("| dose | unit |\n|---:|:---:|\n| 5 | mg |\n")
    assert "<td>5</td>" in html and "<th>dose</th>" in html
    assert "style" not in html


def test_code_block_language_classes_are_dropped() -> None:
    html = markdown_to_html("```js\nlet x = 1;\n```\n")
    assert html == "<pre><code>let x = 1;\n</code></pre>\n"
