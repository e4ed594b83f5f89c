"""The "Overdue" view and the editors' "All articles" after a sweep escalated a review, in
a real browser at desktop and phone widths: the escalation is shown, no date breaks at a
hyphen, nothing scrolls sideways at 390 px, axe finds no serious violation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from review_flow.actor import Actor
from review_flow.articles import actions, writes
from review_flow.db import Database
from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.sweep.service import sweep
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from tests.browser.conftest import SCREENSHOTS, _require_browser
from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS
from tests.support.servers import gunicorn

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def overdue_site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two accepted reviews: one five days late (the sweep escalates it), one a day late."""
    _require_browser()
    path = tmp_path_factory.mktemp("overdue") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        for email, name, role, creds in [
            ("author@example.org", "Alex Author", "author", None),
            ("reed@example.org", "Dr. Maya Reed", "reviewer", "MD, FACP"),
            ("editor@example.org", "Erin Editor", "editor", None),
        ]:
            users.add_user(s, email=email, name=name, roles=[role], password=PASSWORD,
                           credentials=creds)
    for title, late in (("Statins and your heart: what the newest trials say", 5),
                        ("Gout and diet", 1)):
        with db.transaction() as s:
            author = Actor(users.get_by_email(s, "author@example.org"))
            aid = writes.create_article(s, author, title=title, body=BODY, references=REFS).id
            actions.perform_action(s, author, aid, "submit")
        with db.transaction() as s:
            editor = Actor(users.get_by_email(s, "editor@example.org"))
            asg = assignments.assign(s, editor, aid,
                                     users.get_by_email(s, "reed@example.org")).id
            s.execute(update(Assignment).where(Assignment.id == asg).values(
                state="accepted", review_due=utcnow() - timedelta(days=late))
                .execution_options(synchronize_session=False))
    assert sweep(db).ok
    db.dispose()
    with gunicorn(url, workers=1) as base:
        yield base


# Each date-only <time> in the list's rows whose text breaks over two lines ("2026-11-" / "26").
BROKEN_DATES = """[...document.querySelectorAll('table.list td time')]
  .filter(t => /^\\d{4}-\\d{2}-\\d{2}$/.test(t.textContent) && t.getClientRects().length > 1)
  .map(t => t.textContent)"""


def _escalation_with_whole_dates(chromium: Any, site: str, path: str, shot: str, name: str,
                                 width: int) -> None:
    """The escalated assignment is marked, the other is not, no date breaks at a hyphen,
    the page does not scroll sideways and axe finds nothing, at ``width``."""
    page = chromium.new_context(viewport={"width": width, "height": 900}).new_page()
    sign_in(page, site, "editor@example.org")
    page.goto(f"{site}{path}")
    row = page.get_by_role("row").filter(has_text="Statins and your heart")
    expect(row).to_contain_text("Escalated to the editors on")
    expect(page.get_by_role("row").filter(has_text="Gout and diet")).not_to_contain_text(
        "Escalated")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{shot}-{width}.png"), full_page=True)
    assert page.evaluate(BROKEN_DATES) == [], f"dates broken over two lines at {width} px"
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide at {width} px"
    check_accessibility(page, f"{name} at {width} px")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_overdue_view_shows_the_escalation(chromium: Any, overdue_site: str,
                                               width: int) -> None:
    """The escalation and review-due dates never break at a hyphen, at either width."""
    _escalation_with_whole_dates(chromium, overdue_site, "/review/overdue", "sweep2-overdue",
                                 "Overdue view", width)


@pytest.mark.parametrize("width", [1280, 390])
def test_all_articles_shows_the_escalation_with_whole_dates(chromium: Any, overdue_site: str,
                                                            width: int) -> None:
    """The review-due and escalation dates beside a reviewer's name never break at a
    hyphen, at either width."""
    _escalation_with_whole_dates(chromium, overdue_site, "/editor/articles",
                                 "all-articles-escalated", "All articles", width)
