"""The auditor's Signatures, Integrity and Trail reviews pages in Chromium: the report
flags a tampered signature, a run shows its result, a trail review is recorded; axe on
each page, at 1280 px and at 390 px (no sideways scrolling)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.db import Database
from review_flow.users import service as users
from tests.browser.conftest import _require_browser
from tests.browser.test_journey import check_accessibility, shot, sign_in
from tests.conftest import PASSWORD
from tests.support.servers import gunicorn
from tests.web.conftest import BODY, REFS

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def workbench(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[str, dict[str, int]]]:
    """gunicorn over a database holding two approved articles; the second one's
    signature has had its printed name changed behind the application's back."""
    _require_browser()
    path = tmp_path_factory.mktemp("workbench") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    people: dict[str, Actor] = {}
    with db.transaction() as s:
        for email, name, role, creds in [
            ("author@example.org", "Alex Author", "author", None),
            ("reed@example.org", "Dr. Maya Reed", "reviewer", "MD, FACP"),
            ("auditor@example.org", "Aubrey Auditor", "auditor", None),
        ]:
            people[role] = Actor(users.add_user(s, email=email, name=name, roles=[role],
                                                password=PASSWORD, credentials=creds))
    ids = {}
    for key, title in (("good", "Understanding High Blood Pressure"),
                       ("tampered", "Salt and blood pressure")):
        with db.transaction() as s:
            ids[key] = create_article(s, people["author"], title=title, body=BODY,
                                      references=REFS).id
        for action, who in (("submit", "author"), ("start_review", "reviewer"),
                            ("approve", "reviewer")):
            with db.transaction() as s:
                perform_action(s, people[who], ids[key], action,
                               password=PASSWORD if action == "approve" else None)
    with db.transaction() as s:
        for name in s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                   "AND tbl_name = 'decisions'")).all():
            s.execute(text(f"DROP TRIGGER {name}"))
        s.execute(text("UPDATE decisions SET printed_name = 'Dr. Famous' "
                       "WHERE article_id = :a"), {"a": ids["tampered"]})
    db.dispose()
    with gunicorn(url, workers=2) as base:
        yield base, ids


def _phone(context: Any, url: str, what: str) -> None:
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(url)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what}: {width} px wide at 390 px"
    check_accessibility(phone, f"{what} on a phone")
    shot(phone, f"{what.replace(' ', '-')}-390.png")
    phone.close()


def test_auditor_checks_signatures_runs_integrity_and_records_a_review(
        chromium: Any, workbench: tuple[str, dict[str, int]]) -> None:
    site, ids = workbench
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, site, "auditor@example.org")

    # Signatures: the intact one checks out, the tampered one is flagged with the field.
    page.get_by_role("link", name="Signatures").click()
    expect(page.get_by_role("heading", name="Signatures", exact=True)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("1 signature on this page fails")
    rows = page.locator("table.signatures tbody tr")
    expect(rows).to_have_count(2)
    flagged = page.locator("tr.failing")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("Dr. Famous")
    expect(flagged).to_contain_text("Does not check out")
    expect(flagged).to_contain_text("printed name: the chain")
    expect(flagged).to_contain_text("says 'Dr. Maya Reed'")
    expect(rows.filter(has_not=page.locator(".check-failed"))).to_contain_text("Checks out")
    check_accessibility(page, "signatures report")
    shot(page, "signatures-1280.png")
    _phone(context, page.url, "signatures")

    # Integrity: start a run; the page refreshes itself until the result is there.
    page.get_by_role("link", name="Integrity", exact=True).click()
    page.get_by_role("button", name="Run integrity check").click()
    result = page.locator(".integrity-result")
    expect(result).to_contain_text("Failed:", timeout=60_000)
    expect(result).to_contain_text(f"article {ids['tampered']}")
    expect(result).to_contain_text("the table says 'Dr. Famous'")
    expect(result).to_contain_text("Chain head")
    check_accessibility(page, "integrity page")
    shot(page, "integrity-1280.png")
    _phone(context, page.url, "integrity")

    # A trail review of the intact article; it leaves the "not reviewed" list.
    page.get_by_role("link", name="Trail reviews", exact=True).click()
    unreviewed = page.locator("section[aria-labelledby=unreviewed-heading] tbody tr")
    expect(unreviewed).to_have_count(2)
    page.get_by_label("Article id").fill(str(ids["good"]))
    page.get_by_label("Comment").fill("Approval trail checked against the signed text.")
    page.get_by_role("button", name="Record trail review").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Trail review recorded for article {ids['good']}")
    expect(unreviewed).to_have_count(1)
    expect(unreviewed).to_contain_text(f"Article {ids['tampered']}")
    expect(page.locator("ul.trail-reviews")).to_contain_text(
        "Approval trail checked against the signed text.")
    check_accessibility(page, "trail reviews")
    shot(page, "trail-reviews-1280.png")
    _phone(context, page.url, "trail reviews")

    # It is in the article's log, as an event.
    page.goto(f"{site}/audit?article={ids['good']}")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("audit.trail_review")
    context.close()
