"""Re-review: approved articles whose review date has passed go back to ``submitted``.

Found through ``ix_articles_state_review_due`` (state, review_due, id; migration 0023),
oldest due date first. Each article is re-checked under its row lock before the
workflow's ``request_rereview`` is fired by the system actor, in the action's own locked
load (``perform_action(..., due_by=now)``: one statement, not a re-check and then the
load; ``articles/loading.py``): on PostgreSQL with
``SKIP LOCKED``, so a sweep running at the same moment passes over the article another
one holds instead of waiting for it, and finds it no longer due once that one commits.
(SQLite write transactions hold the database's write lock, so there the re-check alone
is enough.) The audit event records ``as_of`` when the sweep judged by ``--now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from review_flow.actor import SystemActor
from review_flow.articles import actions
from review_flow.articles.loading import NotDue
from review_flow.articles.models import Article
from review_flow.sweep.steps import Item
from review_flow.timeutil import UTCDateTime

ACTION = "request_rereview"
_START = (datetime(1, 1, 1, tzinfo=UTC), 0)

DUE = (
    select(Article.id, Article.review_due)
    .where(
        Article.state == "approved",
        Article.review_due <= bindparam("now", type_=UTCDateTime),
        tuple_(Article.review_due, Article.id)
        > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
    )
    .order_by(Article.review_due, Article.id)
    .limit(bindparam("limit"))
)
class ReReview:
    name = "re-review"
    done_verb = "moved back to submitted"

    def due(self, session: Session, now: datetime, *, after: tuple[Any, ...] | None,
            limit: int) -> Sequence[Item]:
        after_at, after_id = after or _START
        rows = session.execute(
            DUE, {"now": now, "after_at": after_at, "after_id": after_id, "limit": limit})
        return [Item(r.id, (r.review_due, r.id), f"article {r.id}") for r in rows]

    def apply(self, session: Session, actor: SystemActor, item: Item, now: datetime) -> bool:
        try:
            actions.perform_action(session, actor, item.id, ACTION, as_of=now, due_by=now)
        except NotDue:
            return False
        return True
