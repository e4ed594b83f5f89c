"""The auditor in Chromium: an article's timeline, a diff from it, and its public page as
of past moments; axe on each page, at 1280 px and at 390 px (no sideways scrolling)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_auditor import _article_with_two_revisions
from tests.browser.test_journey import check_accessibility, shot, sign_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)
EXTRA_SHOTS = os.environ.get("REVIEW_FLOW_TIMELINE_SHOTS")  # e.g. /tmp/timeline


def _shot(page: Any, name: str) -> None:
    shot(page, f"{name}.png")
    if EXTRA_SHOTS:
        page.screenshot(path=f"{EXTRA_SHOTS}-{name}.png", full_page=True)


def _on_a_phone(context: Any, url: str, what: str) -> None:
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, what
    check_accessibility(phone, f"{what} on a phone")
    _shot(phone, what.replace(" ", "-") + "-390")
    phone.close()


def test_auditor_reads_the_timeline_a_diff_and_the_page_as_of(chromium: Any, site: str) -> None:
    article = _article_with_two_revisions(chromium, site)
    author = chromium.new_context().new_page()
    sign_in(author, site, "author@example.org")
    author.goto(f"{site}/write/{article}")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status").first).to_contain_text("ubmitted")
    author.context.close()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, site, "auditor@example.org")
    page.goto(f"{site}/review/{article}")
    page.get_by_role("link", name="Timeline", exact=True).click()
    expect(page.get_by_role("heading", name=f"Timeline of article {article}")).to_be_visible()
    events = page.locator("ol.timeline > li")
    expect(events).to_have_count(3)
    expect(events.nth(0)).to_contain_text("Created, with revision 1")
    expect(events.nth(1)).to_contain_text("Revision 2 saved")
    expect(events.nth(2)).to_contain_text("Submit for review (revision 2)")
    expect(events.nth(2)).to_contain_text("Review round 1 opened.")
    expect(events.nth(2)).to_contain_text("By Alex Author")
    check_accessibility(page, "timeline")
    _shot(page, "timeline")
    _on_a_phone(context, page.url, "timeline")
    timeline_url = page.url

    # A diff from revision 2's entry: against revision 1 by default.
    events.nth(1).get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Revision 1 → revision 2")).to_be_visible()
    expect(page.locator("table.diff-side ins").first).to_have_text("much ")

    # The public page as of the edit: a draft, never public.
    page.goto(timeline_url)
    events.nth(1).get_by_role("link", name=re.compile("^as of")).click()
    expect(page.get_by_role("heading", name=re.compile("^As readers saw it at"))).to_be_visible()
    expect(page.locator(".as-of-banner")).to_contain_text("Not public")
    expect(page.locator(".as-of-banner")).to_contain_text("it was draft")
    # As of the submission: the pending text under the caution banner.
    page.goto(timeline_url)
    events.nth(2).get_by_role("link", name=re.compile("^as of")).click()
    frame = page.get_by_role("region", name="The public page as readers saw it")
    expect(frame.locator(".caution")).to_have_text(
        "Educational purpose only • Exercise caution as content is pending human review")
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Salt and <b>blood</b> pressure")
    expect(frame.locator('[aria-current="step"]')).to_have_text("Submitted")
    expect(frame.locator(".prose")).to_contain_text("Eating much less salt")
    expect(page.locator(".as-of-facts")).to_contain_text("Revision 2")
    check_accessibility(page, "as of")
    _shot(page, "as-of")
    _on_a_phone(context, page.url, "as of")

    # Another instant through the form's date and time field (UTC): before it existed.
    page.get_by_label("Date and time (UTC)").fill("2020-01-01T00:00:00.000")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".as-of-banner")).to_contain_text("the article did not exist yet")
    context.close()
