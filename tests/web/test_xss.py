"""Hostile text in titles, bodies, references and comments stays inert on every page."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.web.conftest import Browser
from tests.web.test_rendering import _Tags

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SCRIPT_BLOCK = re.compile(r"<script(?![^>]*application/ld\+json)", re.I)
# The scripts the templates ship (the audit log's local times, the editor's live
# preview), exactly as written: anything else that looks like a script came from the data.
OWN_SCRIPT = re.compile(
    r'<script src="/assets/(localtime|editor-preview)\.js(\?[^"]*)?" defer></script>')


def _assert_inert(html: str) -> None:
    html = OWN_SCRIPT.sub("", html)
    assert not SCRIPT_BLOCK.search(html), "an executable <script> element got through"
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in ("img", "iframe", "svg", "object", "embed", "style"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name == "href":
                assert not (value or "").strip().lower().startswith(
                    ("javascript:", "data:", "vbscript:")), value


def test_payloads_are_inert_on_every_page(as_role: Any, story: Any, client: Any) -> None:
    title = f"Title {PAYLOAD}"
    body = (f"Body {PAYLOAD} [1]\n\n[click](javascript:alert(1))\n\n"
            '<a href="javascript:alert(2)" style="color:red">x</a>\n')
    refs = [{"title": f"Ref {PAYLOAD}", "url": "https://example.org/?q=<script>"}]
    article_id = story.create(title=title, body=body, refs=refs)
    author = as_role("author")
    author.post(f"/articles/{article_id}/comments", {"body": f"Comment {PAYLOAD}"})
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer")
    reviewer = as_role("reviewer")
    pages = {
        "editor": author.get(f"/write/{article_id}").get_data(as_text=True),
        "my articles": author.get("/my-articles").get_data(as_text=True),
        "revision": author.get(f"/write/{article_id}/revisions/1").get_data(as_text=True),
        "queue": reviewer.get("/review").get_data(as_text=True),
        "review": reviewer.get(f"/review/{article_id}").get_data(as_text=True),
        "sign": reviewer.get(f"/review/{article_id}/sign/approve").get_data(as_text=True),
    }
    story.act(article_id, "approve", "reviewer")
    slug = story.slug(article_id)
    pages["public"] = client.get(f"/articles/{slug}").get_data(as_text=True)
    pages["index"] = client.get("/").get_data(as_text=True)
    pages["audit"] = as_role("auditor").get("/audit").get_data(as_text=True)
    pages["timeline"] = as_role("auditor").get(
        f"/audit/articles/{article_id}/timeline").get_data(as_text=True)
    pages["as of"] = as_role("editor").get(
        f"/audit/articles/{article_id}/as-of").get_data(as_text=True)
    for name, html in pages.items():
        _assert_inert(html)
        assert "&lt;script&gt;" in html or name in ("index",) or "&lt;script" in html, name
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                                pages["public"], re.S).group(1))  # type: ignore[union-attr]
    assert data["name"] == title  # JSON-LD carries the text, escaped as JSON
    assert "</script>" not in re.search(r'ld\+json">(.*?)</script>', pages["public"],
                                        re.S).group(1)  # type: ignore[union-attr]


def test_hostile_next_and_return_to_are_inert(browser: Browser, people: Any) -> None:
    page = browser.get('/sign-in?next="><script>alert(1)</script>').get_data(as_text=True)
    _assert_inert(page)
    assert "&#34;&gt;&lt;script&gt;" in page or "&quot;&gt;&lt;script&gt;" in page


def test_the_editor_preview_is_sanitized(as_role: Any, story: Any) -> None:
    """Preview renders what was typed, never saved: it goes through the same sanitizer."""
    author = as_role("author")
    before = story.event_count()
    body = (f"Body {PAYLOAD} [1]\n\n[click](javascript:alert(1))\n\n"
            '<a href="javascript:alert(2)" style="color:red">x</a>\n')
    page = author.post("/write/new", {
        "title": f"Title {PAYLOAD}", "body": body, "op": "preview",
        "references-0-title": f"Ref {PAYLOAD}", "references-0-url": "javascript:alert(3)",
        "references-0-doi": '"><script>alert(4)</script>',
    }).get_data(as_text=True)
    assert 'id="preview"' in page
    _assert_inert(page)
    preview = page.split('id="preview"')[1].split("</section>\n</section>")[0]
    assert "&lt;script&gt;" in preview and "Ref &lt;script&gt;" in preview
    assert '<a href="javascript' not in preview  # shown as text only, never a link
    assert story.event_count() == before


def test_comment_thread_markdown_is_sanitized(as_role: Any, story: Any) -> None:
    """Thread messages are Markdown rendered through the body's sanitizer: no script, no
    event handler, no javascript: link on the review page or the editor."""
    article_id = story.create(body="Hypertension often has no symptoms [1].\n")
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer")
    reviewer = as_role("reviewer")
    page = f"/review/{article_id}"
    hostile = (f"Look {PAYLOAD} [x](javascript:alert(1)) "
               '<a href="javascript:alert(2)" onclick="alert(3)">y</a> **bold**')
    assert reviewer.post(f"/articles/{article_id}/threads", {
        "body": hostile, "paragraph": "1", "quote": "no symptoms", "return_to": page},
        page=page).status_code == 303
    author = as_role("author")
    assert author.post(f"/articles/{article_id}/threads/1/replies",
                       {"body": f"Reply {PAYLOAD}"}, page=f"/write/{article_id}"
                       ).status_code == 303
    for who, html in (("reviewer", reviewer.get(page).get_data(as_text=True)),
                      ("author", author.get(f"/write/{article_id}").get_data(as_text=True))):
        _assert_inert(html)
        assert "&lt;script&gt;alert" in html, who
        assert "<strong>bold</strong>" in html, who
