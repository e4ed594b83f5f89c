"""Signing: the signer's password check (throttled) and the signature's decision record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.models import Revision
from review_flow.errors import SignatureLocked, SignatureRefused
from review_flow.policy.models import PolicySettings
from review_flow.signatures import attempts, credentials
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow
from review_flow.users.passwords import verify_password


def _wait_text(delta: timedelta) -> str:
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def check_signer_credentials(actor: Actor, policy: PolicySettings) -> None:
    """Refuse a signer whose credentials' verification lapsed (or, when the policy asks
    for it, was never made): ``signatures/credentials.py``. Checked before the password,
    which it does not count against."""
    refusal = credentials.signing_refusal(actor.user, policy, utcnow().date())
    if refusal is not None:
        raise refusal


def check_signer_password(session: Session, actor: Actor, action: str, article_id: int,
                           revision: Revision, password: str | None) -> None:
    """The signer's password, throttled per person (``signatures/attempts.py``). A refusal
    carries the attempt for the entry point to record after rolling back."""
    now = utcnow()
    recent = attempts.recent_failures(session, actor.id, now)

    def refused(exc: SignatureRefused, reason: str, until: datetime | None) -> SignatureRefused:
        exc.failed_signature = attempts.FailedSignature(
            user_id=actor.id, actor_name=actor.user.name, article_id=article_id, action=action,
            revision=revision.number, content_hash=revision.content_hash, reason=reason,
            at=now, context=actor.context, locked_until=until)
        return exc

    until = recent.locked_until(now)
    if until is not None:
        raise refused(SignatureLocked(
            f"Signature refused: too many failed signature attempts; try again in "
            f"{_wait_text(until - now)}.", locked_until=until.isoformat()), "locked", until)
    if verify_password(actor.user.password_hash, password or ""):
        if recent.times:
            attempts.forget(session, actor.id)
        return
    lock = recent.lock_after_failure(now)
    if lock is not None:
        raise refused(SignatureLocked(
            f"Signature refused: the password is not correct. Too many failed signature "
            f"attempts; try again in {_wait_text(lock - now)}.", locked_until=lock.isoformat()),
            "locked_now", lock)
    raise refused(SignatureRefused("Signature refused: the password is not correct.",
                                   code="wrong_password"), "wrong_password", None)


def record_decision(
    session: Session,
    actor: Actor,
    *,
    article_id: int,
    revision: Revision,
    action: str,
    meaning: str,
    comment: str | None,
    attestations: dict[str, Any] | None,
    policy_version: int,
    at: datetime,
    round_id: int | None = None,
    conflict: str | None = None,
) -> Decision:
    """The signature's record: who signed which text (by hash), meaning what, and when.
    Added to the session; the caller flushes (its id goes into the audit event)."""
    decision = Decision(
        article_id=article_id,
        revision_id=revision.id,
        revision_number=revision.number,
        content_hash=revision.content_hash,
        reviewer_id=actor.id,
        kind=action,
        printed_name=actor.user.name,
        credentials=actor.user.credentials,
        meaning=meaning,
        signed_at=at,
        comment=comment,
        attestations=attestations,
        policy_version=policy_version,
        round_id=round_id,
        conflict=conflict,
    )
    session.add(decision)
    return decision


def signature_data(decision: Decision) -> dict[str, Any]:
    """The signature as the audit event's data carries it (hash-chained with the event)."""
    return {
        "printed_name": decision.printed_name,
        "credentials": decision.credentials,
        "meaning": decision.meaning,
        "decision_id": decision.id,
        "attestations": decision.attestations,
        # Chain format 3: the round, and a disclosed conflict of interest.
        "round_id": decision.round_id,
        **({"conflict": decision.conflict} if decision.conflict else {}),
    }
