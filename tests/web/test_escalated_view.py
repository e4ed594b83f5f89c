"""The "Overdue" view says which overdue reviews the sweep escalated to the editors, and
when; a review only just overdue is not marked."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.sweep.service import sweep
from review_flow.timeutil import utcnow
from review_flow.users import service as users


def _accepted(db: Any, story: Any, people: Any, title: str, days_late: int) -> int:
    aid = story.in_state("submitted", title=title)
    with db.transaction() as s:
        asg = assignments.assign(s, people["editor"], aid,
                                 users.get_by_email(s, "reed@example.org")).id
    with db.transaction() as s:
        s.execute(update(Assignment).where(Assignment.id == asg).values(
            state="accepted", review_due=utcnow() - timedelta(days=days_late))
            .execution_options(synchronize_session=False))
    return asg


def _row(page: str, title: str) -> str:
    found = re.search(rf"<tr>\s*<td><a [^>]*>{title}</a>.*?</tr>", page, re.S)
    assert found, f"no row for {title}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).strip()


def test_the_overdue_view_marks_escalated_reviews(as_role: Any, story: Any, people: Any,
                                                  db: Any) -> None:
    _accepted(db, story, people, "Statins explained", days_late=5)
    _accepted(db, story, people, "Gout and diet", days_late=1)
    report = sweep(db)
    assert report.ok
    editor = as_role("editor")
    page = editor.get("/review/overdue").get_data(as_text=True)
    today = utcnow().date().isoformat()
    assert (f"Accepted Overdue Escalated to the editors on {today}"
            in _row(page, "Statins explained"))
    late = _row(page, "Gout and diet")
    assert "Accepted Overdue" in late and "Escalated" not in late


def test_all_articles_marks_escalated_reviews_as_the_overdue_view_does(
        as_role: Any, story: Any, people: Any, db: Any) -> None:
    """The editors' list reads the same notice records: the escalated review is marked
    with the same words, the one only just overdue is not."""
    _accepted(db, story, people, "Statins explained", days_late=5)
    _accepted(db, story, people, "Gout and diet", days_late=1)
    assert sweep(db).ok
    page = as_role("editor").get("/editor/articles").get_data(as_text=True)
    today = utcnow().date().isoformat()
    escalated = _row(page, "Statins explained")
    assert "overdue ) Escalated to the editors on " + today in escalated
    assert '<strong class="overdue">Escalated</strong>' in page
    late = _row(page, "Gout and diet")
    assert "overdue )" in late and "Escalated" not in late
