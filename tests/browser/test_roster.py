"""The board roster in Chromium: an admin adds a reviewer with specialties, the invitation
link from the outbox lets the invitee choose a password and sign in, the admin marks the
credentials verified, and the editorial-policy page lists the new member. Every new page
passes axe at a desktop (1280 px) and a phone (390 px) width."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from review_flow.db import Database
from review_flow.notifications.kinds import render
from review_flow.notifications.secret_box import SecretBox
from review_flow.outbox.models import OutboxMessage
from review_flow.users import service as users
from tests.browser.conftest import _require_browser
from tests.browser.test_journey import check_accessibility, shot, sign_in
from tests.conftest import PASSWORD
from tests.support.servers import gunicorn

# The key tests/support/servers.py gives gunicorn: it seals the invitation links.
SERVER_SECRET_KEY = "test-secret-key-not-for-production"
NEW_PASSWORD = "a password of my own"


@pytest.fixture(scope="module")
def roster_site(sqlite_template: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL): gunicorn over a fresh database with an admin and an editor."""
    _require_browser()
    path = tmp_path_factory.mktemp("roster") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        users.add_user(s, email="admin@example.org", name="Ada Admin", roles=["admin"],
                       password=PASSWORD)
    db.dispose()
    with gunicorn(url, workers=1) as base:
        yield base, url


def _invitation_link(db_url: str, email: str) -> str:
    """The link in the invitation e-mail, written as the deliverer writes it."""
    db = Database(db_url)
    try:
        with db.reading() as s:
            payload = dict(s.scalars(select(OutboxMessage.payload).where(
                OutboxMessage.kind == "invitation", OutboxMessage.recipient == email)).one())
    finally:
        db.dispose()
    box = SecretBox.from_config({"SECRET_KEY": SERVER_SECRET_KEY})
    _, body = render(payload, "", box.open)
    match = re.search(r"^    (/invitations/\S+)$", body, re.M)
    assert match, body
    return match.group(1)


def _audit_at_both_widths(pages: dict[int, Page], url: str, what: str, heading: str) -> None:
    for width, page in pages.items():
        page.goto(url)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        check_accessibility(page, f"{what} at {width} px")
        shot(page, f"roster-{what.replace(' ', '-')}-{width}.png")


def test_admin_adds_a_reviewer_who_accepts_and_is_verified(
        chromium: Any, roster_site: tuple[str, str]) -> None:
    site, db_url = roster_site
    desk = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    phone = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(desk, site, "admin@example.org")
    sign_in(phone, site, "admin@example.org")
    admin_pages = {1280: desk, 390: phone}
    _audit_at_both_widths(admin_pages, f"{site}/admin/people", "people page", "People")

    desk.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    desk.get_by_label("Email").fill("lee@example.org")
    desk.get_by_label("Display name").fill("Dr. Jordan Lee")
    desk.get_by_label("Credentials", exact=True).fill("MD, FACC")
    desk.get_by_label("Specialties").fill("Cardiology\nSleep Medicine")
    expect(desk.get_by_label("Reviewer")).to_be_checked()
    desk.get_by_role("button", name="Add and send invitation").click()
    expect(desk.get_by_role("status")).to_contain_text(
        "Dr. Jordan Lee was added. An invitation to choose a password was e-mailed to "
        "lee@example.org")
    expect(desk.get_by_role("heading", name="Dr. Jordan Lee")).to_be_visible()
    person_url = desk.url
    _audit_at_both_widths(admin_pages, person_url, "person page", "Dr. Jordan Lee")

    # A refused edit says what is wrong beside the field, and at the top.
    desk.get_by_label("Credentials verified until").fill("")
    desk.get_by_label("Display name").fill(" ")
    desk.get_by_role("button", name="Save changes").click()
    expect(desk.get_by_role("alert")).to_contain_text("Enter a display name.")
    check_accessibility(desk, "person page with an error")
    shot(desk, "roster-person-error-1280.png")

    # The invitee opens the link from the e-mail on a phone.
    link = _invitation_link(db_url, "lee@example.org")
    invitee = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    invitee.goto(f"{site}{link}")
    expect(invitee.get_by_role("heading", name="Choose your password")).to_be_visible()
    check_accessibility(invitee, "invitation page at 390 px")
    shot(invitee, "roster-invitation-390.png")
    invitee.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Set password and sign in").click()
    expect(invitee.get_by_role("status")).to_contain_text(
        "Welcome, Dr. Jordan Lee: your password is set and you are signed in.")
    expect(invitee.get_by_role("heading", name="Review queue")).to_be_visible()
    _audit_at_both_widths({390: invitee}, f"{site}/account/password", "password page",
                          "Password")
    again = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    again.goto(f"{site}{link}")
    expect(again.get_by_role("alert")).to_contain_text("This invitation link was already used.")
    check_accessibility(again, "used invitation link at 1280 px")
    shot(again, "roster-invitation-used-1280.png")
    _audit_at_both_widths({1280: desk}, f"{site}/account/password", "password page",
                          "Password")

    # The admin marks the credentials verified for a year.
    until = datetime.now(UTC).date() + timedelta(days=365)
    desk.goto(person_url)
    expect(desk.get_by_text("Active", exact=True)).to_be_visible()
    desk.get_by_label("Credentials verified until").fill(until.isoformat())
    desk.get_by_role("button", name="Save changes").click()
    expect(desk.get_by_role("status")).to_contain_text(
        "Saved Dr. Jordan Lee: changed credentials verified until.")
    expect(desk.locator("dl.facts")).to_contain_text(f"until {until:%Y-%m-%d}")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(desk.get_by_role("table")).to_contain_text("Cardiology, Sleep Medicine")

    desk.goto(f"{site}/editorial-policy")
    expect(desk.locator(".board-members")).to_contain_text(
        "Dr. Jordan Lee, MD, FACC · Cardiology, Sleep Medicine")
