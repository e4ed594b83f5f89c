"""Fixtures for the review-round tests: a board with specialties and a policy setter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review_flow.actor import Actor
from review_flow.db import Database
from review_flow.policy import service as policy
from review_flow.users import service as users
from review_flow.users.service import with_roles
from tests.api.conftest import api_as, snapshot, token_for  # noqa: F401  (fixtures)
from tests.cli.test_cli import cli, files  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD


@pytest.fixture
def board(db: Database, people: dict[str, Actor]) -> dict[str, Actor]:
    """``people`` plus a cardiologist, a deactivated member and a reviewer who also writes."""
    out = dict(people)
    with db.transaction() as s:
        for _key, email, name, roles, specs in (
            ("cardio", "cardio@example.org", "Dr. Ada Heart", ("reviewer",), ["Cardiology"]),
            ("gone", "gone@example.org", "Dr. Gone", ("reviewer",), []),
            ("writer", "writer@example.org", "Dr. Writer", ("reviewer", "author"), []),
        ):
            users.add_user(s, email=email, name=name, roles=roles, password=PASSWORD,
                           credentials="MD", specialties=specs)
        users.set_active(s, users.get_by_email(s, "gone@example.org"), False)
    with db.transaction() as s:  # committed, not rolled back: the roles stay loaded
        for key, email in (("cardio", "cardio@example.org"), ("gone", "gone@example.org"),
                           ("writer", "writer@example.org")):
            out[key] = Actor(users.get_by_email(s, email))
    return out


@pytest.fixture
def set_policy(db: Database) -> Callable[..., int]:
    def setter(**changes: Any) -> int:
        with db.transaction() as s:
            return policy.set_policy(s, changed_by=None, changes=changes)

    return setter


def user(db: Database, email: str) -> Any:
    from sqlalchemy import select

    from review_flow.users.models import User

    with db.transaction() as s:
        return s.scalars(select(User).where(User.email == email).options(with_roles())).one()
