"""A policy change is audited in its own transaction, like every other action: a new
policy version and its ``policy.update`` event commit together, and a refused change
writes neither."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.audit.log import RequestContext
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_chain
from review_flow.errors import ValidationFailed
from review_flow.policy import service as policy
from review_flow.policy.models import PolicyVersion


def _policy_events(session: Any) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.action == "policy.update").order_by(AuditEvent.seq)
    ))


def test_a_policy_change_writes_its_audit_event(db: Any, people: Any) -> None:
    editor = people["editor"].user
    with db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
        version = policy.set_policy(
            s, changed_by=editor, changes={"required_approvals": 2},
            note="Two reviewers for every article",
            context=RequestContext(request_id="req-policy-1", client_addr="203.0.113.7"),
        )
    with db.reading() as s:
        [event] = _policy_events(s)
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
        assert (event.actor_id, event.actor_name) == (editor.id, "Erin Editor")
        assert (event.object_type, event.object_id) == ("policy", str(version))
        assert event.policy_version == version == 2
        assert event.comment == "Two reviewers for every article"
        assert event.data == {"changes": {"required_approvals": 2}}
        assert (event.request_id, event.client_addr) == ("req-policy-1", "203.0.113.7")
        assert s.get(PolicyVersion, version) is not None
        assert verify_chain(s).ok


@pytest.mark.parametrize("changes", [{"required_approvals": 0}, {"no_such_key": True}])
def test_a_refused_policy_change_writes_neither_version_nor_event(
    db: Any, people: Any, changes: dict[str, Any]
) -> None:
    with db.reading() as s:
        versions = s.scalar(select(func.count()).select_from(PolicyVersion))
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ValidationFailed), db.transaction() as s:
        policy.set_policy(s, changed_by=people["editor"].user, changes=changes)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(PolicyVersion)) == versions
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert _policy_events(s) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"required_specialties": {"cardiology": 2}}, "asks for 2 specialist approvals"),
        ({"required_specialties": {" ": 1}}, "a specialty name is empty"),
        ({"required_specialties": {"cardiology": 0}}, "needs a count of 1 or more"),
        ({"conflicts": "ignore"}, "conflicts"),
        ({"checklist": ["Dosages checked", "  "]}, "checklist: an item is empty"),
        ({"checklist": ["Dosages checked", "Dosages checked"]}, "an item appears twice"),
        ({"review_due_days": 0}, "review_due_days"),
        ({"quorum": 2}, "quorum"),
    ],
)
def test_a_board_policy_that_cannot_hold_is_refused_naming_the_key(
    db: Any, people: Any, changes: dict[str, Any], message: str
) -> None:
    with db.transaction() as s, pytest.raises(ValidationFailed, match=message):
        policy.set_policy(s, changed_by=people["editor"].user, changes=changes)
    with db.reading() as s:
        assert s.scalar(select(func.max(PolicyVersion.version))) == 1
        assert _policy_events(s) == []


def test_board_policy_keys_are_stored_normalised(db: Any, people: Any) -> None:
    with db.transaction() as s:
        policy.set_policy(s, changed_by=people["editor"].user, changes={
            "required_approvals": 2, "required_specialties": {" Cardiology ": 1},
            "conflicts": "disclose", "checklist": [" Dosages match the cited guideline "],
        })
    with db.reading() as s:
        _, settings = policy.active_policy(s)
    assert settings.required_specialties == {"cardiology": 1}
    assert settings.conflicts == "disclose"
    assert settings.checklist == ("Dosages match the cited guideline",)
