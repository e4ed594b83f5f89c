"""Reading and reviewing on a phone, and the editor's preview, in a real browser: the
public and review pages do not scroll sideways at 390 px with a long unbroken URL in a
reference and a long word in the text; each citation link is a 24 px target (WCAG 2.2,
2.5.8); the preview renders the sanitized text and keeps what was typed, and with
JavaScript follows the typing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from review_flow.actor import Actor
from review_flow.articles import actions, writes
from review_flow.db import Database
from review_flow.users import service as users
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_browser
from tests.browser.test_journey import check_accessibility, shot, sign_in
from tests.conftest import PASSWORD
from tests.support.servers import gunicorn

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)

LONG_URL = ("https://www.example.org/guidelines/2025/hypertension/" + "a1b2c3d4e5" * 14
            + "/full-text.pdf")
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
BODY = (f"High blood pressure often has no symptoms [1]. Some rare words are long: "
        f"{LONG_WORD} [2].\n\nTake medicines as prescribed [1, 2].\n")
REFS = [{"title": "A guideline with a very long address", "url": LONG_URL},
        {"title": "A trial", "doi": "10.1161/HYP.0000000000000065"}]


@pytest.fixture(scope="module")
def comfort_site(sqlite_template: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    """gunicorn on a database with an approved article citing a long unbroken URL."""
    _require_browser()
    path = tmp_path_factory.mktemp("comfort") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        for email, name, role, creds in [
            ("author@example.org", "Alex Author", "author", None),
            ("reed@example.org", "Dr. Maya Reed", "reviewer", "MD, FACP"),
        ]:
            users.add_user(s, email=email, name=name, roles=[role], password=PASSWORD,
                           credentials=creds)
    with db.transaction() as s:
        author = Actor(users.get_by_email(s, "author@example.org"))
        article = writes.create_article(s, author, title="Blood pressure, in long words",
                                        body=BODY, references=REFS)
        aid, slug = article.id, article.slug
    for email, action, password in [("author@example.org", "submit", None),
                                     ("reed@example.org", "start_review", None),
                                     ("reed@example.org", "approve", PASSWORD)]:
        with db.transaction() as s:
            actions.perform_action(s, Actor(users.get_by_email(s, email)), aid, action,
                                   password=password)
    db.dispose()
    with gunicorn(url, workers=1, timeout=120) as base:  # patient on a loaded machine
        yield base, aid, slug


@pytest.fixture(scope="module")
def browser(comfort_site: tuple[str, int, str]) -> Iterator[Any]:
    """Chromium without the shared ``site`` (its own server is not needed here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    return context.new_page()


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def _citation_sizes(page: Page) -> list[dict[str, float]]:
    sizes: list[dict[str, float]] = page.evaluate(
        """() => [...document.querySelectorAll('.prose a.cite')].map(a => {
             const r = a.getBoundingClientRect();
             return {width: r.width, height: r.height, text: a.textContent};
           })""")
    return sizes


def _assert_comfortable(page: Page, what: str) -> None:
    assert _scroll_width(page) <= 390, f"{what}: {_scroll_width(page)} px wide at 390 px"
    sizes = _citation_sizes(page)
    assert len(sizes) == 4, sizes  # [1], [2], [1, 2]
    small = [s for s in sizes if s["width"] < 24 or s["height"] < 24]
    assert not small, f"{what}: citation links under 24 x 24 px: {small}"


def test_public_and_review_pages_fit_a_phone_with_big_citation_targets(
        browser: Any, comfort_site: tuple[str, int, str]) -> None:
    site, aid, slug = comfort_site
    reader = _page(browser, 390)
    reader.goto(f"{site}/articles/{slug}")
    expect(reader.get_by_role("heading", name="Blood pressure, in long words")).to_be_visible()
    expect(reader.get_by_role("link", name=LONG_URL)).to_be_attached()
    _assert_comfortable(reader, "public page")
    check_accessibility(reader, "public page at 390 px")
    shot(reader, "comfort-public-390.png")
    # A citation still leads to its reference.
    reader.locator(".prose a.cite", has_text="2").first.click()
    assert reader.url.endswith("#ref-2")

    reviewer = _page(browser, 390)
    sign_in(reviewer, site, "reed@example.org")
    reviewer.goto(f"{site}/review/{aid}")
    expect(reviewer.get_by_role("heading", name="Blood pressure, in long words")).to_be_visible()
    _assert_comfortable(reviewer, "review page")
    check_accessibility(reviewer, "review page at 390 px")
    shot(reviewer, "comfort-review-390.png")

    wide = _page(browser, 1280)
    wide.goto(f"{site}/articles/{slug}")
    small = [s for s in _citation_sizes(wide) if s["width"] < 24 or s["height"] < 24]
    assert not small, small
    shot(wide, "comfort-public-1280.png")


def test_the_editor_preview_shows_the_text_and_keeps_what_was_typed(
        browser: Any, comfort_site: tuple[str, int, str]) -> None:
    site, _, _ = comfort_site
    for width in (390, 1280):
        author = _page(browser, width)
        sign_in(author, site, "author@example.org")
        author.goto(f"{site}/write/new")
        author.get_by_label("Title").fill("Salt and blood pressure")
        author.get_by_label("Body").fill("## Salt\n\nEat **less** salt [1].\n")
        author.get_by_label("Reference 1", exact=True).fill("A guideline")
        author.get_by_label("Reference 1 URL").fill(LONG_URL)
        author.get_by_role("button", name="Preview").click()
        preview = author.get_by_role("region", name="Preview")
        expect(preview.get_by_role("heading", name="Salt")).to_be_visible()
        expect(preview.locator("strong")).to_have_text("less")
        expect(preview.get_by_role("link", name=LONG_URL)).to_be_attached()
        expect(author.get_by_label("Title")).to_have_value("Salt and blood pressure")
        expect(author.get_by_label("Body")).to_have_value("## Salt\n\nEat **less** salt [1].\n")
        expect(author.get_by_label("Reference 1 URL")).to_have_value(LONG_URL)
        assert _scroll_width(author) <= width, f"editor: {_scroll_width(author)} px at {width}"
        check_accessibility(author, f"editor with a preview at {width} px")
        shot(author, f"comfort-preview-{width}.png")
    # With JavaScript the preview follows the typing, from the page's own script (CSP).
    author.get_by_label("Body").fill("Eat *much less* salt [1]. <script>alert(1)</script>")
    expect(preview.locator("em")).to_have_text("much less")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text
    expect(author.get_by_label("Title")).to_have_value("Salt and blood pressure")
    author.get_by_label("Title").fill("Salt")  # typing anywhere refreshes, nothing saved
    author.goto(f"{site}/my-articles")
    expect(author.get_by_role("link", name="Salt and blood pressure")).to_have_count(0)
    fresh = _page(browser, 1280)
    sign_in(fresh, site, "author@example.org")
    fresh.goto(f"{site}/write/new")
    fresh.get_by_label("Body").fill("Typed *live*, never saved.")
    expect(fresh.get_by_role("region", name="Preview").locator("em")).to_have_text("live")
