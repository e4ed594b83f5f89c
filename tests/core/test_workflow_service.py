"""The service layer end to end on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from review_flow.articles.queries import allowed_actions, approvals_for, get_article
from review_flow.articles.writes import create_article, edit_article
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_chain
from review_flow.errors import (
    Conflict,
    GuardFailed,
    InvalidTransition,
    PermissionDenied,
    SignatureRefused,
    ValidationFailed,
)
from review_flow.policy import service as policy
from review_flow.signatures.models import Decision
from tests.core.helpers import BODY, REFS, act, create, snapshot, state


def test_full_path_draft_to_approved(db, people):
    aid = create(db, people["author"])
    assert state(db, aid) == "draft"
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    result = act(db, people["reviewer"], aid, "approve")
    assert result.to_state == "approved"
    with db.reading() as s:
        article = get_article(s, aid)
        assert article.state == "approved"
        assert article.approved_revision_id == article.current_revision_id
        assert article.review_due is not None
        decision = s.scalars(select(Decision)).one()
        assert decision.kind == "approve"
        assert decision.printed_name == "Dr. Maya Reed"
        assert decision.credentials == "MD, FACP"
        assert decision.meaning == "I approve this revision as medically accurate"
        assert decision.content_hash == article.current_revision.content_hash
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        flow = [(e.action, e.from_state, e.to_state) for e in events if e.article_id == aid]
        assert flow == [
            ("article.create", None, "draft"),
            ("article.submit", "draft", "submitted"),
            ("article.start_review", "submitted", "under_review"),
            ("article.approve", "under_review", "approved"),
        ]
        approve = events[-1]
        assert approve.actor_name == "Dr. Maya Reed"
        assert approve.content_hash == decision.content_hash
        assert approve.revision == 1
        assert approve.workflow_version == "default/1"
        assert approve.policy_version == 1
        assert verify_chain(s).ok


def test_two_approvals_need_two_different_reviewers(db, people):
    with db.transaction() as s:
        policy.set_policy(s, changed_by=people["editor"].user, changes={"required_approvals": 2})
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    first = act(db, people["reviewer"], aid, "approve")
    assert (first.to_state, first.approvals, first.required_approvals) == ("under_review", 1, 2)
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve")
    assert err.value.code == "already_approved"
    assert snapshot(db, aid) == before
    with db.reading() as s:
        a = get_article(s, aid)
        assert "approve" not in allowed_actions(s, people["reviewer"], a)
        assert "approve" in allowed_actions(s, people["reviewer2"], a)
    second = act(db, people["reviewer2"], aid, "approve")
    assert second.to_state == "approved"
    with db.reading() as s:
        assert len(approvals_for(s, get_article(s, aid).current_revision_id)) == 2


@pytest.mark.parametrize("action", ["start_review", "approve"])
def test_author_with_reviewer_role_cannot_review_own_article(db, make_user, people, action):
    both = make_user("both@example.org", "author", "reviewer", name="Sam Both")
    aid = create(db, both)
    act(db, both, aid, "submit")
    if action == "approve":
        act(db, people["reviewer"], aid, "start_review")
    before = snapshot(db, aid)
    with pytest.raises(PermissionDenied) as err:
        act(db, both, aid, action)
    assert err.value.code == "separation_of_duties"
    assert "Separation of duties" in err.value.message
    assert snapshot(db, aid) == before


def test_an_editor_who_edited_cannot_approve(db, make_user, people):
    editor_reviewer = make_user("er@example.org", "editor", "reviewer", name="Ed Rev")
    aid = create(db, people["author"])
    with db.transaction() as s:
        edit_article(
            s,
            editor_reviewer,
            aid,
            title="High Blood Pressure",
            body=BODY + "More [1].\n",
            references=REFS,
        )
    act(db, people["author"], aid, "submit")
    with pytest.raises(PermissionDenied) as err:
        act(db, editor_reviewer, aid, "start_review")
    assert err.value.code == "separation_of_duties"


def test_invalid_action_lists_the_allowed_ones(db, people):
    aid = create(db, people["author"])
    before = snapshot(db, aid)
    with pytest.raises(InvalidTransition) as err:
        act(db, people["reviewer"], aid, "approve")
    assert "draft" in err.value.message
    assert err.value.details["state"] == "draft"
    assert err.value.details["allowed_actions"] == []  # a reviewer can do nothing to a draft
    with pytest.raises(InvalidTransition) as err:
        act(db, people["author"], aid, "approve")
    assert err.value.details["allowed_actions"] == ["submit"]
    assert err.value.message == (f"You cannot approve article {aid} now: it is a draft. "
                                 "What you can do now: Submit for review.")
    assert snapshot(db, aid) == before


def test_unknown_action(db, people):
    aid = create(db, people["author"])
    with pytest.raises(ValidationFailed) as err:
        act(db, people["author"], aid, "publish")
    assert err.value.code == "unknown_action"
    with pytest.raises(ValidationFailed):
        act(db, people["author"], aid, "revise")  # internal: never a user action


def test_submit_refuses_a_dangling_citation(db, people):
    aid = create(db, people["author"], body="Salt raises pressure [3].\n")
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["author"], aid, "submit")
    assert err.value.code == "dangling_citation"
    assert "[3]" in err.value.message
    assert err.value.details["markers"] == [3]
    assert snapshot(db, aid) == before


def test_submit_needs_a_reference(db, people):
    aid = create(db, people["author"], references=[], body="No citations.\n")
    with pytest.raises(GuardFailed) as err:
        act(db, people["author"], aid, "submit")
    assert err.value.code == "missing_references"


def test_only_the_author_submits_and_only_reviewers_review(db, people):
    aid = create(db, people["author"])
    with pytest.raises(PermissionDenied) as err:
        act(db, people["reviewer"], aid, "submit")
    assert err.value.code == "not_the_author"
    act(db, people["author"], aid, "submit")
    with pytest.raises(PermissionDenied) as err:
        act(db, people["editor"], aid, "start_review")
    assert err.value.code == "role_required"


def test_comment_and_signature_required(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "request_changes", comment="  ")
    assert err.value.code == "comment_required"
    with pytest.raises(SignatureRefused) as err:
        act(db, people["reviewer"], aid, "approve", password="wrong password")
    assert err.value.code == "wrong_password"
    with pytest.raises(SignatureRefused) as err:
        act(db, people["reviewer"], aid, "reject", comment="no", password="")
    assert snapshot(db, aid) == before


def test_a_token_can_never_sign(db, people):
    from dataclasses import replace

    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    token_actor = replace(people["reviewer"], via_token=True)
    with pytest.raises(SignatureRefused) as err:
        act(db, token_actor, aid, "approve")
    assert err.value.code == "token_cannot_sign"
    with db.reading() as s:
        allowed = allowed_actions(s, token_actor, get_article(s, aid))
    assert "approve" not in allowed and "request_changes" in allowed


def test_signature_refuses_text_that_changed(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with pytest.raises(Conflict) as err:
        act(db, people["reviewer"], aid, "approve", expected_content_hash="sha256:" + "0" * 64)
    assert err.value.code == "content_changed"


def test_review_checks_from_policy(db, people):
    with db.transaction() as s:
        policy.set_policy(
            s, changed_by=None, changes={"review_checks": ["checklist", "conflict_of_interest"],
                                         "checklist": ["Dosages checked"]}
        )
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve", attestations={"checklist": True})
    assert err.value.details["missing"] == ["conflict_of_interest"]
    # A bare "checklist" flag answers nothing: the items must be answered (as rows).
    with pytest.raises(GuardFailed) as err:
        act(db, people["reviewer"], aid, "approve",
            attestations={"checklist": True, "conflict_of_interest": "none"})
    assert err.value.code == "checklist_unanswered"
    act(
        db,
        people["reviewer"],
        aid,
        "approve",
        attestations={"conflict_of_interest": "none"},
        checklist={"Dosages checked": "yes"},
    )
    with db.reading() as s:
        d = s.scalars(select(Decision)).one()
        assert d.attestations == {"checklist": True, "conflict_of_interest": "none"}
        assert d.policy_version == 2


def test_stale_version_is_a_conflict_that_says_what_changed(db, people):
    aid = create(db, people["author"])
    with db.reading() as s:
        seen = get_article(s, aid).version
    act(db, people["author"], aid, "submit")
    before = snapshot(db, aid)
    with pytest.raises(Conflict) as err:
        act(db, people["author"], aid, "withdraw", expected_version=seen)
    assert err.value.details["current_version"] == seen + 1
    assert err.value.details["changes"][0]["action"] == "article.submit"
    assert "submit by Alex Author" in err.value.message
    assert snapshot(db, aid) == before
    with pytest.raises(Conflict), db.transaction() as s:
        edit_article(
            s, people["author"], aid, title="x", body="y", references=REFS, expected_version=seen
        )
    act(db, people["author"], aid, "withdraw", expected_version=seen + 1)
    assert state(db, aid) == "draft"


def test_editing_approved_text_makes_a_draft_and_keeps_the_approved_revision(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:
        article, rev = edit_article(
            s,
            people["author"],
            aid,
            title="High Blood Pressure",
            body=BODY + "Exercise helps [2].\n",
            references=REFS,
        )
        assert rev is not None and rev.number == 2
    with db.reading() as s:
        article = get_article(s, aid)
        assert article.state == "draft"
        assert article.current_revision.number == 2
        assert article.approved_revision.number == 1
        assert approvals_for(s, article.current_revision_id) == []
        edit = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (edit.action, edit.from_state, edit.to_state, edit.revision) == (
            "article.edit",
            "approved",
            "draft",
            2,
        )
    # The old approval does not count for the new revision: it needs its own.
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    with db.reading() as s:
        a = get_article(s, aid)
        assert "approve" in allowed_actions(s, people["reviewer"], a)
    result = act(db, people["reviewer"], aid, "approve")
    assert result.approvals == 1 and result.to_state == "approved"
    with db.reading() as s:
        assert get_article(s, aid).approved_revision.number == 2


def test_an_edit_that_changes_nothing_makes_no_revision(db, people):
    aid = create(db, people["author"])
    before = snapshot(db, aid)
    with db.transaction() as s:
        _, rev = edit_article(
            s,
            people["author"],
            aid,
            title="High  Blood Pressure ",
            body=BODY.replace("\n", "\r\n"),
            references=REFS,
        )
    assert rev is None
    assert snapshot(db, aid) == before


def test_text_under_review_cannot_be_edited(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    with pytest.raises(InvalidTransition) as err, db.transaction() as s:
        edit_article(s, people["author"], aid, title="x", body="y", references=REFS)
    assert err.value.code == "not_editable"
    assert "withdraw it first" in err.value.message


def test_retract_and_reopen(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with pytest.raises(PermissionDenied):
        act(db, people["author"], aid, "retract")
    act(db, people["editor"], aid, "retract", comment="Superseded guideline")
    assert state(db, aid) == "retracted"
    act(db, people["editor"], aid, "reopen")
    assert state(db, aid) == "draft"


def test_reject_records_a_signature_with_its_reason(db, people):
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "reject", comment="Unsupported claims")
    with db.reading() as s:
        d = s.scalars(select(Decision)).one()
        assert (d.kind, d.comment) == ("reject", "Unsupported claims")
        assert "reject" in d.meaning


def test_bad_input_writes_nothing(db, people):
    from tests.core.helpers import event_count

    n = event_count(db)
    for bad in (
        {"title": "", "body": "b", "references": REFS},
        {"title": "t", "body": 5, "references": REFS},
        {"title": "t", "body": "b", "references": [{"title": "no locator"}]},
        {"title": "t", "body": "b", "references": REFS, "generator": {"model": "x"}},
    ):
        with pytest.raises(ValidationFailed), db.transaction() as s:
            create_article(s, people["author"], **bad)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        create_article(s, people["auditor"], title="t", body="b", references=REFS)
    assert event_count(db) == n
