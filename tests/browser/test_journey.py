"""The whole review journey in a real browser, with accessibility checks and screenshots.

An author writes and submits; a reviewer starts the review and requests changes; the
author revises and resubmits; the reviewer approves with an electronic signature; a
reader sees "Approved", the reviewer's name and no caution banner.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CHECKLIST, SCREENSHOTS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# A ceiling, not a pace: expectations return as soon as they hold. Generous, because a
# loaded 2-core CI machine can take seconds to answer; the test never sleeps.
expect.set_options(timeout=30_000)

CAUTION = "Educational purpose only • Exercise caution as content is pending human review"


def check_accessibility(page: Page, what: str) -> None:
    """axe-core on the page as it is; fail on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{what}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        f"{[n['target'] for n in v['nodes']][:3]}" for v in bad)


def sign_in(page: Page, site: str, email: str, *, audit: bool = False) -> None:
    page.goto(f"{site}/sign-in")
    if audit:
        check_accessibility(page, "sign-in page")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    try:
        expect(page.get_by_role("status").first).to_contain_text("Signed in as")
    except AssertionError as exc:  # say what the page said instead
        main = page.locator("main").inner_text()
        raise AssertionError(f"sign-in as {email} failed at {page.url}: {main[:500]}") from exc


def verify_references(page: Page, count: int) -> None:
    """Mark each reference "Verified" on the review page (the policy asks for it)."""
    for n in range(1, count + 1):
        item = page.locator(f"#ref-check-{n}")
        item.get_by_label("Verified", exact=True).check()
        item.get_by_role("button", name=f"Save check of reference {n}").click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"Reference {n}: marked Verified")


def answer_checklist(page: Page, answer: str = "Yes") -> None:
    for item in CHECKLIST:
        page.get_by_role("group", name=item).get_by_label(answer, exact=True).check()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_author_reviewer_reader_journey(chromium: Any, site: str) -> None:
    author = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reviewer = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader = chromium.new_context(viewport={"width": 1100, "height": 900}).new_page()

    # The author writes a draft with two references and submits it.
    sign_in(author, site, "author@example.org", audit=True)
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Understanding High Blood Pressure")
    author.get_by_label("Body").fill(
        "High blood pressure often has no symptoms [1].\n\n"
        "## What you can do\n\n- Eat less salt\n- Take medicines as prescribed [2]\n")
    author.get_by_label("Reference 1", exact=True).fill("2017 ACC/AHA Guideline")
    author.get_by_label("Reference 1 DOI").fill("10.1161/HYP.0000000000000065")
    author.get_by_role("button", name="Add reference").click()
    author.get_by_label("Reference 2", exact=True).fill("MedlinePlus: High Blood Pressure")
    author.get_by_label("Reference 2 URL").fill("https://medlineplus.gov/highbloodpressure.html")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_role("status")).to_contain_text("Draft saved as revision 1.")
    check_accessibility(author, "article editor")
    shot(author, "editor.png")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Submitted for review.")
    editor_url = author.url

    # A reader already sees it, under the caution banner, at step "Submitted" (by its
    # address: the home page lists reviewed articles only).
    reader.goto(f"{site}/articles/understanding-high-blood-pressure")
    expect(reader.get_by_text(CAUTION)).to_be_visible()
    expect(reader.locator("[aria-current=step]")).to_have_text("Submitted")
    check_accessibility(reader, "public article page (pending)")
    shot(reader, "public-pending.png")
    public_url = reader.url

    # The reviewer finds it in the queue, starts the review and requests changes.
    sign_in(reviewer, site, "reed@example.org")
    reviewer.get_by_role("link", name="Review queue").click()
    expect(reviewer.get_by_role("heading", name="Review queue")).to_be_visible()
    check_accessibility(reviewer, "review queue")
    shot(reviewer, "review-queue.png")
    reviewer.get_by_role("link", name="Understanding High Blood Pressure").click()
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Review started.")
    reviewer.get_by_label("What needs to change").fill(
        "Please give the blood pressure threshold and cite the guideline for it.")
    reviewer.get_by_role("button", name="Request changes").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Changes requested.")

    # The author sees the change request beside the draft, revises and resubmits.
    author.get_by_role("link", name="My articles").click()
    expect(author.get_by_role("cell", name="You: revise and resubmit")).to_be_visible()
    author.get_by_role("link", name="Understanding High Blood Pressure").click()
    assert author.url == editor_url
    expect(author.get_by_text("Please give the blood pressure threshold")).to_be_visible()
    author.get_by_label("Body").fill(
        "High blood pressure often has no symptoms [1].\n\n"
        "A reading of 130/80 mm Hg or higher is considered high [1].\n\n"
        "## What you can do\n\n- Eat less salt\n- Take medicines as prescribed [2]\n")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Saved as revision 2. Submitted")

    # The reviewer reviews the new revision, sees the word diff, and approves with a signature.
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name="Understanding High Blood Pressure").click()
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_role("heading", name=re.compile("Changes since the previous revision"))
           ).to_be_visible()
    expect(reviewer.locator(".diff-body ins").first).to_contain_text("130")
    expect(reviewer.locator("a.cite").first).to_have_attribute("href", "#ref-1")
    check_accessibility(reviewer, "review page")
    shot(reviewer, "review-page.png")
    verify_references(reviewer, 2)
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("I approve this revision as medically accurate")).to_be_visible()
    expect(reviewer.get_by_text("Dr. Maya Reed, MD, FACP")).to_be_visible()
    answer_checklist(reviewer)
    reviewer.get_by_label("Conflict of interest declaration").fill("none")
    check_accessibility(reviewer, "signature step")
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_role("button", name="Sign", exact=True).click()
    expect(reviewer.get_by_role("status")).to_contain_text("Approved with your signature")

    # A reader now finds it on the home page by searching its title, and sees
    # "Approved", who reviewed it, and no caution banner.
    reader.goto(f"{site}/")
    reader.get_by_label("Search titles").fill("blood press")
    reader.get_by_role("button", name="Search").click()
    check_accessibility(reader, "home page search")
    reader.get_by_role("link", name="Understanding High Blood Pressure").click()
    assert reader.url == public_url
    expect(reader.locator("[aria-current=step]")).to_have_text("Approved")
    expect(reader.get_by_text("Medically reviewed by Dr. Maya Reed, MD, FACP")).to_be_visible()
    expect(reader.get_by_text(CAUTION)).to_have_count(0)
    expect(reader.get_by_text("130/80 mm Hg")).to_be_visible()
    check_accessibility(reader, "public article page (approved)")
    shot(reader, "public-approved.png")
    phone = chromium.new_context(viewport={"width": 390, "height": 844},
                                 device_scale_factor=1).new_page()
    phone.goto(public_url)
    shot(phone, "public-approved-phone.png")
    reader.get_by_role("link", name="View editorial policy").click()
    expect(reader.get_by_role("heading", name="Editorial policy", exact=True)).to_be_visible()
    expect(reader.get_by_text("Dr. Chidi Okafor")).to_be_visible()
    check_accessibility(reader, "editorial policy page")


