"""``page.changed``: a purge notice for a CDN whenever an article's public page may read
differently, written in the same transaction as the change, only to endpoints that chose it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.actions import perform_action
from review_flow.articles.models import Article
from review_flow.articles.queries import get_article
from review_flow.articles.writes import edit_article
from review_flow.db import Database
from review_flow.errors import Conflict
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxMessage
from review_flow.policy import service as policy_service
from tests.conftest import PASSWORD
from tests.support.receivers import webhook_receiver
from tests.support.webhook_config import TEST_WEBHOOKS, register

SECRET = "whsec_cGFnZS1jaGFuZ2VkLXRlc3Qtc2VjcmV0LTMyYnl0ZXM="  # 32 bytes, Standard Webhooks


def _purges(db: Database) -> list[tuple[str, list[str], int]]:
    """(cause, paths, article id) of each page.changed row, oldest first."""
    with db.reading() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "page.changed")
            .order_by(OutboxMessage.id)
        )
        return [
            (m.payload["data"]["cause"], m.payload["data"]["paths"], m.article_id) for m in rows
        ]


def _data(db: Database, n: int) -> dict[str, Any]:
    """The data of the n-th page.changed message."""
    with db.reading() as s:
        return dict(list(s.scalars(select(OutboxMessage.payload).where(
            OutboxMessage.kind == "page.changed").order_by(OutboxMessage.id)))[n]["data"])


def _act(db: Database, who: Any, aid: int, action: str, **kw: Any) -> None:
    with db.transaction() as s:
        perform_action(s, who, aid, action, **kw)


@pytest.fixture
def purge_hook(db: Database) -> int:
    with db.transaction() as s:
        return register(s, url="http://127.0.0.1:9/purge", events=["page.changed"]).id


def test_each_state_change_sends_one_purge_naming_the_page_and_the_index(
    db: Database, people: Any, new_article: Any, purge_hook: int
) -> None:
    rev, editor = people["reviewer"], people["editor"]
    aid = new_article(submit=True)
    with db.reading() as s:
        slug = get_article(s, aid).slug
    _act(db, rev, aid, "start_review")
    _act(db, rev, aid, "approve", password=PASSWORD)
    _act(db, editor, aid, "retract", comment="New evidence.")
    paths = [f"/articles/{slug}", "/"]
    assert {_data(db, n)["scope"] for n in range(4)} == {"article"}
    assert _purges(db) == [
        ("article.submit", paths, aid),
        ("article.start_review", paths, aid),
        ("article.approve", paths, aid),
        ("article.retract", paths, aid),
    ]


def test_rereview_of_an_approved_article_sends_a_purge(
    db: Database, people: Any, new_article: Any, purge_hook: int
) -> None:
    aid = new_article(submit=True)
    _act(db, people["reviewer"], aid, "start_review")
    _act(db, people["reviewer"], aid, "approve", password=PASSWORD)
    with db.transaction() as s:  # the review date has passed
        s.execute(Article.__table__.update().where(Article.id == aid)
                  .values(review_due=datetime.now(UTC) - timedelta(days=1)))
    before = len(_purges(db))
    _act(db, people["editor"], aid, "request_rereview")
    assert [(c, a) for c, _, a in _purges(db)][before:] == [("article.request_rereview", aid)]


def test_an_approval_short_of_the_quorum_and_the_creation_of_a_draft_send_none(
    db: Database, people: Any, new_article: Any, purge_hook: int
) -> None:
    with db.transaction() as s:
        policy_service.set_policy(s, changed_by=people["editor"].user,
                                  changes={"required_approvals": 2})
    aid = new_article(submit=True)
    _act(db, people["reviewer"], aid, "start_review")
    count = len(_purges(db))
    _act(db, people["reviewer"], aid, "approve", password=PASSWORD)  # 1 of 2: nothing shows
    assert len(_purges(db)) == count
    _act(db, people["reviewer2"], aid, "approve", password=PASSWORD)
    assert [c for c, _, _ in _purges(db)][count:] == ["article.approve"]
    new_article(title="Only a draft")
    assert len(_purges(db)) == count + 1


def test_edit_of_an_approved_article_keeps_its_page_but_a_pending_one_changes(
    db: Database, people: Any, new_article: Any, purge_hook: int
) -> None:
    author, rev = people["author"], people["reviewer"]
    approved = new_article(submit=True)
    _act(db, rev, approved, "start_review")
    _act(db, rev, approved, "approve", password=PASSWORD)
    pending = new_article(title="Pending one", submit=True)
    _act(db, rev, pending, "start_review")
    _act(db, rev, pending, "request_changes", comment="Cite the trial.")
    count = len(_purges(db))
    for aid in (approved, pending):
        with db.transaction() as s:
            edit_article(s, author, aid, title="New title", body="New text [1].\n",
                         references=[{"title": "Trial", "pmid": "123"}])
    assert [(c, a) for c, _, a in _purges(db)][count:] == [("article.edit", pending)]


def test_a_refused_action_writes_no_purge(
    db: Database, people: Any, new_article: Any, purge_hook: int
) -> None:
    aid = new_article(submit=True)
    count = len(_purges(db))
    with pytest.raises(Conflict), db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "start_review", expected_version=99)
    assert len(_purges(db)) == count


def test_all_events_does_not_include_purges(db: Database, people: Any,
                                            new_article: Any) -> None:
    with db.transaction() as s:
        everything = register(s, url="http://127.0.0.1:9/all", events=["*"]).id
    new_article(submit=True)
    with db.reading() as s:
        kinds = list(s.scalars(select(OutboxMessage.kind).where(
            OutboxMessage.webhook_id == everything).order_by(OutboxMessage.id)))
    assert kinds == ["article.create", "article.submit"]


def test_the_purge_is_delivered_signed(db: Database, people: Any, new_article: Any) -> None:
    with webhook_receiver(SECRET) as rx:
        with db.transaction() as s:
            register(s, url=rx.url, events=["page.changed"], secret=SECRET)
        aid = new_article(submit=True)
        report = Deliverer(db, DeliverySettings(webhooks=TEST_WEBHOOKS)).run()
    assert report.sent == 1
    (hit,) = rx.hits
    assert hit.signature_ok and hit.headers["X-Review-Flow-Event"] == "page.changed"
    data = hit.json["data"]
    assert data["article"]["id"] == aid and data["cause"] == "article.submit"
    assert data["paths"][0] == f"/articles/{data['article']['slug']}"


def test_a_policy_change_sends_one_site_wide_purge(
    db: Database, people: Any, purge_hook: int
) -> None:
    with db.transaction() as s:
        version = policy_service.set_policy(s, changed_by=people["editor"].user,
                                            changes={"show_pending_publicly": False})
    with db.reading() as s:
        (row,) = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "page.changed"))
        data, webhook_id, article_id = row.payload["data"], row.webhook_id, row.article_id
    assert webhook_id == purge_hook and article_id is None
    assert data["scope"] == "site" and data["cause"] == "policy.update"
    assert data["paths"] == ["/", "/editorial-policy"] and data["prefixes"] == ["/articles/"]
    assert data["policy_version"] == version
    assert data["actor"]["name"] == "Erin Editor"
    with pytest.raises(Exception, match="policy"), db.transaction() as s:
        policy_service.set_policy(s, changed_by=people["editor"].user,
                                  changes={"required_approvals": "many"})
    assert len(_purges(db)) == 1  # a refused change sends nothing
