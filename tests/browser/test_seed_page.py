"""The seed page in full, in Chromium: the demo's pipeline-written, board-approved article
on stem cell therapy for chronic pain, and a pending copy of it.

Every element of ../shared/seed-page.txt's page is checked: the board's promise, the
review status with the current step marked, "Last updated" with "View editorial policy"
beside it, the audience choice (switched, and remembered on reload), the lead answer and
the sections, numbered citations that link both ways, the matching disclaimer, and while
pending the caution banner. At 1280 and 390 px, no horizontal scroll, axe clean.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from review_flow import demo, demo_seed
from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.db import Database
from review_flow.users import service as users
from review_flow.web.audience import PATIENT_DISCLAIMER, PROFESSIONAL_DISCLAIMER
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_browser
from tests.browser.test_journey import check_accessibility
from tests.support.servers import gunicorn

pytestmark = pytest.mark.browser

CAUTION = "Educational purpose only • Exercise caution as content is pending human review"
PROMISE = "All articles are reviewed for accuracy by our Medical Advisory Board"
SECTIONS = ["From the Guidelines", "Key Points to Consider", "Alternative Treatment Options",
            "Recommendations", "From the Research", "Future Directions"]
SHOTS = Path(os.environ.get("REVIEW_FLOW_SEED_SHOTS", "/tmp"))


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, dict[str, str]]]:
    """gunicorn over the demo data plus a pending copy of the seed article."""
    _require_browser()
    path = tmp_path_factory.mktemp("seed") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        demo.load(s)
    with db.transaction() as s:
        pipeline = Actor(users.get_by_email(s, "pipeline@example.org"))
        pending = create_article(
            s, pipeline, title=demo_seed.TITLE + " (pending)", body=demo_seed.PATIENT_BODY,
            professional_body=demo_seed.PROFESSIONAL_BODY, references=demo_seed.REFERENCES,
            generator=demo_seed.GENERATOR)
        perform_action(s, pipeline, pending.id, "submit")
        slugs = {"approved": "what-is-the-evidence-for-stem-cell-therapy-in-the-treatment-of-"
                             "chronic-pain", "pending": pending.slug}
    db.dispose()
    with gunicorn(url, workers=1) as base:
        yield base, slugs


def _no_horizontal_scroll(page: Any, width: int) -> None:
    overflow: Any = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"


def _common_elements(page: Any, current_step: str) -> None:
    expect(page.locator("h1")).to_contain_text(demo_seed.TITLE)
    expect(page.locator("header p.board")).to_have_text(PROMISE)
    status = page.get_by_role("region", name="Article Review Status")
    for step in ("Submitted", "Under Review", "Approved"):
        expect(status.get_by_role("listitem").filter(has_text=step)).to_be_visible()
    expect(status.locator('[aria-current="step"]')).to_have_text(current_step)
    dates = page.locator("p.dates").first
    expect(dates).to_contain_text("Last updated:")
    expect(dates.get_by_role("link", name="View editorial policy")).to_have_attribute(
        "href", "/editorial-policy")
    personalize = page.get_by_role("region", name="Personalize")
    expect(personalize).to_contain_text("Help us tailor your experience")
    expect(personalize).to_contain_text("Which best describes you?")
    for name in SECTIONS:
        expect(page.locator(".prose").get_by_role("heading", name=name, exact=True)).to_be_visible()


def _citations_link_both_ways(page: Any) -> None:
    marker = page.locator(".prose a.cite").first
    expect(marker).to_have_attribute("href", "#ref-3")  # the lead cites [3, 6] first
    marker.click()
    expect(page).to_have_url(re.compile(r"#ref-3$"))
    reference = page.locator("#ref-3")
    expect(reference).to_contain_text("American College of Rheumatology")
    expect(reference.get_by_role("link", name="doi:10.1002/acr.24131")).to_be_visible()
    back = reference.get_by_role("link", name="Back to citation 1 of reference 3 in the text")
    back.click()
    expect(page).to_have_url(re.compile(r"#cite-3-1$"))
    expect(page.locator("#cite-3-1")).to_be_in_viewport()
    expect(page.locator("section.references li")).to_have_count(len(demo_seed.REFERENCES))
    # Each reference links to what it was checked by (docs/SEED_SOURCES.md): its DOI,
    # PMID or address, e.g. the knee trial by its PubMed Central address.
    for n, ref in enumerate(demo_seed.REFERENCES, start=1):
        item = page.locator(f"#ref-{n}")
        for label in [ref.get("url"), ref.get("doi") and f"doi:{ref['doi']}",
                      ref.get("pmid") and f"PMID {ref['pmid']}"]:
            if label:
                expect(item.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.locator("#ref-5").get_by_role(
        "link", name="https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5002157/")).to_be_visible()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_approved_seed_page(seeded: tuple[str, dict[str, str]], width: int,
                                height: int) -> None:
    from playwright.sync_api import sync_playwright

    base, slugs = seeded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.goto(f"{base}/articles/{slugs['approved']}")
            _common_elements(page, "Approved")
            expect(page.get_by_text(CAUTION)).to_have_count(0)
            expect(page.get_by_text("Medically reviewed by Dr. Maya Reed, MD, FACP")
                   ).to_be_visible()
            expect(page.get_by_text("Drafted with an automated writing tool: evidence-writer")
                   ).to_be_visible()
            # The patients' text and disclaimer by default.
            expect(page.get_by_role("link", name="Patient or caregiver")).to_have_attribute(
                "aria-current", "true")
            expect(page.locator(".prose")).to_contain_text(demo_seed.LEAD)
            expect(page.get_by_text(PATIENT_DISCLAIMER)).to_be_visible()
            expect(page.get_by_text(PROFESSIONAL_DISCLAIMER)).to_have_count(0)
            _citations_link_both_ways(page)
            _no_horizontal_scroll(page, width)
            check_accessibility(page, f"seed page (patients) at {width}px")
            page.screenshot(path=str(SHOTS / f"audience-approved-patient-{width}.png"),
                            full_page=True)

            # The switch: the professional text and disclaimer, remembered on reload.
            page.get_by_role("link", name="Healthcare professional").click()
            expect(page.get_by_role("link", name="Healthcare professional")).to_have_attribute(
                "aria-current", "true")
            expect(page.locator(".prose")).to_contain_text(
                "Stem cell-based interventions for chronic pain remain investigational")
            expect(page.get_by_role("heading", name="Professional Medical Disclaimer")
                   ).to_be_visible()
            expect(page.get_by_text(PROFESSIONAL_DISCLAIMER)).to_be_visible()
            expect(page.get_by_text(PATIENT_DISCLAIMER)).to_have_count(0)
            page.goto(f"{base}/articles/{slugs['approved']}")  # no query: the cookie
            expect(page.locator(".prose")).to_contain_text("remain investigational")
            expect(page.get_by_text(PROFESSIONAL_DISCLAIMER)).to_be_visible()
            _common_elements(page, "Approved")
            _citations_link_both_ways(page)
            _no_horizontal_scroll(page, width)
            check_accessibility(page, f"seed page (professionals) at {width}px")
            page.screenshot(path=str(SHOTS / f"audience-approved-professional-{width}.png"),
                            full_page=True)
            page.get_by_role("link", name="Patient or caregiver").click()
            page.reload()
            expect(page.locator(".prose")).to_contain_text(demo_seed.LEAD)
        finally:
            browser.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_pending_seed_page(seeded: tuple[str, dict[str, str]], width: int,
                               height: int) -> None:
    from playwright.sync_api import sync_playwright

    base, slugs = seeded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.goto(f"{base}/articles/{slugs['pending']}")
            _common_elements(page, "Submitted")
            expect(page.get_by_text(CAUTION)).to_be_visible()
            expect(page.get_by_text("Medically reviewed by")).to_have_count(0)
            expect(page.get_by_text("It has not been approved by a reviewer yet.")).to_be_visible()
            expect(page.locator(".prose")).to_contain_text(demo_seed.LEAD)
            _citations_link_both_ways(page)
            page.get_by_role("link", name="Healthcare professional").click()
            expect(page.get_by_text(PROFESSIONAL_DISCLAIMER)).to_be_visible()
            expect(page.get_by_text(CAUTION)).to_be_visible()
            page.reload()
            expect(page.locator(".prose")).to_contain_text("remain investigational")
            _no_horizontal_scroll(page, width)
            check_accessibility(page, f"pending seed page at {width}px")
            page.screenshot(path=str(SHOTS / f"audience-pending-{width}.png"), full_page=True)
        finally:
            browser.close()
