"""Password hashing with Argon2id (argon2-cffi).

The cost is deliberate. Tests and benchmarks may switch to cheaper parameters with
:func:`use_fast_hashing`; stored hashes carry their own parameters, so both verify.

Every check costs one full Argon2 verification, also when there is no hash to check
against (an unknown e-mail, a deactivated or password-less account, an empty password):
then a dummy hash made with the same parameters is verified and the answer is "no". An
early return would answer unknown e-mails ~15 times faster and tell a guesser which
addresses have accounts.
"""

from __future__ import annotations

import secrets
from contextlib import suppress

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# (hasher, a hash of a random secret made by it): rebuilt when the hasher changes, so the
# dummy check always costs what a real one does.
_dummy: tuple[PasswordHasher, str] | None = None

MIN_PASSWORD_LENGTH = 8


def use_fast_hashing() -> None:
    """Cheap Argon2 parameters: for test suites and benchmarks only."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(24)))
    return _dummy[1]


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always at the price of one Argon2 verification."""
    if not stored_hash or not password:
        with suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password or "-")
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
