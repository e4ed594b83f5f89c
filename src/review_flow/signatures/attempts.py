"""Slowing down guessing of a signer's password: failed signature attempts, per person.

A signature asks for the password again, so an open (or stolen) session must not turn the
signature step into a way to try passwords. Each wrong password leaves one row here; five
within 15 minutes lock that person's signing for 15 minutes after the fifth. A signature
made with the right password forgets earlier failures (as a sign-in does).

Every refused attempt is also an audit event (``signature.failed``). The action it came
with is refused and rolls back, so the service only describes the attempt
(:class:`FailedSignature`, carried on the error) and the entry point writes it in a
transaction of its own after the rollback (:func:`record_refused`): the security record
commits, nothing else does. Times come in as arguments, so the rules are testable without
waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.db import Base, Database
from review_flow.timeutil import UTCDateTime


class SignatureFailure(Base):
    """One wrong password given at a signature step."""

    __tablename__ = "signature_failures"
    __table_args__ = (Index("ix_signature_failures_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class SignatureThrottle:
    """How many wrong passwords within ``window`` lock a person's signing, and how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


DEFAULT_THROTTLE = SignatureThrottle()


@dataclass(frozen=True)
class RecentFailures:
    """A person's latest failures (newest first, at most ``max_failures``)."""

    times: tuple[datetime, ...]
    policy: SignatureThrottle

    def locked_until(self, now: datetime) -> datetime | None:
        """The end of the lock in force at ``now``, or None."""
        if len(self.times) < self.policy.max_failures:
            return None
        newest, oldest = self.times[0], self.times[-1]
        if newest - oldest > self.policy.window:
            return None
        until = newest + self.policy.lock_for
        return until if until > now else None

    def lock_after_failure(self, now: datetime) -> datetime | None:
        """The lock that one more failure at ``now`` would set, or None."""
        keep = self.policy.max_failures - 1
        return RecentFailures((now, *self.times[:keep]), self.policy).locked_until(now)


def recent_failures(session: Session, user_id: int, now: datetime,
                    policy: SignatureThrottle = DEFAULT_THROTTLE) -> RecentFailures:
    """One indexed query: the failures that can still matter at ``now``."""
    since = now - policy.window - policy.lock_for
    times = session.scalars(
        select(SignatureFailure.at)
        .where(SignatureFailure.user_id == user_id, SignatureFailure.at > since)
        .order_by(SignatureFailure.at.desc())
        .limit(policy.max_failures)
    ).all()
    return RecentFailures(tuple(times), policy)


def forget(session: Session, user_id: int) -> None:
    """A signature made with the right password clears the person's failures."""
    session.execute(delete(SignatureFailure).where(SignatureFailure.user_id == user_id))


@dataclass(frozen=True)
class FailedSignature:
    """A refused signature attempt, described by the service while it still knows who,
    what and where; written by :func:`record` once the refused action has rolled back."""

    user_id: int
    actor_name: str
    article_id: int
    action: str
    revision: int
    content_hash: str
    # "wrong_password", "locked_now" (a wrong password that set the lock) or "locked"
    # (refused without checking the password while the lock holds).
    reason: str
    at: datetime
    context: RequestContext
    locked_until: datetime | None = None


def record(session: Session, failed: FailedSignature) -> None:
    """The failure row (for a wrong password) and the ``signature.failed`` audit event."""
    if failed.reason != "locked":
        session.add(SignatureFailure(user_id=failed.user_id, at=failed.at))
        # Rows older than a day can never matter again.
        session.execute(delete(SignatureFailure).where(
            SignatureFailure.user_id == failed.user_id,
            SignatureFailure.at < failed.at - timedelta(days=1)))
    data: dict[str, str] = {"action": failed.action, "reason": failed.reason}
    if failed.locked_until is not None:
        data["locked_until"] = failed.locked_until.isoformat()
    audit.record(
        session,
        actor_id=failed.user_id,
        actor_name=failed.actor_name,
        action="signature.failed",
        object_type="article",
        object_id=failed.article_id,
        article_id=failed.article_id,
        revision=failed.revision,
        content_hash=failed.content_hash,
        context=failed.context,
        data=data,
    )


def record_refused(db: Database, exc: BaseException) -> None:
    """After the refused action rolled back: commit the attempt it describes, if any."""
    failed = getattr(exc, "failed_signature", None)
    if isinstance(failed, FailedSignature):
        with db.transaction() as session:
            record(session, failed)
