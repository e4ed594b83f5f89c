"""Sign-in costs one full Argon2 verification whether or not the e-mail has an account,
so answer times do not tell a guesser which addresses exist. Counted, not timed: a
real hasher that counts its verifications, with the parameters each one used."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select

from review_flow.users import passwords
from review_flow.users.models import User
from tests.conftest import PASSWORD


class CountingHasher(PasswordHasher):
    """A real Argon2 hasher that remembers the parameters of every hash it verifies."""

    def __init__(self, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=256, parallelism=1)
        self.verified: list[Any] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", counting)
    monkeypatch.setattr(passwords, "_dummy", None)  # restored afterwards with the hasher
    return counting


def test_every_failed_sign_in_costs_one_verification_at_full_parameters(
        browser: Any, db: Any, people: Any, hasher: CountingHasher) -> None:
    with db.transaction() as s:  # hashed again by the counting hasher: same parameters
        for email in ("author@example.org", "editor@example.org"):
            user = s.scalar(select(User).where(User.email_key == email))
            assert user is not None
            user.password_hash = passwords.hash_password(PASSWORD)
            if email == "editor@example.org":
                user.active = False
        reviewer = s.scalar(select(User).where(User.email_key == "reed@example.org"))
        assert reviewer is not None
        reviewer.password_hash = None  # an account that has no password (a pipeline)
    attempts = {
        "unknown e-mail": ("nobody@example.org", "whatever-password"),
        "wrong password": ("author@example.org", "wrong-password"),
        "deactivated": ("editor@example.org", PASSWORD),
        "no password set": ("reed@example.org", PASSWORD),
    }
    reference = extract_parameters(passwords.hash_password("reference"))
    for label, (email, password) in attempts.items():
        hasher.verified.clear()
        assert browser.sign_in(email, password).status_code == 401, label
        assert len(hasher.verified) == 1, label
        assert hasher.verified == [reference], label  # one check, at full parameters
    hasher.verified.clear()
    assert browser.sign_in("author@example.org", PASSWORD).status_code == 303
    assert len(hasher.verified) == 1


def test_the_dummy_check_follows_a_change_of_hasher(hasher: CountingHasher) -> None:
    assert passwords.verify_password(None, "anything-at-all") is False
    assert passwords.verify_password("", "") is False
    stronger = CountingHasher(time_cost=2)  # what a deployment raising the cost would do
    passwords._hasher = stronger  # the monkeypatch fixture restores the original
    assert passwords.verify_password(None, "anything-at-all") is False
    [params] = stronger.verified
    assert params.time_cost == 2
