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


def test_two_editors_saving_at_once_make_two_versions_in_turn(db: Any, people: Any,
                                                              backend: Any,
                                                              make_user: Any) -> None:
    """Each writer takes the audit head's lock before reading the version in force, so
    racing saves become versions 2 and 3 (never a clash on the version number), and with
    an expected version exactly one wins."""
    if backend != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes writers")
    from tests.core.test_concurrency import race

    admin = make_user("root@example.org", "admin", name="Ada Admin")
    for expected in (None, 1):
        start = _counts(db)[0]

        def save(who: Any, change: dict[str, Any], exp: Any = expected,
                 base: int = start) -> Any:
            with db.transaction() as s:
                return policy.put_policy(s, who, change,
                                         expected_version=None if exp is None else base)

        results = race(lambda s=start: save(people["editor"], {"rereview_months": 6 + s}),
                       lambda s=start: save(admin, {"required_approvals": 2 + s}))
        if expected is None:
            assert sorted(results) == [start + 1, start + 2]
        else:
            wins = [r for r in results if isinstance(r, int)]
            losses = [r for r in results if isinstance(r, Conflict)]
            assert wins == [start + 1] and len(losses) == 1
        with db.reading() as s:
            from review_flow.audit.verify import verify_chain

            assert verify_chain(s).ok