def test_signing_text_that_changed_is_refused_in_the_browser(chromium: Any, site: str) -> None:
    """Two tabs: the reviewer opens the signature step, the text changes, Sign is refused."""
    author = chromium.new_context().new_page()
    reviewer = chromium.new_context().new_page()
    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Seasonal Flu Vaccination")
    author.get_by_label("Body").fill("Annual vaccination is recommended [1].\n")
    author.get_by_label("Reference 1", exact=True).fill("Prevention and Control of Influenza")
    author.get_by_label("Reference 1 PMID").fill("37616235")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Submitted for review.")

    sign_in(reviewer, site, "okafor@example.org")
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name="Seasonal Flu Vaccination").click()
    reviewer.get_by_role("button", name="Start review").click()
    reviewer.get_by_role("button", name="Approve").click()

    # Meanwhile the author withdraws, edits and resubmits; another reviewer restarts review.
    author.reload()
    author.get_by_role("button", name="Withdraw").click()
    author.get_by_label("Body").fill("Annual vaccination is recommended for all [1].\n")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_role("status")).to_contain_text("Submitted for review.")
    other = chromium.new_context().new_page()
    sign_in(other, site, "reed@example.org")
    other.get_by_role("link", name="Review queue").click()
    other.get_by_role("link", name="Seasonal Flu Vaccination").click()
    other.get_by_role("button", name="Start review").click()
    expect(other.get_by_role("status")).to_contain_text("Review started.")

    answer_checklist(reviewer)
    reviewer.get_by_label("Conflict of interest declaration").fill("none")
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_role("button", name="Sign", exact=True).click()
    expect(reviewer.get_by_role("heading", name="This article changed since you opened the page")
           ).to_be_visible()
    reviewer.get_by_role("link", name="Reload the latest version").click()
    expect(reviewer.get_by_role("heading", name="Seasonal Flu Vaccination")).to_be_visible()


