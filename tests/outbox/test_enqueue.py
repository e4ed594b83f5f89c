"""Which changes write which outbox rows, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.articles.actions import perform_action
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article
from review_flow.notifications import board_mail, preferences, webhooks
from review_flow.outbox.models import OutboxMessage
from review_flow.unit_of_work import UnitOfWork
from tests.conftest import PASSWORD
from tests.support.webhook_config import TEST_WEBHOOKS, register


def _messages(db: Any, channel: str | None = None) -> list[OutboxMessage]:
    with db.reading() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if channel:
            stmt = stmt.where(OutboxMessage.channel == channel)
        rows = list(s.scalars(stmt))
        s.expunge_all()  # keep them readable after the read-only session rolls back
        return rows


class Boom(Exception):
    pass


def test_a_rolled_back_change_leaves_no_message(db: Any, people: Any, new_article: Any) -> None:
    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/hook", events=["*"])
    aid = new_article()
    assert [m.kind for m in _messages(db)] == ["article.create"]
    with pytest.raises(Boom), db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
        # The e-mails were queued in the transaction before the audit event; the webhook,
        # which carries the event's seq, is recorded and written just before the commit.
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "email")) > 0
        assert [type(e).__name__ for e in UnitOfWork.of(s).events] == ["ActionAudited"]
        raise Boom
    # Neither the state change nor its e-mails and webhook survive the rollback.
    assert [m.kind for m in _messages(db)] == ["article.create"]
    with db.reading() as s:
        assert get_article(s, aid).state == "draft"


@pytest.mark.parametrize("handler", ["action_mail", "action_webhooks"])
def test_a_failing_dispatcher_rolls_the_change_back(
    db: Any, people: Any, new_article: Any, monkeypatch: pytest.MonkeyPatch, handler: str
) -> None:
    """The e-mails are queued before the audit event, the webhooks just before the
    commit; if either fails, the state change and its audit event are not committed."""
    from review_flow.audit.models import AuditEvent
    from review_flow.notifications import hooks

    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/hook", events=["article.submit"])
    aid = new_article()
    with db.reading() as s:
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    messages_before = _messages(db)

    def broken(session: Any, ev: Any) -> None:
        raise Boom(handler)

    monkeypatch.setattr(hooks, handler, broken)
    with pytest.raises(Boom, match=handler), db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
    with db.reading() as s:
        assert get_article(s, aid).state == "draft"
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    # No e-mail to the reviewers, no webhook either.
    assert [m.id for m in _messages(db)] == [m.id for m in messages_before]


def test_submit_writes_one_board_row_resolved_at_delivery(
    db: Any, people: Any, new_article: Any
) -> None:
    """However many reviewers there are, the change writes one e-mail row for the board;
    who receives it is decided at delivery (tests/outbox/test_board_mail.py)."""
    aid = new_article(submit=True)
    mails = _messages(db, "email")
    assert [(m.kind, m.recipient, m.user_id, m.status, m.article_id) for m in mails] == [
        ("review_requested", board_mail.LABEL, None, "to_expand", aid)]
    payload = mails[0].payload
    assert payload["article"]["title"] == "Managing high blood pressure"
    assert (payload["actor"], payload["comment"], payload["action"], payload["system"]) == (
        "Alex Author", None, "submit", False)
    assert (payload["audience"], payload["article_id"], payload["author_id"]) == (
        "reviewers", aid, people["author"].id)


def test_a_refused_action_writes_no_board_row(db: Any, people: Any, new_article: Any) -> None:
    from review_flow.errors import PermissionDenied

    aid = new_article()
    with pytest.raises(PermissionDenied), db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "submit")  # not the author's
    assert _messages(db, "email") == []


def test_author_hears_of_changes_approval_and_rejection(
    db: Any, people: Any, new_article: Any
) -> None:
    aid = new_article(submit=True)
    rev = people["reviewer"]
    with db.transaction() as s:
        perform_action(s, rev, aid, "start_review")
    with db.transaction() as s:
        perform_action(s, rev, aid, "request_changes", comment="Cite the guideline.")
    with db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
    with db.transaction() as s:
        perform_action(s, rev, aid, "start_review")
    with db.transaction() as s:
        perform_action(s, rev, aid, "approve", password=PASSWORD)
    aid2 = new_article(title="Second", submit=True)
    with db.transaction() as s:
        perform_action(s, rev, aid2, "start_review")
    with db.transaction() as s:
        perform_action(
            s, rev, aid2, "reject", comment="Unsupported claims.", password=PASSWORD
        )
    to_author = [
        (m.kind, m.payload.get("comment"))
        for m in _messages(db, "email")
        if m.recipient == "author@example.org"
    ]
    assert to_author == [
        ("changes_requested", "Cite the guideline."),
        ("approved", None),
        ("rejected", "Unsupported claims."),
    ]
    approved = next(m for m in _messages(db, "email") if m.kind == "approved")
    assert approved.payload["actor"] == "Dr. Maya Reed, MD, FACP"


def test_opt_out_is_per_user_and_per_kind(db: Any, people: Any, new_article: Any) -> None:
    with db.transaction() as s:
        prefs = preferences.set_email_preferences(
            s, s.merge(people["author"].user), {"changes_requested": False}
        )
    assert prefs == {
        "review_requested": True,
        "changes_requested": False,
        "approved": True,
        "rejected": True,
        "revised_by_editor": True,
        "thread_activity": True,
    }
    aid = new_article(submit=True)
    with db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "start_review")
    with db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "request_changes", comment="Fix.")
    assert not [m for m in _messages(db, "email") if m.recipient == "author@example.org"]
    with pytest.raises(Exception, match=r"^“nope” is not a kind of e-mail we send"), \
            db.transaction() as s:
        preferences.set_email_preferences(s, s.merge(people["author"].user), {"nope": False})


def test_webhooks_get_only_the_events_they_chose(db: Any, people: Any, new_article: Any) -> None:
    with db.transaction() as s:
        only_submit = register(
            s, url="http://127.0.0.1:9/a", events=["article.submit"]
        ).id
        disabled = register(s, url="http://127.0.0.1:9/b", events=["*"]).id
        webhooks.update_webhook(s, TEST_WEBHOOKS, disabled, active=False)
    aid = new_article(submit=True)
    hooks = _messages(db, "webhook")
    assert [(m.webhook_id, m.kind) for m in hooks] == [(only_submit, "article.submit")]
    body = hooks[0].payload
    assert body["id"] == hooks[0].message_id and body["type"] == "article.submit"
    assert body["data"]["article"]["id"] == aid
    assert (body["data"]["from_state"], body["data"]["to_state"]) == ("draft", "submitted")


def test_bad_webhook_registrations_are_refused(db: Any) -> None:
    from review_flow.errors import ValidationFailed

    for kwargs, field in (
        ({"url": "ftp://x", "events": ["*"]}, "url"),
        ({"url": "http://x.org", "events": []}, "events"),
        ({"url": "http://x.org", "events": ["article.nope"]}, "events"),
    ):
        with pytest.raises(ValidationFailed) as info, db.transaction() as s:
            register(s, **kwargs)
        assert field in info.value.details["fields"]


def test_rereview_asks_reviewers_again(db: Any, people: Any, new_article: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from review_flow.articles.models import Article

    aid = new_article(submit=True)
    with db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "start_review")
    with db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "approve", password=PASSWORD)
    with db.transaction() as s:
        s.execute(
            Article.__table__.update()
            .where(Article.id == aid)
            .values(review_due=datetime.now(UTC) - timedelta(days=1))
        )
    before = len(_messages(db, "email"))
    with db.transaction() as s:
        perform_action(s, people["editor"], aid, "request_rereview")
    new = _messages(db, "email")[before:]
    assert [(m.kind, m.recipient, m.status) for m in new] == [
        ("review_requested", board_mail.LABEL, "to_expand")]
    assert (new[0].payload["action"], new[0].payload["actor"]) == (
        "request_rereview", "Erin Editor")


def test_notification_query_budget(db: Any, people: Any, count_queries: Any) -> None:
    """What notifications add to each change, pinned: creating looks the endpoints up
    (actions check the cache in their load query instead); one INSERT for the webhook
    rows; one plain single-row INSERT for the board's e-mail, whatever the number of
    reviewers (they are chosen at delivery)."""
    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/a", events=["*"])
        register(s, url="http://127.0.0.1:9/b", events=["*"])

    def statements(fn: Any) -> list[str]:
        with count_queries() as q, db.transaction() as s:
            fn(s)
        return [
            st
            for st in q.statements
            if st.startswith(("SELECT webhooks", "INSERT INTO outbox_messages"))
        ]

    created: list[int] = []
    ours = statements(
        lambda s: created.append(
            create_article(
                s,
                people["author"],
                title="Budget",
                body="Text [1].",
                references=[{"title": "A", "pmid": "1"}],
            ).id
        )
    )
    assert len(ours) == 2  # webhooks lookup + one INSERT for two webhook rows
    aid = created[0]
    ours = statements(lambda s: perform_action(s, people["author"], aid, "submit"))
    # One single-row INSERT for the board's e-mail (before the audit event), one INSERT
    # for 2 webhook rows.
    assert len(ours) == 2, [o[:60] for o in ours]
    assert ours[0].startswith("INSERT INTO outbox_messages") and "SELECT" not in ours[0]
    assert len(_messages(db)) == 2 + 3
