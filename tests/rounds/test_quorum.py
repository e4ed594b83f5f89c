"""The quorum: required approvals, of which required specialties, evaluated over the
round's decisions under the round's policy version."""

from __future__ import annotations

from review_flow.articles import writes
from review_flow.audit.verify import verify_all
from review_flow.rounds.quorum import evaluate
from tests.core.helpers import act, create, state

F = frozenset


def test_quorum_words_what_is_missing():
    rule = {"required_approvals": 2, "required_specialties": {"cardiology": 1}}
    assert evaluate([], **rule).still_missing() == "2 more approvals (1 from cardiology)"
    assert evaluate([F()], **rule).still_missing() == "1 more approval from cardiology"
    assert evaluate([F({"cardiology"})], **rule).still_missing() == "1 more approval"
    assert evaluate([F(), F()], **rule).still_missing() == "1 more approval from cardiology"
    assert evaluate([F(), F({"cardiology"})], **rule).reached


def test_one_approver_fills_one_specialty_place_only():
    rule = {"required_approvals": 2,
            "required_specialties": {"cardiology": 1, "nephrology": 1}}
    both = F({"cardiology", "nephrology"})
    assert evaluate([both], **rule).still_missing() in (
        "1 more approval from nephrology", "1 more approval from cardiology")
    assert evaluate([both, F({"cardiology"})], **rule).reached  # matched, not greedy
    assert not evaluate([both, F()], **rule).reached


def test_two_approvals_one_from_cardiology(db, board, set_policy):
    set_policy(required_approvals=2, required_specialties={"Cardiology": 1})
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    act(db, board["reviewer"], aid, "start_review")
    first = act(db, board["reviewer"], aid, "approve")
    assert (first.to_state, first.still_missing) == (
        "under_review", "1 more approval from cardiology")
    second = act(db, board["reviewer2"], aid, "approve")
    assert (second.to_state, second.approvals, second.still_missing) == (
        "under_review", 2, "1 more approval from cardiology")
    # Specialties are compared case-insensitively ("Cardiology" as entered).
    third = act(db, board["cardio"], aid, "approve")
    assert (third.to_state, third.approvals, third.still_missing) == ("approved", 3, None)
    with db.reading() as s:
        assert verify_all(s).ok


def test_a_policy_change_mid_review_leaves_the_round_on_its_version(db, board, set_policy):
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")  # round 1 under policy version 1: one approval
    act(db, board["reviewer"], aid, "start_review")
    new = set_policy(required_approvals=2, required_specialties={"cardiology": 1})
    result = act(db, board["reviewer"], aid, "approve")
    assert (result.to_state, result.required_approvals) == ("approved", 1)
    with db.reading() as s:
        from sqlalchemy import select

        from review_flow.audit.models import AuditEvent
        from review_flow.signatures.models import Decision

        assert s.scalars(select(Decision.policy_version)).one() == 1
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last.policy_version == 1
    # The next round (a new revision) runs under the new version.
    with db.transaction() as s:
        from tests.core.helpers import BODY, REFS

        writes.edit_article(s, board["author"], aid, title="High Blood Pressure",
                              body=BODY + "Exercise helps.\n", references=REFS)
    act(db, board["author"], aid, "submit")
    act(db, board["reviewer"], aid, "start_review")
    again = act(db, board["reviewer"], aid, "approve")
    assert (again.to_state, again.required_approvals, again.still_missing) == (
        "under_review", 2, "1 more approval from cardiology")
    with db.reading() as s:
        from review_flow.rounds.reading import round_as_dict

        r = round_as_dict(s, aid)
        assert (r["number"], r["policy_version"], r["still_missing"]) == (
            2, new, "1 more approval from cardiology")
    assert state(db, aid) == "under_review"
