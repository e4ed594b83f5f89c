"""The whole review in a real browser: the author writes a text for patients and one for
healthcare professionals; a reviewer opens a blocking thread on paragraph 2 and requests
changes; the author replies while editing (the unsaved edits survive the reply),
resubmits; the reviewer checks the reference, answers the checklist, is refused while
the thread is open, resolves it and approves; then a reader chooses the professional
text on the public page, and the choice is remembered. Axe on the pages with threads;
no sideways scrolling at 390 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journey import (
    answer_checklist,
    check_accessibility,
    shot,
    sign_in,
    verify_references,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)

TITLE = "Salt and Blood Pressure"
BODY = ("High blood pressure often has no symptoms [1].\n\n"
        "Adults should limit salt to 5 g a day [1].\n\n"
        "Check your blood pressure once a year.\n")
PROFESSIONAL = ("Sodium restriction to under 2 g a day lowers systolic pressure by about "
                "5 mmHg in hypertensive adults [1].\n")
THREAD = "blocking comment on paragraph 2 by Dr. Maya Reed"


def _no_sideways_scroll(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what}: {width} px wide at 390 px"


def _sign_approval(page: Page) -> None:
    page.get_by_role("button", name="Approve", exact=True).click()
    answer_checklist(page)
    page.get_by_label("Conflict of interest declaration").fill("none")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()


def test_blocking_thread_through_changes_to_approval(chromium: Any, site: str) -> None:
    author = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reviewer = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()

    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill(TITLE)
    author.get_by_label("Body").fill(BODY)
    author.get_by_label("Text for healthcare professionals (optional)").fill(PROFESSIONAL)
    author.get_by_label("Reference 1", exact=True).fill("2017 ACC/AHA Guideline")
    author.get_by_label("Reference 1 DOI").fill("10.1161/HYP.0000000000000065")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Submitted for review.")
    editor_url = author.url

    # The reviewer comments on paragraph 2, marks it blocking, and requests changes.
    sign_in(reviewer, site, "reed@example.org")
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name=TITLE).click()
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Review started.")
    review_url = reviewer.url
    paragraph = reviewer.locator("#paragraph-2")
    paragraph.get_by_text("Comment on this paragraph").click()
    reviewer.get_by_label("Your comment on paragraph 2").fill(
        "Which guideline gives **5 g**? Reference 1 is about blood pressure levels.")
    paragraph.get_by_label("Blocking: approval waits until this is resolved").check()
    reviewer.get_by_role("button", name="Post comment on paragraph 2").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Blocking comment posted")
    thread = reviewer.locator("#paragraph-2 .thread")
    expect(thread).to_contain_text("Comment by Dr. Maya Reed")
    expect(thread.locator("strong", has_text="5 g")).to_be_visible()  # Markdown rendered
    expect(reviewer.get_by_role("button", name=f"Resolve {THREAD}")).to_be_visible()
    check_accessibility(reviewer, "review page with a thread")
    shot(reviewer, "threads-review-1280.png")
    reviewer.get_by_label("What needs to change").fill("See my comment on paragraph 2.")
    reviewer.get_by_role("button", name="Request changes").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Changes requested.")

    # The author edits, then replies before saving: the edits are still in the form.
    author.goto(editor_url)
    expect(author.get_by_text("Which guideline gives")).to_be_visible()
    revised = BODY.replace("5 g a day [1]", "5 g (one teaspoon) a day [1]")
    author.get_by_label("Body").fill(revised)
    author.get_by_label(f"Reply to the {THREAD}").fill("The WHO guideline; I will add it.")
    author.get_by_role("button", name=f"Post reply to the {THREAD}").click()
    expect(author.get_by_role("status")).to_contain_text(
        "Reply posted. Your edits are still here, not saved yet.")
    expect(author.get_by_label("Body")).to_have_value(revised)
    expect(author.get_by_text("The WHO guideline; I will add it.")).to_be_visible()
    check_accessibility(author, "editor with threads")
    shot(author, "threads-editor-1280.png")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Saved as revision 2. Submitted")

    # Approval is refused while the blocking thread is open, naming it.
    reviewer.goto(review_url)
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Review started.")
    verify_references(reviewer, 1)  # the policy asks for it: the thread is all that is left
    expect(reviewer.get_by_role("note").filter(has_text="Approval is held back")).to_contain_text(
        "Blocking comment on paragraph 2 by Dr. Maya Reed")
    _sign_approval(reviewer)
    expect(reviewer.get_by_role("alert").first).to_contain_text(
        "Blocking comment on paragraph 2 by Dr. Maya Reed is still open.")

    # The reviewer resolves it, then approves.
    reviewer.goto(review_url)
    expect(reviewer.locator("#paragraph-2 .thread")).to_contain_text(
        "The WHO guideline; I will add it.")
    reviewer.get_by_role("button", name=f"Resolve {THREAD}").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Thread resolved.")
    expect(reviewer.get_by_role("button", name=f"Reopen {THREAD}")).to_be_visible()
    _sign_approval(reviewer)
    expect(reviewer.get_by_role("status")).to_contain_text("Approved with your signature")

    # A reader: the patients' text first, then the professionals' text, remembered.
    reader = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(f"{site}/")
    reader.get_by_role("link", name=TITLE).click()
    expect(reader.get_by_text("Medically reviewed by Dr. Maya Reed")).to_be_visible()
    expect(reader.locator(".prose")).to_contain_text("5 g (one teaspoon) a day")
    reader.get_by_role("link", name="Healthcare professional").click()
    expect(reader.get_by_role("link", name="Healthcare professional")).to_have_attribute(
        "aria-current", "true")
    expect(reader.locator(".prose")).to_contain_text("Sodium restriction to under 2 g a day")
    expect(reader.get_by_text("intended for healthcare professionals").first).to_be_visible()
    public_url = reader.url.split("?")[0]
    reader.goto(public_url)  # no query: the remembered choice
    expect(reader.locator(".prose")).to_contain_text("Sodium restriction to under 2 g a day")
    check_accessibility(reader, "public page, professionals' text")

    # Phones: the review page and the editor with threads fit 390 px.
    phone = chromium.new_context(viewport={"width": 390, "height": 844},
                                 device_scale_factor=1).new_page()
    sign_in(phone, site, "reed@example.org")
    phone.goto(review_url)
    phone.locator("#paragraph-1").get_by_text("Comment on this paragraph").click()
    _no_sideways_scroll(phone, "review page")
    check_accessibility(phone, "review page with threads at 390 px")
    shot(phone, "threads-review-390.png")
    author_phone = chromium.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=1).new_page()
    sign_in(author_phone, site, "author@example.org")
    author_phone.goto(editor_url)
    _no_sideways_scroll(author_phone, "editor")
    shot(author_phone, "threads-editor-390.png")
