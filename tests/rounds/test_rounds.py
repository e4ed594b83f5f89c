"""Review rounds as records: opened on entering review, closed on leaving it with the
outcome, one open per article (a database fact), decisions belonging to their round."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.signatures.models import Decision
from tests.core.helpers import act, create, state


def rounds(db, aid):
    with db.reading() as s:
        return [
            (r.number, r.outcome, r.closed_at is None, r.policy_version)
            for r in s.scalars(
                select(ReviewRound).where(ReviewRound.article_id == aid).order_by(
                    ReviewRound.number)
            )
        ]


def test_submit_opens_a_round_and_each_way_out_of_review_closes_it(db, people):
    aid = create(db, people["author"])
    assert rounds(db, aid) == []
    act(db, people["author"], aid, "submit")
    assert rounds(db, aid) == [(1, None, True, 1)]
    act(db, people["author"], aid, "withdraw")
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "request_changes", comment="Cite the 2024 guideline.")
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "reject", comment="Not salvageable.")
    act(db, people["editor"], aid, "reopen")
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    assert rounds(db, aid) == [
        (1, "withdrawn", False, 1),
        (2, "changes_requested", False, 1),
        (3, "rejected", False, 1),
        (4, "approved", False, 1),
    ]
    with db.reading() as s:
        decisions = s.scalars(select(Decision).order_by(Decision.id)).all()
        numbers = {r.id: r.number for r in s.scalars(select(ReviewRound))}
        assert [(d.kind, numbers[d.round_id]) for d in decisions] == [
            ("reject", 3), ("approve", 4)]
        events = s.scalars(select(AuditEvent).where(AuditEvent.article_id == aid).order_by(
            AuditEvent.seq)).all()
        submit = next(e for e in events if e.action == "article.submit")
        assert json.loads(submit.data_json)["round"] == 1
        approve = events[-1]
        data = json.loads(approve.data_json)
        assert data["round"] == 4 and data["round_closed"] == "approved"
        assert verify_all(s).ok


def test_the_database_keeps_one_open_round_per_article(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(text(
            "INSERT INTO review_rounds (article_id, number, policy_version, opened_at) "
            "VALUES (:a, 2, 1, '2026-11-30T00:00:00.000000Z')"), {"a": aid})
    # A closed one beside it is fine.
    with db.transaction() as s:
        s.execute(text(
            "INSERT INTO review_rounds (article_id, number, policy_version, opened_at, "
            "closed_at, outcome) VALUES (:a, 2, 1, '2026-11-30T00:00:00.000000Z', "
            "'2026-11-30T00:00:00.000000Z', 'withdrawn')"), {"a": aid})


def test_a_rereview_opens_a_new_round_and_the_same_member_may_approve_again(
    db, people, set_policy
):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:  # the review date has come
        s.execute(text("UPDATE articles SET review_due = '2020-01-01T00:00:00.000000Z'"
                       if s.get_bind().dialect.name == "sqlite"
                       else "UPDATE articles SET review_due = '2020-01-01 00:00:00+00'"))
    set_policy(required_approvals=1)
    act(db, people["editor"], aid, "request_rereview")
    assert rounds(db, aid) == [(1, "approved", False, 1), (2, None, True, 2)]
    act(db, people["reviewer"], aid, "start_review")
    result = act(db, people["reviewer"], aid, "approve")
    assert result.to_state == "approved" and result.approvals == 1
    with db.reading() as s:
        assert len(s.scalars(select(Decision)).all()) == 2
        assert verify_all(s).ok


def test_claiming_creates_an_accepted_self_assignment_completed_by_the_decision(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with db.reading() as s:
        a = s.scalars(select(Assignment)).one()
        assert (a.reviewer_id, a.state, a.assigned_by_id) == (
            people["reviewer"].id, "accepted", people["reviewer"].id)
        assert a.responded_at is not None
    act(db, people["reviewer"], aid, "approve")
    with db.reading() as s:
        assert s.scalars(select(Assignment.state)).one() == "completed"
    assert state(db, aid) == "approved"


def test_a_rereview_offers_approve_to_whoever_approved_in_an_earlier_round(
    db, people, set_policy
):
    """One approval per reviewer per round: the earlier round's approval of the same
    revision does not take the Approve button away, as the service accepts it."""
    from review_flow.articles import queries

    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:  # the review date has come
        s.execute(text("UPDATE articles SET review_due = '2020-01-01T00:00:00.000000Z'"
                       if s.get_bind().dialect.name == "sqlite"
                       else "UPDATE articles SET review_due = '2020-01-01 00:00:00+00'"))
    set_policy(required_approvals=2)
    act(db, people["editor"], aid, "request_rereview")
    act(db, people["reviewer"], aid, "start_review")
    with db.reading() as s:
        a = queries.get_article(s, aid)
        assert "approve" in queries.allowed_actions(s, people["reviewer"], a)
        # What the caller knew of the revision (approved in round 1) does not decide it.
        assert "approve" in queries.allowed_actions(
            s, people["reviewer"], a, approved_by_actor=True)
        assert "approve" in queries.article_as_dict(s, a, people["reviewer"])[
            "allowed_actions"]
    result = act(db, people["reviewer"], aid, "approve")
    assert result.to_state == "under_review" and result.approvals == 1
    with db.reading() as s:  # approved in this round now: no second Approve in it
        a = queries.get_article(s, aid)
        assert "approve" not in queries.allowed_actions(s, people["reviewer"], a)
        assert "approve" not in queries.allowed_actions(
            s, people["reviewer"], a, approved_by_actor=True)
