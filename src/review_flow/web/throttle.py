"""Slowing down password guessing: failed sign-ins lock an e-mail (and an address) for a while.

State lives in the database, not in process memory, so every gunicorn worker and every
app server behind the load balancer sees the same counts. Keys are the lower-cased
e-mail (whether or not such a user exists, so a lock reveals nothing) and the client
address (so one machine cannot spray many e-mails). Times come in as arguments: the
rules are testable without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime


class SignInThrottle(Base):
    """Failed sign-ins per key within the current window, and a lock when too many."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures within ``window`` lock a key, and for how long."""

    max_failures_per_email: int = 5
    max_failures_per_address: int = 30
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    def limit_for(self, key: str) -> int:
        return self.max_failures_per_email if key.startswith("email:") else (
            self.max_failures_per_address
        )


def keys_for(email_key: str, client_addr: str | None) -> list[str]:
    keys = [f"email:{email_key[:380]}"]
    if client_addr:
        keys.append(f"addr:{client_addr[:380]}")
    return keys


def locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    """The latest lock still in force on any of ``keys``, or None."""
    until = session.scalars(
        select(SignInThrottle.locked_until).where(
            SignInThrottle.key.in_(keys), SignInThrottle.locked_until > now
        )
    ).all()
    return max(u for u in until if u is not None) if until else None


def _insert_missing(session: Session, key: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SignInThrottle).values(key=key, failures=0, window_started_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def record_failure(session: Session, keys: list[str], now: datetime,
                   policy: ThrottlePolicy) -> datetime | None:
    """Count one failure on each key; returns the lock time if this failure set one.

    Row-locked read-modify-write (after an insert that tolerates a concurrent insert), so
    two workers counting at once cannot lose a failure.
    """
    lock: datetime | None = None
    for key in sorted(keys):  # a fixed order: two requests never lock rows crosswise
        _insert_missing(session, key, now)
        row = session.execute(
            select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        if now - row.window_started_at > policy.window:
            row.failures = 0
            row.window_started_at = now
        row.failures += 1
        if row.failures >= policy.limit_for(key):
            row.locked_until = now + policy.lock_for
            row.failures = 0
            row.window_started_at = now
            lock = max(lock, row.locked_until) if lock else row.locked_until
    session.flush()
    return lock


def clear(session: Session, key: str) -> None:
    """A successful sign-in forgets earlier failures for that e-mail."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
