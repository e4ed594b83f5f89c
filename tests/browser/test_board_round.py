"""The board's process in a real browser: an editor assigns two board members, each
accepts, declares no conflict and approves; the policy wants two approvals, one from
cardiology; the public page then names both reviewers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from review_flow.actor import Actor
from review_flow.articles import actions, writes
from review_flow.db import Database
from review_flow.policy import service as policy_service
from review_flow.users import service as users
from tests.browser.conftest import _require_browser
from tests.browser.test_journey import check_accessibility, shot, sign_in
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS
from tests.support.servers import gunicorn

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def board_site(sqlite_template: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    """gunicorn on a database with a submitted article under a board policy that requires
    assignment and two approvals, one from cardiology."""
    _require_browser()
    path = tmp_path_factory.mktemp("board") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        people = {}
        for email, name, role, creds, specs in [
            ("author@example.org", "Alex Author", "author", None, []),
            ("reed@example.org", "Dr. Maya Reed", "reviewer", "MD, FACP", ["Internal medicine"]),
            ("heart@example.org", "Dr. Ada Heart", "reviewer", "MD, FACC", ["Cardiology"]),
            ("editor@example.org", "Erin Editor", "editor", None, []),
        ]:
            people[email] = users.add_user(s, email=email, name=name, roles=[role],
                                           password=PASSWORD, credentials=creds,
                                           specialties=specs)
        policy_service.set_policy(s, changed_by=people["editor@example.org"], changes={
            "name": "Medical Advisory Board policy", "required_approvals": 2,
            "required_specialties": {"cardiology": 1}, "require_assignment": True,
            "allow_claiming": False, "review_checks": ["conflict_of_interest"]})
    with db.transaction() as s:
        author = Actor(users.get_by_email(s, "author@example.org"))
        article = writes.create_article(s, author, title="Statins and your heart",
                                          body=BODY, references=REFS)
        aid, slug = article.id, article.slug
    with db.transaction() as s:
        actions.perform_action(s, Actor(users.get_by_email(s, "author@example.org")), aid,
                                "submit")
    db.dispose()
    with gunicorn(url, workers=2) as base:
        yield base, aid, slug


def _assign(page: Page, site: str, aid: int, name: str) -> None:
    page.goto(f"{site}/review/{aid}")
    page.get_by_label("Board member", exact=True).select_option(label=page.locator(
        "#assign-reviewer option", has_text=name).inner_text())
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(f"{name} is invited to review")


def _accept_and_approve(page: Page, site: str, aid: int, *, start: bool) -> None:
    page.goto(f"{site}/review/{aid}")
    invited = page.get_by_role("heading", name="You are invited to review this article")
    expect(invited).to_be_visible()
    shot(page, f"round-invited-{page.viewport_size['width']}.png")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").first).to_contain_text("You accepted the review")
    if start:
        page.get_by_role("button", name="Start review").click()
        expect(page.get_by_role("status").first).to_contain_text("Review started")
    page.get_by_role("button", name="Approve").click()
    page.get_by_label("Conflict of interest declaration").fill("none")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign").click()


def test_assign_accept_declare_approve_twice_then_the_public_page_names_both(
        chromium: Any, board_site: tuple[str, int, str]) -> None:
    site, aid, slug = board_site
    editor = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(editor, site, "editor@example.org")
    editor.goto(f"{site}/review/{aid}")
    expect(editor.get_by_role("heading", name="Review round 1")).to_be_visible()
    check_accessibility(editor, "review page with the round")
    _assign(editor, site, aid, "Dr. Maya Reed")
    _assign(editor, site, aid, "Dr. Ada Heart")
    shot(editor, "round-editor-1280.png")
    editor.goto(f"{site}/editor/articles")
    expect(editor.get_by_role("heading", name="All articles")).to_be_visible()
    check_accessibility(editor, "all articles")
    shot(editor, "all-articles-1280.png")

    reed = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(reed, site, "reed@example.org")
    reed.goto(f"{site}/review/assigned")
    expect(reed.get_by_role("link", name="Statins and your heart")).to_be_visible()
    check_accessibility(reed, "assigned to me")
    shot(reed, "assigned-390.png")
    _accept_and_approve(reed, site, aid, start=True)
    expect(reed.get_by_role("status").first).to_contain_text(
        "Still needed: 1 more approval from cardiology.")

    heart = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(heart, site, "heart@example.org")
    _accept_and_approve(heart, site, aid, start=False)
    expect(heart.get_by_role("status").first).to_contain_text("the article is published")

    reader = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    reader.goto(f"{site}/articles/{slug}")
    expect(reader.get_by_text("Medically reviewed by Dr. Maya Reed, MD, FACP")).to_be_visible()
    expect(reader.get_by_text("Medically reviewed by Dr. Ada Heart, MD, FACC")).to_be_visible()
    shot(reader, "public-two-reviewers-390.png")
