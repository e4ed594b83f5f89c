"""Password hashing with Argon2id (argon2-cffi).

The cost is deliberate. Tests and benchmarks may switch to cheaper parameters with
:func:`use_fast_hashing`; stored hashes carry their own parameters, so both verify.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def use_fast_hashing() -> None:
    """Cheap Argon2 parameters: for test suites and benchmarks only."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash or not password:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
