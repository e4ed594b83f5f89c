"""The auditor's workbench in Chromium: filter the log to one article, compare two of its
revisions, export the filtered log as CSV; axe on each page, at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey import check_accessibility, shot, sign_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)


def _article_with_two_revisions(chromium: Any, site: str) -> int:
    author = chromium.new_context().new_page()
    sign_in(author, site, "author@example.org")
    author.get_by_role("link", name="New article").click()
    author.get_by_label("Title").fill("Salt and <b>blood</b> pressure")
    author.get_by_label("Body").fill("Eating less salt lowers blood pressure [1].\n")
    author.get_by_label("Reference 1", exact=True).fill("Sodium intake guideline")
    author.get_by_label("Reference 1 PMID").fill("23658812")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_role("status")).to_contain_text("Draft saved as revision 1.")
    author.get_by_label("Body").fill("Eating much less salt lowers high blood pressure [1].\n")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_role("status")).to_contain_text("revision 2")
    found = re.search(r"/write/(\d+)", author.url)
    assert found, author.url
    author.context.close()
    return int(found.group(1))


def test_auditor_filters_compares_and_exports(chromium: Any, site: str) -> None:
    article = _article_with_two_revisions(chromium, site)
    context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                   accept_downloads=True)
    page = context.new_page()
    sign_in(page, site, "auditor@example.org")

    # The log, filtered to the article.
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Article id").fill(str(article))
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(2)  # created, then edited
    expect(rows.nth(0)).to_contain_text("article.edit")
    expect(rows.nth(1)).to_contain_text("article.create")
    # The time stays on one line; the viewer's local time is filled in beside it.
    when = rows.nth(0).locator("td.when time")
    assert when.bounding_box()["height"] < 30  # type: ignore[index]
    expect(rows.nth(0).locator(".local-time")).not_to_be_empty()
    check_accessibility(page, "audit log, filtered")
    shot(page, "audit-log.png")
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(page.url)
    expect(phone.locator("table.audit tbody tr")).to_have_count(2)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessibility(phone, "audit log on a phone")
    phone.close()

    # Its revisions, compared.
    page.get_by_role("link", name="open").first.click()
    page.get_by_role("link", name="Compare revisions").click()
    expect(page.get_by_role("heading", name="Revision 1 → revision 2")).to_be_visible()
    expect(page.locator("table.diff-side ins").first).to_have_text("much ")
    page.get_by_label("Inline").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("pre.diff-inline ins").nth(1)).to_have_text("high ")
    expect(page.locator("h1")).to_have_text("Compare revisions")
    check_accessibility(page, "compare revisions")
    shot(page, "compare-revisions.png")

    # The filtered log, exported as CSV: one row per event, and the export recorded.
    page.goto(f"{site}/audit?article={article}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    path = download.value.path()
    assert path is not None
    with open(path, encoding="utf-8", newline="") as f:
        rows_out = list(csv.DictReader(io.StringIO(f.read())))
    assert [r["action"] for r in rows_out] == ["article.create", "article.edit"]
    assert {r["article_id"] for r in rows_out} == {str(article)}
    page.goto(f"{site}/audit?action=audit.export")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("Aubrey Auditor")
    context.close()