def test_admin_creates_an_api_token_in_the_browser(chromium: Any, site: str) -> None:
    """The token is shown once, works against the API, and the page passes axe."""
    import json
    from urllib.request import Request, urlopen

    admin = chromium.new_context().new_page()
    sign_in(admin, site, "admin@example.org")
    admin.get_by_role("link", name="API tokens").click()
    check_accessibility(admin, "API tokens page")
    admin.get_by_label("User email").fill("author@example.org")
    admin.get_by_label("Token name").fill("drafting pipeline")
    admin.get_by_role("button", name="Create token").click()
    token = admin.get_by_label("Token", exact=True).input_value()
    assert token
    check_accessibility(admin, "API tokens page with a new token")
    request = Request(f"{site}/api/v1/articles", headers={"Authorization": f"Bearer {token}"})
    with urlopen(request, timeout=30) as response:
        assert "items" in json.loads(response.read())
    admin.get_by_role("button", name=re.compile("^Revoke token")).click()
    expect(admin.get_by_role("status")).to_contain_text("revoked")


def test_admin_registers_a_webhook_in_the_browser(chromium: Any, site: str) -> None:
    """Bad input names the field; the secret is shown once; a draft queues a delivery that
    the deliveries page lists; every state of the pages passes axe."""
    admin = chromium.new_context().new_page()
    sign_in(admin, site, "admin@example.org")
    admin.get_by_role("link", name="Webhooks", exact=True).click()
    expect(admin.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    check_accessibility(admin, "webhooks page")

    admin.get_by_label("URL", exact=True).fill("ftp://hooks.example.org/in")
    admin.get_by_label("article.create").check()
    admin.get_by_role("button", name="Register webhook").click()
    expect(admin.get_by_role("alert")).to_contain_text(
        "Enter the webhook's address as an http:// or https:// URL.")
    expect(admin.get_by_label("article.create")).to_be_checked()
    check_accessibility(admin, "webhooks page with an error")

    admin.get_by_label("URL", exact=True).fill("https://hooks.example.org/review-flow")
    admin.get_by_role("button", name="Register webhook").click()
    expect(admin.get_by_role("status")).to_contain_text("registered for article.create")
    secret = admin.get_by_label("Secret", exact=True).input_value()
    assert secret.startswith("whsec_")
    check_accessibility(admin, "webhooks page with a new secret")

    author = chromium.new_context().new_page()
    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Sleep and Blood Pressure")
    author.get_by_label("Body").fill("Short sleep raises blood pressure [1].\n")
    author.get_by_label("Reference 1", exact=True).fill("Sleep duration and hypertension")
    author.get_by_label("Reference 1 PMID").fill("26763303")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_role("status")).to_contain_text("Draft saved as revision 1.")

    admin.get_by_role("link", name="Webhooks", exact=True).click()
    expect(admin.get_by_text(secret)).to_have_count(0)  # shown once, never again
    admin.get_by_role("link", name=re.compile("^Deliveries to webhook")).first.click()
    expect(admin.get_by_role("heading", name=re.compile("^Deliveries to webhook"))).to_be_visible()
    row = admin.get_by_role("row").filter(has_text="article.create")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("pending")
    check_accessibility(admin, "webhook deliveries page")

    admin.get_by_role("link", name="Webhooks", exact=True).first.click()
    admin.get_by_role("button", name=re.compile("^Deactivate webhook")).first.click()
    expect(admin.get_by_role("status")).to_contain_text("deactivated")

    admin.get_by_role("button", name=re.compile("^New signing secret for webhook")).first.click()
    expect(admin.get_by_role("status")).to_contain_text("has a new signing secret")
    rolled = admin.get_by_label("Secret", exact=True).input_value()
    assert rolled.startswith("whsec_") and rolled != secret
    check_accessibility(admin, "webhooks page with a rolled secret")


def test_a_reviewer_turns_an_email_kind_off_in_the_browser(chromium: Any, site: str) -> None:
    page = chromium.new_context().new_page()
    sign_in(page, site, "reed@example.org")
    page.get_by_role("link", name="Notification settings").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    check_accessibility(page, "notification settings page")
    choice = page.get_by_label("An article I may review was submitted")
    expect(choice).to_be_checked()
    choice.uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Notification settings saved.")
    expect(page.get_by_label("An article I may review was submitted")).not_to_be_checked()
    expect(page.get_by_label("My article was approved")).to_be_checked()
    check_accessibility(page, "notification settings page after saving")
