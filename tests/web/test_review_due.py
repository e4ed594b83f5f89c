"""Editors' "Review due" page: overdue and coming re-reviews with their dates, keyset paged."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from review_flow.articles.models import Article
from review_flow.web import review_due as view
from tests.support.pager import walk

_ROW = re.compile(r'<tr>\s*<td><a href="/review/\d+">([^<]+)</a>')


def _approved_due(story: Any, title: str, due: datetime) -> int:
    aid = story.in_state("approved", title=title)
    with story.db.transaction() as s:
        s.execute(update(Article).where(Article.id == aid).values(review_due=due)
                  .execution_options(synchronize_session=False))
    return aid


def test_editors_see_overdue_and_coming_with_their_dates(as_role: Any, story: Any) -> None:
    now = datetime.now(UTC)
    _approved_due(story, "Coming soon", now + timedelta(days=10, hours=1))
    _approved_due(story, "Long overdue", now - timedelta(days=40, hours=1))
    _approved_due(story, "Next year", now + timedelta(days=200))
    _approved_due(story, "Just overdue", now - timedelta(hours=1))
    story.in_state("under_review", title="Not approved")
    html = as_role("editor").get("/review/due").get_data(as_text=True)
    assert "<h1>Review due</h1>" in html
    assert _ROW.findall(html) == ["Long overdue", "Just overdue", "Coming soon"]
    assert "Overdue by 40 days" in html
    assert "Overdue</span>" in html  # an hour over: no "by 0 days"
    assert "Due in 11 days" in html  # 10 days and an hour: rounded up
    assert re.search(r"<strong>2</strong> overdue · <strong>1</strong> due within 30 days", html)
    long_due = now - timedelta(days=40, hours=1)
    assert (f'<time datetime="{long_due.isoformat()}">{long_due:%B} {long_due.day}, '
            f'{long_due:%Y}</time>') in html
    assert '<a href="/review/due">Review due</a>' in html  # the editor's navigation


def test_nothing_due_says_so(as_role: Any, story: Any) -> None:
    story.in_state("approved")  # due a year from now
    html = as_role("editor").get("/review/due").get_data(as_text=True)
    assert "No approved article is overdue or due within 30 days." in html


def test_other_roles_have_no_link(as_role: Any) -> None:
    for role in ("reviewer", "author", "auditor"):
        html = as_role(role).get("/").get_data(as_text=True)
        assert "Review due" not in html, role


def test_the_list_pages_by_keyset_without_repeats_or_gaps(as_role: Any, story: Any,
                                                          monkeypatch: Any) -> None:
    monkeypatch.setattr(view, "PAGE", 2)
    now = datetime.now(UTC)
    same = now - timedelta(days=3)  # two articles due at the same instant: the id decides
    for i, due in enumerate([same, same, now - timedelta(days=5), now + timedelta(days=1),
                             now + timedelta(days=20)]):
        _approved_due(story, f"Topic {i}", due)
    pages = walk(as_role("editor"), "/review/due", "Next page", _ROW)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [t for page in pages for t in page] == [
        "Topic 2", "Topic 0", "Topic 1", "Topic 3", "Topic 4"]


def test_a_mangled_position_shows_the_first_page(as_role: Any, story: Any) -> None:
    _approved_due(story, "Overdue one", datetime.now(UTC) - timedelta(days=1))
    html = as_role("editor").get("/review/due?after=garbage").get_data(as_text=True)
    assert _ROW.findall(html) == ["Overdue one"]
