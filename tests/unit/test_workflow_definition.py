"""The workflow definition and engine, without a database: fast and table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from review_flow.workflow import engine
from review_flow.workflow.definition import ACTIONS, ACTIONS_BY_NAME, STATES
from review_flow.workflow.guard import StateAssignmentOutsideWorkflow

# (action, from_state) -> to_state, exactly the DESIGN.md table.
EXPECTED = {
    ("submit", "draft"): "submitted",
    ("submit", "changes_requested"): "submitted",
    ("withdraw", "submitted"): "draft",
    ("withdraw", "under_review"): "draft",
    ("withdraw", "changes_requested"): "draft",
    ("start_review", "submitted"): "under_review",
    ("request_changes", "under_review"): "changes_requested",
    ("approve", "under_review"): "approved",
    ("reject", "under_review"): "rejected",
    ("retract", "approved"): "retracted",
    ("reopen", "rejected"): "draft",
    ("reopen", "retracted"): "draft",
    ("request_rereview", "approved"): "submitted",
    ("revise", "approved"): "draft",
}


class Subject:
    def __init__(self, state: str) -> None:
        self.state = state


def ready_ctx(action: str, **overrides: object) -> engine.TransitionContext:
    """A context in which every guard passes."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "action": ACTIONS_BY_NAME[action],
        "title": "T",
        "body": "B [1]",
        "reference_count": 1,
        "comment": "because",
        "approvals_after_this": 1,
        "required_approvals": 1,
        "review_due": now - timedelta(days=1),
        "now": now,
    }
    values.update(overrides)
    return engine.TransitionContext(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", [a.name for a in ACTIONS])
@pytest.mark.parametrize("state", STATES)
def test_every_action_from_every_state(action: str, state: str) -> None:
    expected = EXPECTED.get((action, state))
    assert engine.can_fire(action, state) is (expected is not None)
    if expected is None:
        return
    subject = Subject(state)
    assert engine.fire(subject, action, ready_ctx(action)) is True
    assert subject.state == expected


def test_no_auto_transitions_and_no_models_kept() -> None:
    assert not any(name.startswith("to_") for name in engine.MACHINE.events)
    engine.fire(Subject("draft"), "submit", ready_ctx("submit"))
    assert engine.MACHINE.models == []  # the shared machine holds no articles


@pytest.mark.parametrize(
    ("action", "state", "overrides", "code"),
    [
        ("submit", "draft", {"title": "  "}, "missing_title"),
        ("submit", "draft", {"body": ""}, "missing_body"),
        ("submit", "draft", {"reference_count": 0}, "missing_references"),
        ("submit", "draft", {"dangling_citations": [3]}, "dangling_citation"),
        ("request_changes", "under_review", {"comment": " "}, "comment_required"),
        ("reject", "under_review", {"comment": None}, "comment_required"),
        ("retract", "approved", {"comment": ""}, "comment_required"),
        ("approve", "under_review", {"already_approved_by_actor": True}, "already_approved"),
        ("approve", "under_review", {"required_checks": ("checklist",)}, "review_checks_missing"),
        (
            "request_rereview",
            "approved",
            {"review_due": datetime(2027, 1, 1, tzinfo=UTC)},
            "review_not_due",
        ),
    ],
)
def test_guards_refuse_with_a_named_problem(action, state, overrides, code) -> None:
    subject = Subject(state)
    ctx = ready_ctx(action, **overrides)
    assert engine.fire(subject, action, ctx) is False
    assert subject.state == state
    assert ctx.problems[0].code == code
    assert ctx.problems[0].message


def test_dangling_citation_message_names_the_marker() -> None:
    ctx = ready_ctx("submit", dangling_citations=[3], reference_count=2)
    engine.fire(Subject("draft"), "submit", ctx)
    assert "[3]" in ctx.problems[0].message
    assert ctx.problems[0].details == {"markers": [3], "reference_count": 2}


def test_approve_waits_for_the_quorum() -> None:
    subject = Subject("under_review")
    ctx = ready_ctx("approve", approvals_after_this=1, required_approvals=2)
    assert engine.fire(subject, "approve", ctx) is True  # recorded, state unchanged
    assert subject.state == "under_review"
    ctx = ready_ctx("approve", approvals_after_this=2, required_approvals=2)
    assert engine.fire(subject, "approve", ctx) is True
    assert subject.state == "approved"


def test_state_cannot_be_assigned_outside_the_workflow() -> None:
    from review_flow.articles.models import Article

    article = Article(slug="x", author_id=1)
    with pytest.raises(StateAssignmentOutsideWorkflow):
        article.state = "approved"


def test_signing_actions_carry_a_meaning() -> None:
    for action in ACTIONS:
        if action.needs_signature:
            assert action.signature_meaning
