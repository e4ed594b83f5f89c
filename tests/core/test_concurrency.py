"""Concurrency on PostgreSQL: racing writers, one winner, an unforked audit chain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.actions import perform_action
from review_flow.articles.models import Article
from review_flow.articles.queries import get_article
from review_flow.audit.verify import verify_chain
from review_flow.errors import Conflict, InvalidTransition
from tests.conftest import PASSWORD
from tests.core.helpers import act, create


def race(*calls: Any) -> list[Any]:
    """Run the calls in threads released together; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Any) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("with_expected_version", [False, True])
def test_approve_races_request_changes_exactly_one_wins(db, backend, people, with_expected_version):
    if backend != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes writers")
    for _ in range(5):
        aid = create(db, people["author"])
        act(db, people["author"], aid, "submit")
        act(db, people["reviewer"], aid, "start_review")
        with db.reading() as s:
            version = get_article(s, aid).version
        kw = {"expected_version": version} if with_expected_version else {}

        def approve(aid: int = aid, kw: dict[str, Any] = kw) -> Any:
            with db.transaction() as s:
                return perform_action(
                    s, people["reviewer"], aid, "approve", password=PASSWORD, **kw
                ).to_state

        def send_back(aid: int = aid, kw: dict[str, Any] = kw) -> Any:
            with db.transaction() as s:
                return perform_action(
                    s,
                    people["reviewer2"],
                    aid,
                    "request_changes",
                    comment="Needs a dosage table",
                    **kw,
                ).to_state

        results = race(approve, send_back)
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], (Conflict, InvalidTransition)), losers
        with db.reading() as s:
            assert get_article(s, aid).state == winners[0]
            assert get_article(s, aid).version == version + 1
    with db.reading() as s:
        result = verify_chain(s)
        assert result.ok, result.message


def test_parallel_writers_never_fork_the_chain(db, backend, make_user):
    if backend != "postgresql":
        pytest.skip("parallel writers need PostgreSQL")
    authors = [make_user(f"w{i}@example.org", "author") for i in range(6)]

    def writer(actor: Any) -> int:
        for _ in range(5):
            create(db, actor)
        return 5

    results = race(*[lambda a=a: writer(a) for a in authors])
    assert results == [5] * 6
    with db.reading() as s:
        result = verify_chain(s)
        slugs = set(s.scalars(select(Article.slug)))
    assert result.ok, result.message
    assert result.events == 6 + 30  # six user.create events, thirty article.create events
    # One title thirty times at once: every writer got its own slug, none failed or skipped.
    base = "high-blood-pressure"
    assert slugs == {base} | {f"{base}-{n}" for n in range(2, 31)}
