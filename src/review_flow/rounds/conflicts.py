"""Conflict-of-interest declarations: "none", or a description of the conflict.

Each approving reviewer declares once per round; the row is the record behind the
``conflict_of_interest`` review check. A declared conflict refuses the approval unless
the round's policy says ``disclose``; then the signature carries the disclosure and the
public page shows it beside the reviewer's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.audit import log as audit
from review_flow.errors import GuardFailed, invalid
from review_flow.policy.models import PolicySettings
from review_flow.rounds.models import ConflictDeclaration, ReviewRound

MAX_CONFLICT = 2000
NONE = "none"


class Declared:
    """A parsed declaration: ``conflict`` is None for "none"."""

    __slots__ = ("conflict",)

    def __init__(self, conflict: str | None) -> None:
        self.conflict = conflict

    @property
    def text(self) -> str:
        return self.conflict or NONE


def parse(value: Any) -> Declared | None:
    """``None`` (not declared), or the declaration. Bad input is a named error."""
    if value is None or value is True or value is False:
        # ``True`` is the old bare attestation: it says a declaration was made, not which.
        return None
    if not isinstance(value, str):
        raise invalid("conflict", "must be text",
                      "Declare a conflict of interest as text: “none”, or a description.")
    text = value.strip()
    if not text:
        return None
    if "\x00" in text:
        raise invalid("conflict", "contains NUL",
                      "The conflict of interest contains a NUL character; remove it.")
    if len(text) > MAX_CONFLICT:
        raise invalid("conflict", "too long",
                      f"A conflict of interest is described in at most {MAX_CONFLICT} "
                      "characters.")
    return Declared(None if text.rstrip(".").lower() == NONE else text)


def refusal(declared: Declared | None, policy: PolicySettings) -> GuardFailed | None:
    """The refusal of an approval by a reviewer who declared a conflict, unless disclosed."""
    if declared is None or declared.conflict is None or policy.conflicts == "disclose":
        return None
    return GuardFailed(
        f"Approval refused: you declared a conflict of interest ({declared.conflict}); "
        "this board's policy does not let a reviewer with a conflict approve.",
        code="conflict_of_interest",
        conflict=declared.conflict,
    )


def record(
    session: Session, actor: Actor, review: ReviewRound, declared: Declared, now: datetime
) -> ConflictDeclaration:
    row = ConflictDeclaration(
        round_id=review.id,
        article_id=review.article_id,
        reviewer_id=actor.id,
        conflict=declared.conflict,
        declared_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="conflict.declare",
        object_type="conflict_declaration",
        object_id=row.id,
        article_id=review.article_id,
        comment=declared.conflict,
        policy_version=review.policy_version,
        context=actor.context,
        data={"round": review.number, "conflict": declared.text},
        at=now,
    )
    return row
