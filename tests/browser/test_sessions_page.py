"""The "Sessions" page in Chromium: it lists where a person is signed in, passes axe at a
desktop and a phone width, and "Sign out everywhere" ends the other browser's session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.test_journey import check_accessibility, sign_in


def test_sign_out_everywhere_in_the_browser(chromium: Any, site: str, tmp_path: Path) -> None:
    laptop = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    phone = chromium.new_context(viewport={"width": 390, "height": 844},
                                 user_agent="Phone browser (test)").new_page()
    sign_in(laptop, site, "author@example.org")
    sign_in(phone, site, "author@example.org")
    for page, width in ((laptop, 1280), (phone, 390)):
        page.get_by_role("link", name="Sessions").click()
        expect(page.get_by_role("heading", name="Sessions", exact=True)).to_be_visible()
        rows = page.get_by_role("table").get_by_role("row")
        expect(rows).to_have_count(3)  # the header and two sessions
        expect(page.get_by_role("table")).to_contain_text("(this browser)")
        expect(page.get_by_role("table")).to_contain_text("Phone browser (test)")
        check_accessibility(page, f"sessions page at {width} px")
        page.screenshot(path=str(tmp_path / f"sessions-{width}.png"), full_page=True)
    phone.get_by_role("button", name="Sign out everywhere").click()
    expect(phone.get_by_role("status")).to_contain_text(
        "You are signed out everywhere (2 sessions ended).")
    laptop.goto(f"{site}/my-articles")
    expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(laptop).to_have_url(f"{site}/sign-in?next=/my-articles")
