"""``policy.service.put_policy`` (what the CLI and the "Review policy" page call): who may
set the policy, and what a refusal leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.actor import Actor
from review_flow.audit.models import AuditEvent
from review_flow.errors import Conflict, PermissionDenied
from review_flow.policy import service as policy
from review_flow.policy.models import PolicyVersion


def _counts(db: Any) -> tuple[int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(PolicyVersion)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_an_editor_sets_it(db: Any, people: Any) -> None:
    with db.transaction() as s:
        assert policy.put_policy(s, people["editor"], {"required_approvals": 2}) == 2
        assert policy.changes_of(s, 2) == {"required_approvals": 2}


def test_an_api_token_never_sets_it_even_an_editors(db: Any, people: Any) -> None:
    before = _counts(db)
    token_actor = Actor(people["editor"].user, via_token=True)
    with db.transaction() as s, pytest.raises(
        PermissionDenied, match=r"The review policy cannot be changed with an API token\."
    ):
        policy.put_policy(s, token_actor, {"required_approvals": 2})
    assert _counts(db) == before


@pytest.mark.parametrize("role", ["author", "reviewer", "auditor"])
def test_other_roles_may_not(db: Any, people: Any, role: str) -> None:
    before = _counts(db)
    with db.transaction() as s, pytest.raises(
        PermissionDenied, match=r"Changing the review policy requires the editor or admin role\."
    ):
        policy.put_policy(s, people[role], {"required_approvals": 2})
    assert _counts(db) == before


def test_a_stale_expected_version_is_refused(db: Any, people: Any) -> None:
    with db.transaction() as s:
        policy.put_policy(s, people["editor"], {"rereview_months": 6})
    with db.transaction() as s, pytest.raises(
        Conflict, match="version 2 is in force now, not 1"
    ):
        policy.put_policy(s, people["editor"], {"required_approvals": 2}, expected_version=1)
    assert _counts(db)[0] == 2


def test_a_round_of_review_keeps_acting_under_the_version_it_read(db: Any, people: Any) -> None:
    """Old versions stay readable and unchanged after a new one is put in force."""
    with db.reading() as s:
        before = policy.settings_for(s, 1)
    with db.transaction() as s:
        policy.put_policy(s, people["editor"], {"required_approvals": 3})
    with db.reading() as s:
        assert policy.settings_for(s, 1) == before
        assert policy.active_policy(s)[1].required_approvals == 3
