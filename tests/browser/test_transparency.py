"""``/transparency`` in Chromium, on a desktop and on a phone: readable, accessible, and
the signed notes never push the page wider than the screen."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from review_flow.audit import checkpoints
from review_flow.db import Database
from review_flow.users import service as users
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_browser
from tests.browser.test_journey import check_accessibility
from tests.support.servers import gunicorn

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def published(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn over a log with a few events and three checkpoints."""
    _require_browser()
    path = tmp_path_factory.mktemp("transparency") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    key = Ed25519PrivateKey.generate()
    for i in range(3):
        with db.transaction() as s:
            users.add_user(s, email=f"person{i}@example.org", name=f"Person {i}",
                           roles=["author"], password=None)
            checkpoints.take(s, key, base_url="https://reviews.example.org")
    db.dispose()
    with gunicorn(url, workers=1) as base:
        yield base


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_transparency_page_in_chromium(published: str, width: int, height: int,
                                       tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.goto(f"{published}/editorial-policy")
            page.get_by_role("link", name="transparency page").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("signed checkpoints")
            expect(page.locator("pre.source").first).to_contain_text(
                "reviews.example.org/review-flow")
            expect(page.get_by_role("heading", name="The signing key")).to_be_visible()
            overflow: Any = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
            check_accessibility(page, f"transparency page at {width}px")
            page.screenshot(path=str(tmp_path / f"transparency-{width}.png"), full_page=True)
        finally:
            browser.close()
