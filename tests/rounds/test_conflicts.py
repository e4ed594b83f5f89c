"""Conflict of interest: declared with an approval, "none" or a description; refused
unless the policy discloses; the declaration row is the record behind the check."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import GuardFailed, ValidationFailed
from review_flow.rounds.models import ConflictDeclaration
from review_flow.signatures.models import Decision
from tests.core.helpers import act, create, snapshot


@pytest.fixture
def in_review(db, board):
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    act(db, board["reviewer"], aid, "start_review")
    return aid


def declarations(db):
    with db.reading() as s:
        return [(d.reviewer_id, d.conflict) for d in s.scalars(select(ConflictDeclaration))]


def test_the_check_needs_a_declaration_and_none_is_recorded(db, board, set_policy):
    set_policy(review_checks=["conflict_of_interest"])
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    act(db, board["reviewer"], aid, "start_review")
    before = snapshot(db, aid)
    for attest in ({}, {"conflict_of_interest": True}):  # a bare flag says nothing
        with pytest.raises(GuardFailed) as err:
            act(db, board["reviewer"], aid, "approve", attestations=attest)
        assert err.value.code == "review_checks_missing"
        assert err.value.message == (
            "Before approving, this board's policy asks you to declare any conflict of "
            "interest (or write \u201cnone\u201d).")
    assert snapshot(db, aid) == before and declarations(db) == []
    act(db, board["reviewer"], aid, "approve", conflict="None")
    assert declarations(db) == [(board["reviewer"].id, None)]
    with db.reading() as s:
        d = s.scalars(select(Decision)).one()
        assert d.attestations == {"conflict_of_interest": "none"} and d.conflict is None
        declared = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "conflict.declare")).one()
        assert json.loads(declared.data_json)["conflict"] == "none"
        assert verify_all(s).ok


def test_a_declared_conflict_refuses_the_approval(db, board, in_review):
    before = snapshot(db, in_review)
    with pytest.raises(GuardFailed) as err:
        act(db, board["reviewer"], in_review, "approve",
            conflict="Speaker fees from Acme Pharma, 2025")
    assert err.value.code == "conflict_of_interest"
    assert err.value.message == (
        "Approval refused: you declared a conflict of interest (Speaker fees from Acme "
        "Pharma, 2025); this board's policy does not let a reviewer with a conflict approve.")
    assert snapshot(db, in_review) == before and declarations(db) == []


def test_a_disclosed_conflict_is_carried_by_the_signature(db, board, set_policy):
    set_policy(conflicts="disclose")
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    act(db, board["reviewer"], aid, "start_review")
    result = act(db, board["reviewer"], aid, "approve",
                 conflict="Speaker fees from Acme Pharma, 2025")
    assert result.to_state == "approved"
    assert declarations(db) == [(board["reviewer"].id, "Speaker fees from Acme Pharma, 2025")]
    with db.reading() as s:
        assert s.scalars(select(Decision.conflict)).one() == "Speaker fees from Acme Pharma, 2025"
        data = json.loads(result.event.data_json)
        assert data["signature"]["conflict"] == "Speaker fees from Acme Pharma, 2025"
        assert verify_all(s).ok


@pytest.mark.parametrize(("value", "message"), [
    (42, "Declare a conflict of interest as text: “none”, or a description."),
    ("x" * 2001, "A conflict of interest is described in at most 2000 characters."),
    ("a\x00b", "The conflict of interest contains a NUL character; remove it."),
])
def test_bad_declarations_are_named(db, board, in_review, value, message):
    with pytest.raises(ValidationFailed) as err:
        act(db, board["reviewer"], in_review, "approve", conflict=value)
    assert err.value.message == message
