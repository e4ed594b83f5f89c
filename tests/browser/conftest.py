"""A real browser (Debian's Chromium through Playwright) against gunicorn on loopback.

Chromium is never downloaded: the tests use /usr/bin/chromium. Without it they skip with
a reason, unless REVIEW_FLOW_REQUIRE_BROWSER=1 (CI), which turns its absence into a
failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review_flow.db import Database
from review_flow.policy import service as policy_service
from review_flow.users import service as users
from tests.conftest import PASSWORD
from tests.support.servers import gunicorn

CHROMIUM = os.environ.get("REVIEW_FLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The test run saves its pictures under build/ (ignored by git): a run never changes the
# checkout. `make screenshots` points this at docs/screenshots to refresh the README's.
SCREENSHOTS = Path(
    os.environ.get("REVIEW_FLOW_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)


# The site's board checklist, answered on the signature step of every approval.
CHECKLIST = ("Claims match the cited sources", "Dosages and contraindications checked")


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("REVIEW_FLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"REVIEW_FLOW_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn serving a fresh migrated database with an author, two reviewers, an editor,
    an auditor and an admin.

    The policy turns the review checks on, as the demo's medical-board policy does, so the
    signature step is driven with its attestations.
    """
    _require_browser()
    path = tmp_path_factory.mktemp("browser") / "site.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    with db.transaction() as s:
        for email, name, role, creds in [
            ("author@example.org", "Alex Author", "author", None),
            ("reed@example.org", "Dr. Maya Reed", "reviewer", "MD, FACP"),
            ("okafor@example.org", "Dr. Chidi Okafor", "reviewer", "MD, MPH"),
            ("editor@example.org", "Erin Editor", "editor", None),
            ("auditor@example.org", "Aubrey Auditor", "auditor", None),
            ("admin@example.org", "Ada Admin", "admin", None),
        ]:
            user = users.add_user(s, email=email, name=name, roles=[role], password=PASSWORD,
                                  credentials=creds)
            if role == "editor":
                editor = user
        policy_service.set_policy(s, changed_by=editor, changes={
            "name": "Medical Advisory Board policy",
            "review_checks": ["checklist", "references_verified", "conflict_of_interest"],
            "checklist": list(CHECKLIST)})
    db.dispose()
    with gunicorn(url, workers=2) as base:
        yield base


@pytest.fixture(scope="module")
def chromium(site: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        original = browser.new_context

        def new_context(**kwargs: Any) -> Any:
            context = original(**kwargs)
            context.set_default_timeout(30_000)  # a ceiling for a loaded machine, not a wait
            return context

        browser.new_context = new_context
        yield browser
        browser.close()
