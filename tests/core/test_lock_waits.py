"""Writers that wait on an article's row lock act on what the first writer committed.

PostgreSQL, READ COMMITTED: a ``SELECT … FOR UPDATE`` that waited for another writer
returns the locked row as committed, but rows it joined and subqueries it ran come from
the snapshot taken before the wait. Each test makes a writer wait for certain (the first
writer holds its transaction open until ``pg_stat_activity`` shows the second one
waiting on a lock; no sleeps decide anything), then lets the first one commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from review_flow.articles.actions import perform_action
from review_flow.articles.models import Revision
from review_flow.articles.queries import approvals_for, get_article
from review_flow.articles.writes import edit_article
from review_flow.audit.verify import verify_chain
from review_flow.db import Database
from review_flow.errors import Conflict, GuardFailed
from review_flow.policy import service as policy_service
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS, act, create

pytestmark = pytest.mark.usefixtures("postgresql_only")


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row-lock waits need PostgreSQL; SQLite serializes writers up front")


def _waiting_on_a_lock(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def _edit(db: Database, actor: Any, article_id: int, body: str, **kw: Any) -> Any:
    with db.transaction() as s:
        _, revision = edit_article(s, actor, article_id, title="High Blood Pressure",
                                   body=body, references=REFS, **kw)
        return revision.number if revision else None


def _hold_then_commit(db: Database, work: Callable[[Any], Any],
                      second: Callable[[], Any],
                      while_waiting: Callable[[Any], None] | None = None) -> Any:
    """``work`` in a transaction that stays open until ``second``, in a thread with its
    own connection, is seen waiting on a lock; then (after ``while_waiting``, in the same
    transaction) commit and return what ``second`` returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(second())
        except Exception as exc:  # the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    session = db.sessions()
    try:
        work(session)  # flushed, not committed: the article row stays locked
        thread.start()
        deadline = time.monotonic() + 60
        while _waiting_on_a_lock(db) == 0:
            assert thread.is_alive(), f"the second writer did not wait: {outcome}"
            assert time.monotonic() < deadline, "the second writer never waited on the lock"
            time.sleep(0.01)
        if while_waiting is not None:
            while_waiting(session)
        session.commit()
    finally:
        session.close()
        thread.join(timeout=60)
    assert len(outcome) == 1
    return outcome[0]


def test_a_submit_that_waited_on_an_edit_submits_the_new_revision(db, people) -> None:
    aid = create(db, people["author"])

    def edit(s: Any) -> None:
        edit_article(s, people["author"], aid, title="High Blood Pressure",
                     body=BODY + "\nA new paragraph [1].\n", references=REFS)

    def submit() -> Any:
        with db.transaction() as s:
            return perform_action(s, people["author"], aid, "submit")

    result = _hold_then_commit(db, edit, submit)
    assert not isinstance(result, Exception), repr(result)
    assert result.to_state == "submitted"
    assert result.event.revision == 2
    with db.reading() as s:
        assert get_article(s, aid).current_revision.number == 2


def test_an_edit_that_waited_on_an_edit_numbers_its_revision_after_it(db, people) -> None:
    aid = create(db, people["author"])

    def first(s: Any) -> None:
        edit_article(s, people["author"], aid, title="High Blood Pressure",
                     body=BODY + "\nFirst [1].\n", references=REFS)

    result = _hold_then_commit(
        db, first, lambda: _edit(db, people["author"], aid, BODY + "\nSecond [2].\n"))
    assert result == 3, repr(result)
    with db.reading() as s:
        numbers = list(s.scalars(select(Revision.number).where(Revision.article_id == aid)
                                 .order_by(Revision.number)))
        assert numbers == [1, 2, 3]
        assert "Second" in get_article(s, aid).current_revision.body


def test_a_stale_edit_that_waited_is_a_conflict_naming_the_change(db, people) -> None:
    aid = create(db, people["author"])

    def first(s: Any) -> None:
        edit_article(s, people["editor"], aid, title="High Blood Pressure",
                     body=BODY + "\nBy the editor [1].\n", references=REFS)

    result = _hold_then_commit(db, first, lambda: _edit(
        db, people["author"], aid, BODY + "\nBy the author [1].\n", expected_version=1))
    assert isinstance(result, Conflict), repr(result)
    assert "edit by Erin Editor" in result.message


def _approval_waiting_on_another(db: Any, people: Any, second_reviewer: str) -> tuple[int, Any]:
    """Two approvals required: ``reviewer`` approves and holds the row lock while
    ``second_reviewer`` approves too; the article and what the waiting approval got."""
    with db.transaction() as s:
        policy_service.set_policy(s, changed_by=people["editor"].user,
                                  changes={"required_approvals": 2})
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")

    def first(s: Any) -> None:
        perform_action(s, people["reviewer"], aid, "approve", password=PASSWORD)

    def second() -> Any:
        with db.transaction() as s:
            return perform_action(s, people[second_reviewer], aid, "approve",
                                  password=PASSWORD)

    return aid, _hold_then_commit(db, first, second)


def test_the_second_of_two_required_approvals_that_waited_approves(db, people) -> None:
    aid, result = _approval_waiting_on_another(db, people, "reviewer2")
    assert not isinstance(result, Exception), repr(result)
    assert (result.approvals, result.to_state) == (2, "approved")
    with db.reading() as s:
        assert get_article(s, aid).state == "approved"
        assert verify_chain(s).ok


def test_the_same_reviewer_approving_twice_at_once_signs_once(db, people) -> None:
    aid, result = _approval_waiting_on_another(db, people, "reviewer")
    assert isinstance(result, GuardFailed), repr(result)
    assert result.code == "already_approved"
    with db.reading() as s:
        assert len(approvals_for(
            s, get_article(s, aid).current_revision_id)) == 1


def test_an_action_waiting_on_an_article_does_not_hold_the_chain_head(db, people) -> None:
    """The sweep's workers lock an article first and the chain head only at its audit event
    (``articles/loading.py``). An action on the same article meanwhile must wait for the
    article without holding the head, or the two would deadlock: the head is still free
    (``NOWAIT``) while that action waits, and the action goes on once the article is."""
    from review_flow.articles.models import Article

    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")

    def hold_the_article(s: Any) -> None:
        s.execute(select(Article.id).where(Article.id == aid).with_for_update())

    def start_review() -> Any:
        with db.transaction() as s:
            return perform_action(s, people["reviewer"], aid, "start_review")

    def the_head_is_free(s: Any) -> None:
        head = s.execute(text(
            "SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE NOWAIT")).scalar_one()
        assert head > 0

    result = _hold_then_commit(db, hold_the_article, start_review, the_head_is_free)
    assert not isinstance(result, Exception), repr(result)
    assert result.to_state == "under_review"
