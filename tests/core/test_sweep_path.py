"""The cheap per-article path of the sweep and of every action (issue 10, docs/PERFORMANCE.md):
the article's change written by one Core UPDATE with the version check, the object kept in
step, the sweep's re-check folded into the action's locked load, one connection a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from review_flow.actor import SystemActor
from review_flow.articles import actions
from review_flow.articles.loading import NotDue
from review_flow.articles.models import Article
from review_flow.articles.persisting import write_article
from review_flow.db import Database
from review_flow.sweep import rereview
from review_flow.sweep.service import sweep
from review_flow.workflow import guard
from tests.conftest import PASSWORD
from tests.core.helpers import act, create, state

T = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)


def _approved(db: Database, people: Any, review_due: datetime, title: str) -> int:
    aid = create(db, people["author"], title=title)
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:
        s.execute(
            update(Article)
            .where(Article.id == aid)
            .values(review_due=review_due)
            .execution_options(synchronize_session=False)
        )
    return aid


def test_an_action_leaves_the_article_clean_and_in_step_with_its_row(db, people):
    """After the action the loaded object holds what the row holds, nothing is left for the
    unit of work to flush, and the approved revision reads the new foreign key."""
    aid = create(db, people["author"], title="Asthma")
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with db.transaction() as s:
        result = actions.perform_action(s, people["reviewer"], aid, "approve", password=PASSWORD)
        article = result.article
        assert article not in s.dirty
        row = s.execute(
            select(Article.state, Article.version, Article.approved_revision_id).where(
                Article.id == aid
            )
        ).one()
        assert (article.state, article.version) == (row.state, row.version) == ("approved", 4)
        assert article.approved_revision is not None
        assert (
            article.approved_revision.id == row.approved_revision_id == article.current_revision_id
        )
    assert state(db, aid) == "approved"


def test_the_core_write_refuses_a_row_another_writer_moved_on(db, people):
    """The version check of the ORM's flush is kept: a row no longer at the version loaded
    is not overwritten."""
    aid = create(db, people["author"], title="Gout")
    with db.reading() as s:  # rolled back at the end
        article = s.get(Article, aid)
        assert article is not None
        s.execute(
            update(Article)
            .where(Article.id == aid)
            .values(version=article.version + 1)
            .execution_options(synchronize_session=False)
        )  # someone else's write
        with guard.assigning():
            article.state = "submitted"
        article.version += 1
        with pytest.raises(StaleDataError):
            write_article(s, article)


def test_the_core_write_refuses_a_relationship_change(db, people):
    """Only columns are written; a relationship set instead of its key would be lost."""
    aid = create(db, people["author"], title="Migraine")
    with db.reading() as s:  # rolled back at the end
        article = s.get(Article, aid)
        assert article is not None and article.current_revision is not None
        article.approved_revision = article.current_revision
        with pytest.raises(AssertionError, match="approved_revision"):
            write_article(s, article)


def test_the_folded_recheck_skips_an_article_no_longer_due(db, people):
    """``due_by``: an article whose review date is after it, or that is not approved, is
    ``NotDue`` with nothing written; a due one is moved."""
    later = _approved(db, people, T + timedelta(days=1), "Eczema")
    due = _approved(db, people, T - timedelta(days=1), "Psoriasis")
    system = SystemActor()
    with db.transaction() as s:
        with pytest.raises(NotDue):
            actions.perform_action(s, system, later, "request_rereview", as_of=T, due_by=T)
        actions.perform_action(s, system, due, "request_rereview", as_of=T, due_by=T)
    with db.transaction() as s, pytest.raises(NotDue):  # moved: no longer approved
        actions.perform_action(s, system, due, "request_rereview", as_of=T, due_by=T)
    assert (state(db, later), state(db, due)) == ("approved", "submitted")


def test_a_moved_article_costs_six_statements_and_locks_the_head_late(
        db, people, count_queries, monkeypatch):
    """The folded re-check and load, the article UPDATE, the round, the chain head's lock,
    the audit event and the e-mails: an upper bound (fewer always pass), BEGIN/COMMIT
    aside. The head is locked after the article's own writes and its e-mails, not in the
    load, so the sweep's workers overlap everything but the event and the commit
    (sweep/workers.py)."""
    ids = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(3)]
    per_item: list[list[str]] = []
    real = rereview.ReReview.apply

    def counted(self: Any, session: Any, actor: Any, item: Any, now: Any) -> bool:
        with count_queries() as q:
            acted = real(self, session, actor, item, now)
            session.commit()  # the e-mails' INSERT runs just before the commit
        per_item.append([" ".join(sql.split()) for sql in q.statements])
        return acted

    monkeypatch.setattr(rereview.ReReview, "apply", counted)
    report = sweep(db, T, steps=[rereview.ReReview()])
    assert sorted(report.steps[0].done) == sorted(ids)
    assert per_item and max(len(statements) for statements in per_item) <= 6, per_item
    for statements in per_item:
        touching_head = [i for i, sql in enumerate(statements) if "audit_chain_head" in sql]
        update_article = next(i for i, sql in enumerate(statements)
                              if sql.startswith("UPDATE articles"))
        mails = next(i for i, sql in enumerate(statements)
                     if sql.startswith("INSERT INTO outbox_messages"))
        assert touching_head and min(touching_head) > max(update_article, mails), statements


def test_the_run_keeps_one_connection_on_postgresql(db, backend):
    """Units of work inside ``pinned()`` share one connection (no checkout, no ping each)."""
    if backend != "postgresql":
        pytest.skip("SQLite pools without a ping: pinned() is the database itself")
    with db.pinned() as pinned:
        with pinned.transaction() as s:
            first = s.connection().connection.dbapi_connection
        with pinned.reading() as s:
            second = s.connection().connection.dbapi_connection
    assert first is second
