"""Who takes part in a thread follows the review round (SQLite and PostgreSQL): where the
board's policy requires assignment, a reviewer comments only with an accepted (or
completed) place in the article's current round; the author, revision writers and
editors always; any reviewer where the policy lets anyone review. Each refusal names why
and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.articles.comments import add_comment
from review_flow.articles.models import Comment
from review_flow.errors import PermissionDenied
from review_flow.outbox.models import OutboxMessage
from review_flow.policy import service as policy
from review_flow.rounds import assignments
from review_flow.threads import service
from review_flow.threads.models import ThreadMessage
from review_flow.users import service as users
from tests.core.helpers import act, create, event_count

NOT_ASSIGNED = ("Only reviewers assigned to this review can comment; ask the managing editor "
                "to assign you.")


def _require_assignment(db: Any) -> None:
    with db.transaction() as s:
        policy.set_policy(s, changed_by=None,
                          changes={"require_assignment": True, "allow_claiming": False})


def _assign(db: Any, people: Any, aid: int, email: str, *, accept: bool = True) -> None:
    with db.transaction() as s:
        assignments.assign(s, people["editor"], aid, users.get_by_email(s, email))
    if accept:
        who = next(p for p in people.values() if p.user.email == email)
        with db.transaction() as s:
            assignments.respond(s, who, aid, "accept")


def _open(db: Any, actor: Any, aid: int, body: str = "Is this right?") -> int:
    with db.transaction() as s:
        return service.open_thread(s, actor, aid, body, paragraph=1).id


def _reply(db: Any, actor: Any, tid: int, body: str = "A reply.") -> None:
    with db.transaction() as s:
        service.reply(s, actor, tid, body)


def _written(db: Any) -> tuple[int, int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(ThreadMessage)) or 0,
                s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
                event_count(db))


def _refused(db: Any, call: Any) -> PermissionDenied:
    before = _written(db)
    with pytest.raises(PermissionDenied) as err:
        call()
    assert _written(db) == before  # nothing posted, no event, no e-mail
    return err.value


def test_only_accepted_assignees_comment_when_the_policy_requires_assignment(
        db: Any, people: Any) -> None:
    _require_assignment(db)
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    # Not assigned at all: refused, naming why and what to do.
    err = _refused(db, lambda: _open(db, people["reviewer"], aid))
    assert (err.message, err.code, err.details.get("rule")) == (
        NOT_ASSIGNED, "assignment_required", "require_assignment")
    # Invited but not yet accepted: still refused.
    _assign(db, people, aid, "reed@example.org", accept=False)
    assert _refused(db, lambda: _open(db, people["reviewer"], aid)).message == NOT_ASSIGNED
    with db.transaction() as s:
        assignments.respond(s, people["reviewer"], aid, "accept")
    tid = _open(db, people["reviewer"], aid, "Which guideline?")
    # The author, an editor: always. Another reviewer, not assigned: refused.
    _reply(db, people["author"], tid, "The WHO's.")
    _reply(db, people["editor"], tid, "Noted.")
    err = _refused(db, lambda: _reply(db, people["reviewer2"], tid))
    assert err.message == NOT_ASSIGNED
    # An auditor is no reviewer: the old refusal.
    assert _refused(db, lambda: _reply(db, people["auditor"], tid)).code == "not_on_article"


def test_the_last_rounds_assignees_keep_answering_while_the_author_revises(
        db: Any, people: Any, make_user: Any) -> None:
    _require_assignment(db)
    third = make_user("third@example.org", "reviewer", name="Dr. Third")
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    _assign(db, people, aid, "reed@example.org")
    _assign(db, people, aid, "okafor@example.org")
    act(db, people["reviewer"], aid, "start_review")
    tid = _open(db, people["reviewer"], aid)
    act(db, people["reviewer"], aid, "request_changes")  # closes round 1
    # Reed's place is completed; Okafor's accepted place was cancelled by the close: both
    # held an accepted place in the current (last) round and still answer.
    _reply(db, people["reviewer"], tid, "Still waiting for the source.")
    _reply(db, people["reviewer2"], tid, "Agreed.")
    _reply(db, people["author"], tid, "Fixed in the next revision.")
    assert _refused(db, lambda: _reply(db, third, tid)).message == NOT_ASSIGNED
    # Resubmitted: round 2 has no assignee yet, so the reviewers wait to be assigned.
    act(db, people["author"], aid, "submit")
    assert _refused(db, lambda: _reply(db, people["reviewer"], tid)).message == NOT_ASSIGNED
    _assign(db, people, aid, "reed@example.org")
    _reply(db, people["reviewer"], tid, "Thanks, resolved.")


def test_any_reviewer_comments_when_the_policy_does_not_require_assignment(
        db: Any, people: Any) -> None:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    tid = _open(db, people["reviewer"], aid)
    _reply(db, people["reviewer2"], tid)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(ThreadMessage)) == 2


def _comment(db: Any, actor: Any, aid: int, body: str = "A general remark.") -> None:
    with db.transaction() as s:
        add_comment(s, actor, aid, body)


def _comments(db: Any) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Comment)) or 0


def test_general_comments_follow_the_same_rule(db: Any, people: Any) -> None:
    """``add_comment`` (the web's sidebar box; any other entry point alike) refuses an
    unassigned reviewer with the threads' refusal and code, and writes nothing."""
    _require_assignment(db)
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    before = (_comments(db), *_written(db))
    err = _refused(db, lambda: _comment(db, people["reviewer"], aid))
    assert (err.message, err.code, err.status, err.details.get("rule")) == (
        NOT_ASSIGNED, "assignment_required", 403, "require_assignment")
    assert (_comments(db), *_written(db)) == before
    _assign(db, people, aid, "reed@example.org")
    for who in ("reviewer", "author", "editor"):
        _comment(db, people[who], aid)
    assert _comments(db) == before[0] + 3
    assert _refused(db, lambda: _comment(db, people["reviewer2"], aid)).message == NOT_ASSIGNED
    # Not on the article at all: the role rule's refusal, as before.
    assert _refused(db, lambda: _comment(db, people["auditor"], aid)).code == "role_required"


def test_general_comments_from_any_reviewer_when_the_policy_does_not_require_assignment(
        db: Any, people: Any) -> None:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    _comment(db, people["reviewer"], aid)
    _comment(db, people["reviewer2"], aid)
    assert _comments(db) == 2
