"""What the reviewer checks, as records: reference checks (carried over only where the
reference did not change) and checklist answers stored with the approval. Each refusal
is tested allowed and refused with its message, and a refusal writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from review_flow.articles.writes import edit_article
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import GuardFailed, InvalidTransition, PermissionDenied, ValidationFailed
from review_flow.policy import service as policy
from review_flow.review_checks import references
from review_flow.review_checks.models import ChecklistAnswer, ReferenceCheck
from review_flow.signatures.models import Decision
from tests.core.helpers import BODY, REFS, act, create, snapshot, state

ITEMS = ["Claims match the cited sources", "Dosages and contraindications checked",
         "Plain-language version suitable for patients"]
ALL_YES = {i: "yes" for i in ITEMS}


def set_policy(db: Any, **changes: Any) -> None:
    with db.transaction() as s:
        policy.set_policy(s, changed_by=None, changes=changes)


def check(db: Any, actor: Any, aid: int, number: Any, status: Any, note: Any = None,
          **kw: Any) -> ReferenceCheck:
    with db.transaction() as s:
        return references.record_check(s, actor, aid, number, status, note, **kw)


def in_review(db: Any, people: Any) -> int:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    return aid


def check_rows(db: Any) -> list[tuple[Any, ...]]:
    with db.reading() as s:
        return [(r.reviewer_id, r.reference_number, r.status, r.note)
                for r in s.scalars(select(ReferenceCheck).order_by(ReferenceCheck.id))]


def test_unchecked_references_refuse_the_approval_until_each_is_verified(db, people):
    set_policy(db, review_checks=["references_verified"])
    aid = in_review(db, people)
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.code == "references_unchecked"
    assert err.value.message == (
        "Approval refused: Reference 1 (ACC/AHA guideline) is not checked yet; "
        "Reference 2 (MedlinePlus) is not checked yet.")
    check(db, people["reviewer"], aid, 1, "verified")
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.message == "Approval refused: Reference 2 (MedlinePlus) is not checked yet."
    # Another reviewer's check does not stand for the signer's own.
    check(db, people["reviewer2"], aid, 2, "verified")
    with pytest.raises(GuardFailed):
        act(db, people["reviewer"], aid, "approve")
    assert snapshot(db, aid)[:4] == before[:4]
    check(db, people["reviewer"], aid, 2, "verified")
    result = act(db, people["reviewer"], aid, "approve")
    assert result.to_state == "approved"
    assert json.loads(result.event.data_json)["references_checked"] == 2
    with db.reading() as s:
        assert s.scalars(select(Decision.attestations)).one() == {"references_verified": True}
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "reference.check")
                           .order_by(AuditEvent.seq)).all()
        assert [json.loads(e.data_json)["reference"] for e in events] == [1, 2, 2]
        assert json.loads(events[0].data_json)["status"] == "verified"
        assert verify_all(s).ok


def test_a_problem_refuses_everyone_until_its_reviewer_checks_again(db, people):
    aid = in_review(db, people)  # the bare policy: checks not required, problems still count
    check(db, people["reviewer2"], aid, 2, "problem", "  The page covers hypertension, "
          "not the claim.  ")
    assert check_rows(db) == [(people["reviewer2"].id, 2, "problem",
                               "The page covers hypertension, not the claim.")]
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.code == "reference_problem"
    assert err.value.message == (
        "Approval refused: Reference 2 (MedlinePlus) is marked as a problem by Dr. Chidi "
        "Okafor: “The page covers hypertension, not the claim.”.")
    assert snapshot(db, aid) == before
    check(db, people["reviewer2"], aid, 2, "verified")
    assert act(db, people["reviewer"], aid, "approve").to_state == "approved"


def test_checks_carry_over_only_for_unchanged_references(db, people):
    set_policy(db, review_checks=["references_verified"])
    aid = in_review(db, people)
    check(db, people["reviewer"], aid, 1, "verified")
    check(db, people["reviewer"], aid, 2, "problem", "Wrong page")
    act(db, people["reviewer"], aid, "request_changes")
    changed = [{"title": "MedlinePlus: high blood pressure",
                "url": "https://medlineplus.gov/highbloodpressure.html"}]
    with db.transaction() as s:  # reference 1 unchanged, reference 2 replaced, one added
        edit_article(s, people["author"], aid, title="High Blood Pressure", body=BODY
                     + "More [3].\n", references=[REFS[0], *changed, REFS[1]])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with db.reading() as s:
        from review_flow.articles.queries import get_article
        rev = get_article(s, aid).current_revision
        states = references.states_for(s, rev)
    mine = [st.by(people["reviewer"].id) for st in states]
    assert mine[0] is not None and mine[0].status == "verified" and mine[0].carried_from == 1
    assert mine[1] is None  # a changed reference is unchecked again
    # The old reference 2 moved to place 3 unchanged: its problem comes with it.
    assert mine[2] is not None and mine[2].status == "problem" and mine[2].carried_from == 1
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.message == (
        "Approval refused: Reference 2 (MedlinePlus: high blood pressure) is not checked "
        "yet; Reference 3 (MedlinePlus) is marked as a problem by Dr. Maya Reed: “Wrong "
        "page”.")
    check(db, people["reviewer"], aid, 2, "verified")
    check(db, people["reviewer"], aid, 3, "verified")
    assert act(db, people["reviewer"], aid, "approve").to_state == "approved"


@pytest.mark.parametrize(("number", "status", "note", "code", "message"), [
    (1, "fine", None, "invalid_reference_check", "Reference check: choose “verified” or "
     "“problem”."),
    (1, "problem", "  ", "invalid_reference_check", "Reference check: say what the problem "
     "is in the note (readers of the review and the author need it)."),
    (3, "verified", None, "unknown_reference", "Reference check: article {aid} has no "
     "reference 3 (it has 2)."),
    ("1", "verified", None, "unknown_reference", "Reference check: article {aid} has no "
     "reference 1 (it has 2)."),
])
def test_bad_checks_are_refused_by_name(db, people, number, status, note, code, message):
    aid = in_review(db, people)
    before = snapshot(db, aid)
    with pytest.raises(ValidationFailed) as err:
        check(db, people["reviewer"], aid, number, status, note)
    assert err.value.code == code and err.value.message == message.format(aid=aid)
    assert snapshot(db, aid) == before and check_rows(db) == []


def test_who_may_check_and_when(db, people):
    aid = create(db, people["author"])
    with pytest.raises(InvalidTransition) as err:
        check(db, people["reviewer"], aid, 1, "verified")
    assert err.value.message == (
        f"References are checked while an article is submitted or under review; article "
        f"{aid} is draft.")
    act(db, people["author"], aid, "submit")
    with pytest.raises(PermissionDenied) as denied:
        check(db, people["editor"], aid, 1, "verified")
    assert denied.value.message == "Checking references requires the reviewer role."
    check(db, people["reviewer"], aid, 1, "verified")  # submitted: may check before starting
    assert check_rows(db) == [(people["reviewer"].id, 1, "verified", None)]


@pytest.mark.parametrize(("answers", "code", "message"), [
    (None, "checklist_unanswered", "Approval refused: checklist item “Claims match the cited "
     "sources” is not answered yet; checklist item “Dosages and contraindications checked” "
     "is not answered yet; checklist item “Plain-language version suitable for patients” is "
     "not answered yet."),
    ({ITEMS[0]: "yes", ITEMS[1]: "yes"}, "checklist_unanswered", "Approval refused: "
     "checklist item “Plain-language version suitable for patients” is not answered yet."),
    ({**ALL_YES, ITEMS[1]: "no"}, "checklist_answered_no", "Approval refused: you answered "
     "“no” to checklist item “Dosages and contraindications checked” (request changes "
     "instead)."),
])
def test_checklist_refusals(db, people, answers, code, message):
    set_policy(db, checklist=ITEMS)
    aid = in_review(db, people)
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve", checklist=answers)
    assert err.value.code == code and err.value.message == message
    assert snapshot(db, aid) == before
    with db.reading() as s:
        assert s.scalars(select(ChecklistAnswer)).all() == []


@pytest.mark.parametrize(("answers", "code", "message"), [
    ({"Vibes are good": "yes"}, "unknown_checklist_item", "Checklist: “Vibes are good” is not "
     "an item of this round's checklist (its items: “Claims match the cited sources”; "
     "“Dosages and contraindications checked”; “Plain-language version suitable for "
     "patients”)."),
    ({ITEMS[0]: "maybe"}, "invalid_checklist", "Checklist: the answer to “Claims match the "
     "cited sources” must be yes, no or not applicable."),
    ("yes", "invalid_checklist", "Checklist: give the answers as an object of item → answer "
     "(yes, no or not_applicable)."),
])
def test_bad_checklist_answers_are_refused_by_name(db, people, answers, code, message):
    set_policy(db, checklist=ITEMS)
    aid = in_review(db, people)
    with pytest.raises(ValidationFailed) as err:
        act(db, people["reviewer"], aid, "approve", checklist=answers)
    assert err.value.code == code and err.value.message == message


def test_checklist_answers_are_rows_of_the_decision_and_in_the_audit_event(db, people):
    set_policy(db, checklist=ITEMS)
    aid = in_review(db, people)
    answers = [{"item": ITEMS[0], "answer": "yes"}, {"item": ITEMS[1], "answer": "Yes"},
               {"item": ITEMS[2], "answer": "n/a"}]
    result = act(db, people["reviewer"], aid, "approve", checklist=answers)
    assert result.to_state == "approved"
    expected = [{"item": ITEMS[0], "answer": "yes"}, {"item": ITEMS[1], "answer": "yes"},
                {"item": ITEMS[2], "answer": "not_applicable"}]
    assert json.loads(result.event.data_json)["checklist"] == expected
    with db.reading() as s:
        d = s.scalars(select(Decision)).one()
        rows = s.scalars(select(ChecklistAnswer).order_by(ChecklistAnswer.position)).all()
        assert [(r.decision_id, r.position, r.item, r.answer) for r in rows] == [
            (d.id, n, e["item"], e["answer"]) for n, e in enumerate(expected, 1)]
        assert verify_all(s).ok


def test_the_round_answers_the_checklist_of_the_policy_it_opened_with(db, people):
    set_policy(db, checklist=ITEMS[:1])
    aid = in_review(db, people)
    set_policy(db, checklist=ITEMS)  # mid-round: the next round's checklist
    with pytest.raises(ValidationFailed) as err:
        act(db, people["reviewer"], aid, "approve", checklist=ALL_YES)
    assert err.value.code == "unknown_checklist_item"
    assert act(db, people["reviewer"], aid, "approve",
               checklist={ITEMS[0]: "yes"}).to_state == "approved"
    assert state(db, aid) == "approved"


def test_the_records_are_append_only(db, people):
    set_policy(db, checklist=ITEMS[:1])
    aid = in_review(db, people)
    check(db, people["reviewer"], aid, 1, "verified")
    act(db, people["reviewer"], aid, "approve", checklist={ITEMS[0]: "yes"})
    for stmt in ("UPDATE reference_checks SET status = 'problem'",
                 "DELETE FROM reference_checks", "UPDATE checklist_answers SET answer = 'no'",
                 "DELETE FROM checklist_answers"):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
            s.execute(text(stmt))
