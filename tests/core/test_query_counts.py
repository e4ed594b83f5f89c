"""Query budgets for the hot path, pinned so an N+1 or a stray reload fails the suite.

Budgets are upper bounds, kept at today's numbers: fewer statements always pass, one
more fails. A plain query per concern is preferred to a hand-fused one; when a change
needs one more statement, raise the bound here and say why in the docstring."""

from __future__ import annotations

from typing import Any

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.notifications import webhooks
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS
from tests.support.webhook_config import TEST_WEBHOOKS, register

STEPS = (("author", "submit"), ("reviewer", "start_review"), ("reviewer", "approve"))


def _cycle(db: Any, people: Any, title: str, count_queries: Any) -> list[list[str]]:
    """One full cycle; the statements of each of its four transactions."""
    per_step: list[list[str]] = []
    with count_queries() as q, db.transaction() as s:
        aid = create_article(s, people["author"], title=title, body=BODY,
                             references=REFS).id
    per_step.append(q.statements)
    for who, action in STEPS:
        with count_queries() as q, db.transaction() as s:
            perform_action(s, people[who], aid, action, password=PASSWORD)
        per_step.append(q.statements)
    return per_step


def _within_budget(steps: list[list[str]], budget: list[int], listing: str) -> None:
    """Each step's statements are at most its budget (an upper bound, not a pin)."""
    counts = [len(step) for step in steps]
    assert len(counts) == len(budget)
    over = [(i, n, b) for i, (n, b) in enumerate(zip(counts, budget, strict=True)) if n > b]
    assert not over, f"statements per step {counts} over the budget {budget}:\n{listing}"


def test_one_full_cycle_query_budget(db: Any, people: Any, count_queries: Any) -> None:
    """A cycle, its audit events and its notifications (mail to the reviewers on submit,
    to the author on approval) in at most 27 statements: 5 to create, 3 to submit, start
    a review or approve (the first reads the chain head, the webhook cache's generation
    and, for actions, the article), plus one INSERT for each action that sends mail (the
    board's one row on submit, the author's INSERT ... SELECT on approval), plus for a
    signature one indexed look at the signer's recent failed attempts
    (signatures/attempts.py). The review round's records (rounds/) add: on submit,
    the new round (one INSERT ... SELECT that numbers it); on start_review, the
    open round with its assignments and the claim; on approve, the round with its assignments, the
    round's approvers, the completed assignment and the closed round; the approve guard's
    one look at the article's open blocking comment threads (a partial index,
    threads/blocking.py). What the reviewer checks (review_checks/) adds one more to
    approve: the references' standing checks, by the article and their hashes (a problem
    marked by anyone refuses the approval)."""
    _cycle(db, people, "Warm-up", count_queries)  # the per-process policy cache
    steps = _cycle(db, people, "Cycle", count_queries)
    listing = "\n\n".join(st for step in steps for st in step)
    _within_budget(steps, [5, 5, 5, 12], listing)
    assert sum(len(step) for step in steps) <= 27, listing
    # Submit: one plain row for the board, its reviewers chosen at delivery. Approve: one
    # INSERT ... SELECT that picks the author unless they turned the kind off.
    mail = [[st for st in step if st.startswith("INSERT INTO outbox_messages")]
            for step in steps]
    assert [len(m) for m in mail] == [0, 1, 0, 1], mail
    assert "SELECT" not in mail[1][0] and "SELECT" in mail[3][0], mail


def test_registered_webhooks_cost_one_insert_per_change(
    db: Any, people: Any, count_queries: Any
) -> None:
    """Endpoints are cached per process and checked inside each change's first query:
    with two registered, each change adds one INSERT (both rows); only the first change
    after they were registered looks them up. (Approve: one more for the references'
    standing checks, as in the cycle above.)"""
    _cycle(db, people, "Warm-up", count_queries)
    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/a", events=["*"])
        register(s, url="http://127.0.0.1:9/b", events=["*"])
    steps = _cycle(db, people, "With hooks", count_queries)
    listing = "\n\n".join(st for step in steps for st in step)
    _within_budget(steps, [7, 6, 6, 13], listing)
    lookups = [[st for st in step if st.startswith("SELECT webhooks")] for step in steps]
    assert [len(x) for x in lookups] == [1, 0, 0, 0], listing


def test_webhook_cache_sees_a_change_made_elsewhere(
    db: Any, people: Any, count_queries: Any
) -> None:
    """Another process registering or disabling an endpoint changes the generation the
    load query reads, so the very next change reaches (or stops reaching) it."""
    with db.transaction() as s:
        aid = create_article(s, people["author"], title="Gen", body=BODY,
                             references=REFS).id
    with db.transaction() as s:
        hook = register(s, url="http://127.0.0.1:9/new", events=["*"]).id
    webhooks._cache.clear()  # as if the endpoint had been registered by another process
    with db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
    with db.transaction() as s:
        webhooks._cache[str(s.get_bind().url)] = ("stale", ())  # a process that cached before
        perform_action(s, people["author"], aid, "withdraw")
    with db.transaction() as s:
        webhooks.update_webhook(s, TEST_WEBHOOKS, hook, active=False)
    with db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
    from sqlalchemy import select

    from review_flow.outbox.models import OutboxMessage

    with db.reading() as s:
        kinds = list(
            s.scalars(
                select(OutboxMessage.kind)
                .where(OutboxMessage.webhook_id == hook)
                .order_by(OutboxMessage.id)
            )
        )
    assert kinds == ["article.submit", "article.withdraw"]


def test_checked_approval_query_budget(db: Any, people: Any, count_queries: Any) -> None:
    """An approval under a policy with the reference checks on and a three-item checklist
    costs what a plain one does plus one INSERT for its answers (one statement for all
    of them): at most 13. A reference check costs at most 6 (the article with its
    revision, the open round, the insert, the chain head and the audit event)."""
    from review_flow.policy import service as policy
    from review_flow.review_checks.references import record_check

    items = ["Claims match the cited sources", "Dosages checked", "Plain language"]
    with db.transaction() as s:
        policy.set_policy(s, changed_by=None, changes={
            "review_checks": ["references_verified"], "checklist": items})
    for title in ("Warm-up", "Measured"):
        with db.transaction() as s:
            aid = create_article(s, people["author"], title=title, body=BODY,
                                 references=REFS).id
        for who, action in STEPS[:2]:
            with db.transaction() as s:
                perform_action(s, people[who], aid, action)
        checks = []
        for n in (1, 2):
            with count_queries() as q, db.transaction() as s:
                record_check(s, people["reviewer"], aid, n, "verified")
            checks.append(len(q.statements))
        with count_queries() as q, db.transaction() as s:
            perform_action(s, people["reviewer"], aid, "approve", password=PASSWORD,
                           checklist={i: "yes" for i in items})
    listing = "\n\n".join(q.statements)
    assert max(checks) <= 6, checks
    assert len(q.statements) <= 13, listing
