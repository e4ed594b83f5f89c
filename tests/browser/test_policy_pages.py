"""The "Review policy" page and the editorial-policy page in Chromium, on a desktop and on
a phone: an editor changes a key and sees the new version; readers see the policy in
words and the workflow as a picture that never pushes the page wider than the screen."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey import check_accessibility, shot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = [(1280, 900), (390, 844)]


def _overflow(page: Any) -> int:
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_an_editor_changes_the_policy_and_sees_the_new_version(chromium: Any,
                                                               site: str) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, site, "editor@example.org")
    page.get_by_role("link", name="Review policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review policy")
    expect(page.get_by_role("heading", name="In force: version 2")).to_be_visible()
    check_accessibility(page, "review policy page")
    page.get_by_label("Approvals required", exact=True).fill("2")
    page.get_by_label("Approvals required by specialty").fill("Cardiology: 1")
    page.get_by_label("Checklist items").fill("Dosages checked\nContraindications listed")
    page.get_by_label("Allow it, and show the conflict beside the reviewer's name").check()
    page.get_by_label("Note").fill("Two reviewers, one cardiologist")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Policy version 3 is in force. Changed: Approvals required, Approvals required by "
        "specialty, Conflicts of interest, Checklist items.")
    expect(page.get_by_role("heading", name="In force: version 3")).to_be_visible()
    history = page.locator("table.policy-history tbody tr").first
    expect(history).to_contain_text("Erin Editor")
    expect(history).to_contain_text("Two reviewers, one cardiologist")
    expect(history).to_contain_text("Approvals required by specialty: cardiology: 1")
    shot(page, "policy-page-1280.png")

    # A bad value is refused naming the key, with the form kept as typed.
    page.get_by_label("Review due (days)").fill("999")
    page.get_by_role("button", name="Save as a new version").click()
    alert = page.locator("#form-errors")
    expect(alert).to_contain_text("Nothing was saved")
    expect(alert).to_contain_text("Review due (days): Input should be less than or equal to 180")
    expect(page.get_by_label("Review due (days)")).to_have_value("999")
    expect(page.get_by_role("heading", name="In force: version 3")).to_be_visible()

    # Readers see the new rule on the editorial-policy page.
    page.goto(f"{site}/editorial-policy")
    expect(page.locator("dl.facts")).to_contain_text(
        "2 approvals from different board members, including 1 from a specialist in "
        "cardiology")
    context.close()


def test_the_policy_page_on_a_phone(chromium: Any, site: str) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, site, "admin@example.org")
    page.goto(f"{site}/policy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review policy")
    assert _overflow(page) <= 0, "the policy page is wider than a phone screen"
    shot(page, "policy-page-390.png")
    context.close()


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_editorial_policy_page_draws_the_workflow(chromium: Any, site: str, width: int,
                                                      height: int) -> None:
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{site}/editorial-policy")
    picture = page.get_by_role("img", name="Review workflow")
    expect(picture).to_be_visible()
    box = picture.bounding_box()
    assert box is not None and box["height"] > 200
    # The text in the picture is at least about 10 px high on either screen.
    scale = box["width"] / float(picture.get_attribute("width") or 1)
    assert scale * 14 >= 9.5, f"workflow labels drawn at {scale * 14:.1f}px"
    expect(page.get_by_role("table", name="Workflow steps")).to_be_visible()
    assert _overflow(page) <= 0, "the editorial-policy page is wider than the screen"
    check_accessibility(page, f"editorial policy page at {width}px")
    shot(page, f"editorial-policy-{width}.png")
    context.close()
