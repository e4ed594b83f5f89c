"""An approval sets the next review date in calendar months under the policy in force."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from review_flow.articles import queries
from review_flow.policy import service as policy
from review_flow.policy.calendar import add_months
from review_flow.signatures.models import Decision
from tests.core.helpers import act, create


def _approve(db: Any, people: Any) -> int:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    return aid


def _due_and_signed(db: Any, aid: int) -> tuple[Any, Any]:
    with db.reading() as s:
        article = queries.get_article(s, aid)
        signed = s.scalars(select(Decision.signed_at).where(Decision.article_id == aid)).one()
        return article.review_due, signed


def test_review_due_is_the_policy_interval_in_calendar_months(db: Any, people: Any) -> None:
    aid = _approve(db, people)
    due, signed = _due_and_signed(db, aid)
    assert due == add_months(signed, 12)


def test_review_due_follows_a_changed_interval(db: Any, people: Any) -> None:
    with db.transaction() as s:
        policy.set_policy(s, changed_by=people["editor"].user, changes={"rereview_months": 6})
    aid = _approve(db, people)
    due, signed = _due_and_signed(db, aid)
    assert due == add_months(signed, 6)
    assert (due.year * 12 + due.month) - (signed.year * 12 + signed.month) == 6
