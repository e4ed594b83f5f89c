"""Assignment rules: who may be assigned, answering, reassigning and cancelling, claiming
and the policy's require_assignment; each refusal's message checked and nothing written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from review_flow.articles import actions, queries, writes
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import (
    Conflict,
    InvalidTransition,
    PermissionDenied,
    ValidationFailed,
)
from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.timeutil import utcnow
from tests.core.helpers import act, create, event_count, snapshot, state
from tests.rounds.conftest import user


@pytest.fixture
def submitted(db, board):
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    return aid


def assign(db, editor, aid, email, **kw):
    with db.transaction() as s:
        from review_flow.users import service as users

        return assignments.assign(s, editor, aid, users.get_by_email(s, email), **kw).id


def respond(db, actor, aid, answer, comment=None):
    with db.transaction() as s:
        return assignments.respond(s, actor, aid, answer, comment=comment).state


def assignment_rows(db):
    with db.reading() as s:
        return [(a.reviewer_id, a.state) for a in s.scalars(select(Assignment).order_by(
            Assignment.id))]


def test_an_editor_assigns_with_due_dates_from_the_rounds_policy(db, board, submitted):
    before = utcnow()
    aid_ = assign(db, board["editor"], submitted, "reed@example.org")
    with db.reading() as s:
        a = s.get(Assignment, aid_)
        assert (a.state, a.reviewer_id, a.assigned_by_id) == (
            "invited", board["reviewer"].id, board["editor"].id)
        # Policy defaults: answer within 7 days, review within 14.
        assert timedelta(days=7) <= a.response_due - before < timedelta(days=7, minutes=1)
        assert timedelta(days=14) <= a.review_due - before < timedelta(days=14, minutes=1)
        assert not a.overdue(utcnow())
        assert a.overdue(a.response_due + timedelta(seconds=1))
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.actor_id, event.article_id) == (
            "assignment.create", board["editor"].id, submitted)
        assert verify_all(s).ok


def test_due_overrides_the_review_due_date(db, board, submitted):
    due = utcnow().date() + timedelta(days=3)
    aid_ = assign(db, board["editor"], submitted, "reed@example.org", due=due)
    with db.reading() as s:
        a = s.get(Assignment, aid_)
        assert a.review_due.date() == due
        assert a.response_due <= a.review_due  # an answer is never due after the review


@pytest.mark.parametrize(
    ("who", "email", "due", "error", "code", "message"),
    [
        ("reviewer", "okafor@example.org", None, PermissionDenied, "role_required",
         "Only editors can assign reviewers."),
        ("editor", "author@example.org", None, ValidationFailed, "not_a_reviewer",
         "Alex Author is not a board member (no reviewer role) and cannot be assigned."),
        ("editor", "gone@example.org", None, ValidationFailed, "reviewer_inactive",
         "Dr. Gone is deactivated and cannot be assigned."),
        ("editor", "reed@example.org", date(2020, 1, 1), ValidationFailed, "due_in_past",
         "The review due date 2020-01-01 is in the past; choose today or a later day."),
    ],
)
def test_assignment_refusals(db, board, submitted, who, email, due, error, code, message):
    before = snapshot(db, submitted)
    with pytest.raises(error) as err:
        assign(db, board[who], submitted, email, due=due)
    assert (err.value.code, err.value.message) == (code, message)
    assert snapshot(db, submitted) == before and assignment_rows(db) == []


def test_one_who_wrote_or_edited_the_article_cannot_be_assigned(db, board):
    aid = create(db, board["writer"])
    act(db, board["writer"], aid, "submit")
    n = event_count(db)
    with pytest.raises(PermissionDenied) as err:
        assign(db, board["editor"], aid, "writer@example.org")
    assert err.value.code == "separation_of_duties"
    assert err.value.message == (
        "Separation of duties: Dr. Writer wrote or edited this article and cannot be "
        "assigned to review it.")
    assert event_count(db) == n


def test_an_editor_who_edited_a_revision_cannot_be_assigned(db, board, make_user):
    both = make_user("both@example.org", "editor", "reviewer", name="Dr. Both")
    aid = create(db, board["author"])
    from tests.core.helpers import BODY, REFS

    with db.transaction() as s:
        writes.edit_article(s, both, aid, title="Edited", body=BODY + "More.\n",
                              references=REFS)
    act(db, board["author"], aid, "submit")
    with pytest.raises(PermissionDenied) as err:
        assign(db, board["editor"], aid, "both@example.org")
    assert err.value.code == "separation_of_duties"


def test_assigning_twice_and_assigning_without_an_open_round_are_refused(db, board):
    aid = create(db, board["author"])
    with pytest.raises(InvalidTransition) as err:
        assign(db, board["editor"], aid, "reed@example.org")
    assert err.value.code == "no_open_round"
    assert err.value.message == (
        f"Article {aid} is draft: no review round is open, so nobody can be assigned (a round "
        "opens when it is submitted).")
    act(db, board["author"], aid, "submit")
    assign(db, board["editor"], aid, "reed@example.org")
    with pytest.raises(Conflict) as err:
        assign(db, board["editor"], aid, "reed@example.org")
    assert err.value.code == "already_assigned"
    assert err.value.message == (
        f"Dr. Maya Reed is already assigned to round 1 of article {aid} (invited).")


def test_accept_and_decline_with_a_reason(db, board, submitted):
    assign(db, board["editor"], submitted, "reed@example.org")
    assign(db, board["editor"], submitted, "okafor@example.org")
    with pytest.raises(ValidationFailed) as err:
        respond(db, board["reviewer2"], submitted, "decline")
    assert err.value.message == "Give the reason for declining."
    assert err.value.details["fields"] == {"reason": "required"}
    assert respond(db, board["reviewer"], submitted, "accept") == "accepted"
    assert respond(db, board["reviewer2"], submitted, "decline", "On leave until March.") == (
        "declined")
    with pytest.raises(InvalidTransition) as err:
        respond(db, board["reviewer"], submitted, "decline", "changed my mind")
    assert (err.value.code, err.value.message) == (
        "already_answered", "You already answered this assignment: it is accepted.")
    with pytest.raises(PermissionDenied) as err:
        respond(db, board["cardio"], submitted, "accept")
    assert err.value.code == "not_assigned"
    assert err.value.message == (
        f"You have no assignment on round 1 of article {submitted} to answer.")
    with db.reading() as s:
        declined = s.scalars(select(Assignment).where(Assignment.state == "declined")).one()
        assert declined.reason == "On leave until March."
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert actions.count("assignment.respond") == 2
    # A declined member may be invited again.
    assign(db, board["editor"], submitted, "okafor@example.org")


def test_cancel_and_reassign(db, board, submitted):
    first = assign(db, board["editor"], submitted, "reed@example.org")
    with pytest.raises(PermissionDenied), db.transaction() as s:
        assignments.cancel(s, board["reviewer"], first)
    okafor = user(db, "okafor@example.org")
    with db.transaction() as s:
        new = assignments.reassign(s, board["editor"], first, okafor)
        new_id = new.id
    assert assignment_rows(db) == [
        (board["reviewer"].id, "cancelled"), (board["reviewer2"].id, "invited")]
    with db.reading() as s:
        assert s.get(Assignment, first).reason == "reassigned to Dr. Chidi Okafor"
    with db.transaction() as s:
        assignments.cancel(s, board["editor"], new_id, reason="Conflict with a co-author.")
    with pytest.raises(InvalidTransition) as err, db.transaction() as s:
        assignments.cancel(s, board["editor"], new_id)
    assert err.value.message == (
        f"Assignment {new_id} is cancelled: only an invited or accepted assignment can be "
        "cancelled.")


def test_leaving_review_cancels_the_waiting_assignments(db, board, submitted):
    assign(db, board["editor"], submitted, "okafor@example.org")
    act(db, board["reviewer"], submitted, "start_review")  # claims
    act(db, board["author"], submitted, "withdraw")
    assert sorted(assignment_rows(db)) == sorted([
        (board["reviewer2"].id, "cancelled"), (board["reviewer"].id, "cancelled")])


def test_starting_the_review_accepts_an_invitation(db, board, submitted):
    assign(db, board["editor"], submitted, "reed@example.org")
    act(db, board["reviewer"], submitted, "start_review")
    assert assignment_rows(db) == [(board["reviewer"].id, "accepted")]


def test_claiming_is_refused_when_the_policy_does_not_allow_it(db, board, set_policy):
    set_policy(allow_claiming=False)
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    before = snapshot(db, aid)
    with pytest.raises(PermissionDenied) as err:
        act(db, board["reviewer"], aid, "start_review")
    assert err.value.code == "claiming_not_allowed"
    assert err.value.message == (
        "Start review: this board's policy does not let reviewers claim articles; an editor "
        "assigns them.")
    assert snapshot(db, aid) == before and assignment_rows(db) == []
    with db.reading() as s:

        a = queries.get_article(s, aid)
        assert "start_review" not in queries.allowed_actions(s, board["reviewer"], a)
    assign(db, board["editor"], aid, "reed@example.org")
    act(db, board["reviewer"], aid, "start_review")
    assert state(db, aid) == "under_review"


def test_only_an_accepted_assignee_acts_when_assignment_is_required(db, board, set_policy):
    set_policy(require_assignment=True, allow_claiming=False, required_approvals=2)
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    assign(db, board["editor"], aid, "reed@example.org")
    assign(db, board["editor"], aid, "okafor@example.org")
    respond(db, board["reviewer"], aid, "accept")
    act(db, board["reviewer"], aid, "start_review")
    for action, words in (("approve", "approve"), ("request_changes", "request changes"),
                          ("reject", "reject")):
        before = snapshot(db, aid)
        with pytest.raises(PermissionDenied) as err:
            act(db, board["cardio"], aid, action)
        assert err.value.code == "assignment_required"
        assert err.value.message == (
            f"You cannot {words} here: this board's policy "
            "lets only an accepted assignee act on a review, and you are not assigned to "
            "round 1 of this article.")
        assert snapshot(db, aid) == before
    with pytest.raises(PermissionDenied) as err:
        act(db, board["reviewer2"], aid, "approve")  # invited, not yet accepted
    assert err.value.code == "assignment_not_accepted"
    assert err.value.message == (
        "Accept your assignment to round 1 first, then approve: this board's policy lets "
        "only an accepted assignee act on a review.")
    with db.reading() as s:

        a = queries.get_article(s, aid)
        assert "approve" not in queries.allowed_actions(s, board["cardio"], a)
        assert "approve" in queries.allowed_actions(s, board["reviewer"], a)
    act(db, board["reviewer"], aid, "approve")
    respond(db, board["reviewer2"], aid, "accept")
    assert act(db, board["reviewer2"], aid, "approve").to_state == "approved"
    assert assignment_rows(db) == [
        (board["reviewer"].id, "completed"), (board["reviewer2"].id, "completed")]


def test_required_assignment_rules_out_claiming(db, board, set_policy):
    set_policy(require_assignment=True, allow_claiming=True)
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    with pytest.raises(PermissionDenied) as err:
        act(db, board["reviewer"], aid, "start_review")
    assert err.value.code == "assignment_required"
    assert err.value.message == (
        "You cannot start review here: this board's policy lets only an accepted assignee "
        "act on a review, and you are not assigned to round 1 of this article.")
    assert assignment_rows(db) == []


def test_an_assignment_racing_the_close_of_its_round_never_outlives_it(db, board, backend):
    """PostgreSQL: assigning and withdrawing at once queue on the article's row lock (no
    deadlock); the assignment either lands first and is cancelled by the close, or is
    refused because no round is open."""
    if backend != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes writers")
    from tests.core.test_concurrency import race

    reed = user(db, "reed@example.org")
    for _ in range(5):
        aid = create(db, board["author"])
        act(db, board["author"], aid, "submit")

        def do_assign(aid: int = aid) -> object:
            with db.transaction() as s:
                return assignments.assign(s, board["editor"], aid, s.merge(reed)).state

        def do_withdraw(aid: int = aid) -> object:
            with db.transaction() as s:

                return actions.perform_action(s, board["author"], aid, "withdraw").to_state

        results = race(do_assign, do_withdraw)
        assert results[1] == "draft", results
        assert results[0] == "invited" or (
            isinstance(results[0], InvalidTransition) and results[0].code == "no_open_round"
        ), results
        with db.reading() as s:
            states = list(s.scalars(select(Assignment.state).where(Assignment.article_id == aid)))
            assert states in ([], ["cancelled"])
    with db.reading() as s:
        assert verify_all(s).ok
