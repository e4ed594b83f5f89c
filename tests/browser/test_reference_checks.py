"""Reference checks, lint and the checklist in a real browser: a reviewer flags a
reference, is refused approval naming it, verifies, answers the checklist (a "No" is
refused naming the item), and approves; the signature record shows the answers. Both
new panels pass axe and fit a 390 px phone without horizontal scrolling."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CHECKLIST
from tests.browser.test_journey import check_accessibility, shot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)

ALLERGY = "Antihistamines relieve sneezing and itching [1].\n"


def no_horizontal_scroll(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what}: {width} px wide at 390 px"


def test_reviewer_checks_references_answers_the_checklist_and_approves(
        chromium: Any, site: str) -> None:
    author = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Managing Seasonal Allergies")
    author.get_by_label("Body").fill(ALLERGY)
    author.get_by_label("Reference 1", exact=True).fill("Guideline for High Blood Pressure")
    author.get_by_label("Reference 1 DOI").fill("10.1161/HYP.0000000000000065")
    author.get_by_role("button", name="Add reference").click()
    author.get_by_label("Reference 2", exact=True).fill("Hypertension - MedlinePlus")
    author.get_by_label("Reference 2 URL").fill("https://medlineplus.gov/highbloodpressure.html")
    author.get_by_role("button", name="Save draft").click()
    lint = author.get_by_role("region", name="Reference lint: 1 thing to look at")
    expect(lint).to_contain_text(
        "Reference 2 (Hypertension - MedlinePlus) is never cited in the body.")
    check_accessibility(author, "edit page with lint")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status").first).to_contain_text("Submitted")

    reviewer = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(reviewer, site, "okafor@example.org")
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name="Managing Seasonal Allergies").click()
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_role("region", name="Reference lint: 1 thing to look at")
           ).to_be_visible()
    first = reviewer.locator("#ref-check-1")
    first.get_by_label("Problem", exact=True).check()
    first.get_by_label("Note (required for a problem)").fill(
        "A blood-pressure guideline: it does not support a claim about antihistamines.")
    first.get_by_role("button", name="Save check of reference 1").click()
    expect(reviewer.get_by_role("status").first).to_contain_text("Reference 1: marked Problem")
    expect(reviewer.locator("#ref-check-1")).to_contain_text(
        "Problem by Dr. Chidi Okafor: “A blood-pressure guideline")
    check_accessibility(reviewer, "review page with reference checks")
    shot(reviewer, "reference-checks-1280.png")

    # Approval is refused, naming the problem and the unchecked reference.
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#reference-standing")).to_contain_text(
        "Reference 2 (Hypertension - MedlinePlus) is not checked yet")
    for item in CHECKLIST:
        reviewer.get_by_role("group", name=item).get_by_label("Yes", exact=True).check()
    reviewer.get_by_label("Conflict of interest declaration").fill("none")
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_role("button", name="Sign", exact=True).click()
    expect(reviewer.get_by_role("alert")).to_contain_text(
        "Approval refused: Reference 2 (Hypertension - MedlinePlus) is not checked yet; "
        "Reference 1 (Guideline for High Blood Pressure) is marked as a problem by Dr. "
        "Chidi Okafor")

    # The reviewer (say, after the author explained) verifies both; a "No" is refused.
    reviewer.get_by_role("link", name="Back to the review").click()
    for n in (1, 2):
        item = reviewer.locator(f"#ref-check-{n}")
        item.get_by_label("Verified", exact=True).check()
        item.get_by_role("button", name=f"Save check of reference {n}").click()
        expect(reviewer.get_by_role("status").first).to_contain_text(
            f"Reference {n}: marked Verified")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#reference-standing")).to_have_count(0)
    reviewer.get_by_role("group", name=CHECKLIST[0]).get_by_label("Yes", exact=True).check()
    reviewer.get_by_role("group", name=CHECKLIST[1]).get_by_label("No", exact=True).check()
    reviewer.get_by_label("Conflict of interest declaration").fill("none")
    check_accessibility(reviewer, "signature step with the checklist")
    shot(reviewer, "sign-checklist-1280.png")
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_role("button", name="Sign", exact=True).click()
    expect(reviewer.get_by_role("alert")).to_contain_text(
        f"Approval refused: you answered “no” to checklist item “{CHECKLIST[1]}”")
    # The answers are kept; change the "No" and sign.
    expect(reviewer.get_by_role("group", name=CHECKLIST[0]).get_by_label("Yes", exact=True)
           ).to_be_checked()
    reviewer.get_by_role("group", name=CHECKLIST[1]).get_by_label(
        "Not applicable", exact=True).check()
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_role("button", name="Sign", exact=True).click()
    expect(reviewer.get_by_role("status").first).to_contain_text("Approved with your signature")
    record = reviewer.locator(".signatures")
    expect(record).to_contain_text(f"{CHECKLIST[0]}: Yes")
    expect(record).to_contain_text(f"{CHECKLIST[1]}: Not applicable")
    review_url = reviewer.url

    phone = chromium.new_context(viewport={"width": 390, "height": 844},
                                 device_scale_factor=1).new_page()
    sign_in(phone, site, "okafor@example.org")
    phone.goto(review_url)
    expect(phone.get_by_role("heading", name="Reference checks")).to_be_visible()
    no_horizontal_scroll(phone, "review page with reference checks")
    shot(phone, "reference-checks-390.png")
