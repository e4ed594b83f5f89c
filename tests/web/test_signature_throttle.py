"""Guessing a signer's password at the signature step: every wrong password is an audit
event that commits although the action is refused, and five within 15 minutes lock that
person's signing for 15 minutes, on the web and on the command line alike."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from review_flow.articles.models import Comment
from review_flow.cli import main
from review_flow.signatures import attempts
from review_flow.signatures.attempts import SignatureFailure, SignatureThrottle
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow
from tests.conftest import PASSWORD

LOCKED = "too many failed signature attempts; try again in 15 minutes."


def sign(browser: Any, story: Any, article_id: int, action: str = "approve",
         **data: Any) -> Any:
    page = browser.get(f"/review/{article_id}/sign/{action}").get_data(as_text=True)
    content_hash = re.search(r'name="content_hash" value="([^"]+)"', page)
    assert content_hash, page[:300]
    form = {"content_hash": content_hash.group(1),
            "expected_version": story.version(article_id), **data}
    return browser.post(f"/review/{article_id}/sign/{action}", form,
                        page=f"/review/{article_id}/sign/{action}")


def counts(db: Any, article_id: int) -> tuple[int, int]:
    with db.reading() as s:
        return (
            s.scalar(select(func.count()).select_from(Decision)
                     .where(Decision.article_id == article_id)) or 0,
            s.scalar(select(func.count()).select_from(Comment)
                     .where(Comment.article_id == article_id)) or 0,
        )


def failure_rows(db: Any, user_id: int) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(SignatureFailure)
                        .where(SignatureFailure.user_id == user_id)) or 0


def test_wrong_passwords_are_audited_then_signing_locks(as_role: Any, story: Any, db: Any,
                                                        people: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    version = story.version(article_id)
    others = [e.seq for e in story.events()]
    for _ in range(4):
        refused = sign(reviewer, story, article_id, "reject", password="guess-guess",
                       comment="Not supported by the evidence.")
        assert refused.status_code == 403
        assert "Signature refused: the password is not correct." in refused.text
    fifth = sign(reviewer, story, article_id, password="guess-guess")
    assert fifth.status_code == 429
    assert "the password is not correct. Too many failed signature attempts; try again in " \
           "15 minutes." in fifth.text
    # Locked: even the right password is refused now, without being checked.
    right = sign(reviewer, story, article_id, password=PASSWORD)
    assert right.status_code == 429
    assert "Signature refused: " + LOCKED in right.text
    # Nothing but the security events was written: no decision, comment, state or version.
    assert story.state(article_id) == "under_review"
    assert story.version(article_id) == version
    assert counts(db, article_id) == (0, 0)
    events = story.events()
    assert [e.seq for e in events[: len(others)]] == others
    new = events[len(others):]
    assert [e.action for e in new] == ["signature.failed"] * 6
    assert [e.data["reason"] for e in new] == ["wrong_password"] * 4 + ["locked_now", "locked"]
    assert [e.data["action"] for e in new] == ["reject"] * 4 + ["approve"] * 2
    with db.reading() as s:
        from review_flow.articles.queries import get_article

        rev = get_article(s, article_id).current_revision
        assert rev is not None
        for event in new:
            assert event.actor_id == people["reviewer"].id
            assert event.article_id == article_id
            assert event.revision == rev.number and event.content_hash == rev.content_hash
            assert event.client_addr == "127.0.0.1" and event.request_id
            assert "guess-guess" not in (event.data_json or "")
    assert failure_rows(db, people["reviewer"].id) == 5  # the locked attempt is not a guess


def test_the_lock_is_per_person(as_role: Any, story: Any, db: Any, people: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    for _ in range(5):
        sign(reviewer, story, article_id, password="guess-guess")
    assert sign(reviewer, story, article_id, password=PASSWORD).status_code == 429
    story.act(article_id, "withdraw", "author")
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer2")
    other = as_role("reviewer2")
    assert sign(other, story, article_id, password=PASSWORD).status_code == 303
    assert story.state(article_id) == "approved"


def test_after_the_lock_the_right_password_signs_and_clears_the_record(
        as_role: Any, story: Any, db: Any, people: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer_id = people["reviewer"].id
    past = utcnow() - timedelta(minutes=20)  # five failures, locked until 5 minutes ago
    with db.transaction() as s:
        s.add_all(SignatureFailure(user_id=reviewer_id, at=past + timedelta(seconds=i))
                  for i in range(5))
    assert sign(as_role("reviewer"), story, article_id, password=PASSWORD).status_code == 303
    assert story.state(article_id) == "approved"
    assert failure_rows(db, reviewer_id) == 0


def test_lock_rules_over_time(db: Any, people: Any) -> None:
    policy = SignatureThrottle()
    user_id = people["reviewer"].id
    t0 = utcnow()

    def add(*offsets_minutes: float) -> None:
        with db.transaction() as s:
            s.add_all(SignatureFailure(user_id=user_id, at=t0 + timedelta(minutes=m))
                      for m in offsets_minutes)

    def lock_at(minutes: float) -> Any:
        now = t0 + timedelta(minutes=minutes)
        with db.reading() as s:
            return attempts.recent_failures(s, user_id, now, policy).locked_until(now)

    add(0, 4, 8, 12)  # four failures within the window: not yet locked
    assert lock_at(12) is None
    with db.reading() as s:
        recent = attempts.recent_failures(s, user_id, t0 + timedelta(minutes=13), policy)
        assert recent.lock_after_failure(t0 + timedelta(minutes=13)) == \
            t0 + timedelta(minutes=28)
    add(13)  # the fifth, 13 minutes after the first: locked for 15 minutes after it
    assert lock_at(13) == t0 + timedelta(minutes=28)
    assert lock_at(27.9) == t0 + timedelta(minutes=28)
    assert lock_at(28.1) is None
    # One more failure after the lock: the latest five now span more than the window.
    add(29)
    assert lock_at(29) is None
    with db.transaction() as s:
        attempts.forget(s, user_id)
    add(100, 130, 160, 190, 220)  # spread out: five failures never lock
    assert lock_at(220) is None


def test_the_command_line_is_throttled_and_audited_too(as_role: Any, story: Any, db: Any,
                                                       db_url: str, tmp_path: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    article_id = story.in_state("under_review")
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def approve(password: str) -> Any:
        return runner.invoke(main, ["articles", "act", str(article_id), "approve", "--as",
                                    "reed@example.org", "--password-stdin"],
                             input=password + "\n", catch_exceptions=False)

    for _ in range(4):  # four on the web, the fifth on the command line
        assert sign(as_role("reviewer"), story, article_id,
                    password="guess-guess").status_code == 403
    fifth = approve("guess-guess")
    assert fifth.exit_code == 1
    assert "Too many failed signature attempts; try again in 15 minutes." in fifth.stderr
    locked = approve(PASSWORD)
    assert locked.exit_code == 1
    assert LOCKED in locked.stderr
    assert story.state(article_id) == "under_review"
    cli_events = story.events("signature.failed")[4:]
    assert [e.data["reason"] for e in cli_events] == ["locked_now", "locked"]
    assert all(e.client_addr == "cli" for e in cli_events)


def test_parallel_guesses_are_each_recorded(db: Any, people: Any, story: Any) -> None:
    """Six wrong passwords at once on six articles (no shared row lock): none is lost,
    every one is an audit event, the chain stays whole, and signing ends up locked."""
    from review_flow.articles.actions import perform_action
    from review_flow.audit.verify import verify_chain
    from review_flow.errors import SignatureRefused
    from tests.core.test_concurrency import race

    ids = [story.in_state("under_review", title=f"Parallel {i}") for i in range(6)]
    before = len(story.events("signature.failed"))

    def guess(article_id: int) -> Any:
        try:
            with db.transaction() as s:
                perform_action(s, people["reviewer"], article_id, "approve",
                               password="guess-guess")
        except SignatureRefused as exc:
            attempts.record_refused(db, exc)
            return exc.code
        return "signed"

    codes = race(*(lambda a=a: guess(a) for a in ids))
    assert "signed" not in codes and all(isinstance(c, str) for c in codes), codes
    events = story.events("signature.failed")[before:]
    assert len(events) == 6
    checked = [e for e in events if e.data["reason"] != "locked"]
    assert failure_rows(db, people["reviewer"].id) == len(checked) >= 5
    assert codes.count("wrong_password") == sum(
        e.data["reason"] == "wrong_password" for e in events)
    with db.reading() as s:
        assert verify_chain(s).ok
        assert attempts.recent_failures(s, people["reviewer"].id,
                                        utcnow()).locked_until(utcnow()) is not None
    assert all(story.state(a) == "under_review" for a in ids)
