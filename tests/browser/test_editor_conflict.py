"""Two people in one article's editor, in a real browser: the stale save is refused,
says who saved what, keeps the typed text, and saves over it only when asked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey import check_accessibility, sign_in

pytestmark = pytest.mark.browser

expect.set_options(timeout=30_000)


def test_a_stale_editor_save_is_refused_and_keeps_the_text(chromium: Any, site: str) -> None:
    author = chromium.new_context().new_page()
    editor = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Sodium and Blood Pressure")
    author.get_by_label("Body").fill("Less salt lowers blood pressure [1].\n")
    author.get_by_label("Reference 1", exact=True).fill("Dietary sodium guideline")
    author.get_by_label("Reference 1 PMID").fill("12345678")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_role("status")).to_contain_text("Draft saved as revision 1.")
    editor_url = author.url

    sign_in(editor, site, "editor@example.org")
    editor.goto(editor_url)
    editor.get_by_label("Body").fill("Less salt lowers blood pressure in most adults [1].\n")
    editor.get_by_role("button", name="Save draft").click()
    expect(editor.get_by_role("status")).to_contain_text("Saved as revision 2.")

    mine = "Cutting salt helps, and so does potassium [1].\n"
    author.get_by_label("Body").fill(mine)
    author.get_by_role("button", name="Save draft").click()
    alert = author.get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this article since you opened it.")
    expect(alert).to_contain_text(re.compile(r"Revision 2 saved by Erin Editor on "))
    expect(author.get_by_label("Body")).to_have_value(mine)  # as typed, not saved
    check_accessibility(author, "editor with a conflict")

    other = author.context.new_page()
    other.goto(site + (alert.get_by_role("link", name="View revision 2").get_attribute("href")
                       or ""))
    expect(other.locator("pre.source")).to_contain_text("in most adults")
    other.close()

    author.get_by_role("button", name="Save my text over it").click()
    expect(author.get_by_role("status")).to_contain_text("Saved as revision 3.")
    expect(author.get_by_label("Body")).to_have_value(mine)
