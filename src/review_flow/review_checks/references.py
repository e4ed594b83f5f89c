"""Reference checks: a reviewer marks each reference of the revision under review
"verified" or a "problem" (with a note saying what is wrong).

A check names the reference by its own content hash, not only by its number, so it
carries to a new revision exactly where that reference did not change (same title,
DOI, PMID and URL), wherever it now sits in the list; an edited reference is unchecked
again. Each check is a new row: the reviewer's newest row for a reference is their
verdict, the older ones stay as history.

Approval (``approval_problems``): every reference must be checked by the approving
reviewer when the policy asks for it (``references_verified``), and no reference may
stand marked as a problem by *anyone* on the board: a medical board does not publish
over a colleague's open objection. The reviewer who raised it clears it by checking
the reference again, or the author changes the reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.loading import load_article
from review_flow.articles.models import Revision
from review_flow.articles.reference_lint import reference_label
from review_flow.audit import log as audit
from review_flow.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from review_flow.review_checks.models import CHECK_STATUSES, ReferenceCheck
from review_flow.rounds import opening
from review_flow.timeutil import utcnow
from review_flow.users.models import User
from review_flow.users.roles import Role
from review_flow.workflow import permissions

MAX_NOTE = 2000
# Checking happens while an article waits for or is in review.
CHECKABLE_STATES = ("submitted", "under_review")


def reference_hash(reference: Mapping[str, Any]) -> str:
    """SHA-256 over the reference's compact, key-sorted JSON (as the content hash)."""
    text = json.dumps(dict(reference), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Check:
    """One reviewer's standing verdict on a reference as it now reads."""

    reviewer_id: int
    reviewer_name: str
    status: str
    note: str | None
    checked_at: Any
    revision_number: int
    # The revision the check was made on, when it is an earlier one (carried over).
    carried_from: int | None


@dataclass
class ReferenceState:
    number: int
    reference: Mapping[str, Any]
    hash: str
    checks: list[Check] = field(default_factory=list)

    @property
    def label(self) -> str:
        return reference_label(self.number, self.reference)

    def by(self, reviewer_id: int) -> Check | None:
        return next((c for c in self.checks if c.reviewer_id == reviewer_id), None)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == "problem"]


_CHECKS = (
    select(ReferenceCheck.reviewer_id, ReferenceCheck.reference_hash, ReferenceCheck.status,
           ReferenceCheck.note, ReferenceCheck.checked_at, Revision.number, User.name)
    .join(Revision, Revision.id == ReferenceCheck.revision_id)
    .join(User, User.id == ReferenceCheck.reviewer_id)
)


def states_for(session: Session, revision: Revision) -> list[ReferenceState]:
    """Each reference of ``revision`` with every reviewer's standing check on it (one
    query, by the article and the references' hashes)."""
    states = [ReferenceState(n, ref, reference_hash(ref))
              for n, ref in enumerate(revision.references, 1)]
    if not states:
        return states
    hashes = sorted({s.hash for s in states})
    rows = session.execute(
        _CHECKS.where(ReferenceCheck.article_id == revision.article_id,
                      ReferenceCheck.reference_hash.in_(hashes))
        .order_by(ReferenceCheck.id.desc())
    )
    newest: dict[tuple[int, str], Check] = {}
    for r in rows:
        key = (r.reviewer_id, r.reference_hash)
        if key not in newest:
            newest[key] = Check(r.reviewer_id, r.name, r.status, r.note, r.checked_at,
                                r.number, r.number if r.number != revision.number else None)
    for s in states:
        s.checks = sorted((c for (_, h), c in newest.items() if h == s.hash),
                          key=lambda c: c.reviewer_name)
    return states


@dataclass(frozen=True)
class ApprovalProblems:
    unchecked: list[str]
    problems: list[str]

    def __bool__(self) -> bool:
        return bool(self.unchecked or self.problems)


def approval_problems(
    states: Sequence[ReferenceState], reviewer_id: int, *, require_checked: bool
) -> ApprovalProblems:
    """What stands between ``reviewer_id``'s approval and the references, in words."""
    unchecked = [f"{s.label} is not checked yet" for s in states
                 if require_checked and s.by(reviewer_id) is None]
    problems = [f"{s.label} is marked as a problem by {c.reviewer_name}: “{c.note}”"
                for s in states for c in s.problems]
    return ApprovalProblems(unchecked, problems)


def parse(status: Any, note: Any) -> tuple[str, str | None]:
    """A check's status and note, or ValidationFailed naming what is wrong."""
    if status not in CHECK_STATUSES:
        raise ValidationFailed(
            "Reference check: choose “verified” or “problem”.",
            code="invalid_reference_check", fields={"status": "verified or problem"})
    if note is not None and not isinstance(note, str):
        raise ValidationFailed("Reference check: the note must be text.",
                               code="invalid_reference_check", fields={"note": "must be text"})
    text = (note or "").strip()
    if "\x00" in text:
        raise ValidationFailed("Reference check: the note must not contain NUL characters.",
                               code="invalid_reference_check", fields={"note": "contains NUL"})
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"Reference check: the note has at most {MAX_NOTE} characters.",
                               code="invalid_reference_check", fields={"note": "too long"})
    if status == "problem" and not text:
        raise ValidationFailed(
            "Reference check: say what the problem is in the note (readers of the review "
            "and the author need it).", code="invalid_reference_check",
            fields={"note": "required for a problem"})
    return status, text or None


def may_check(actor: AnyActor, *, article_author_id: int, wrote_revision: bool) -> None:
    """Reviewers check references, never on an article they wrote or edited."""
    if actor.is_system:
        raise permissions.system_refusal("Checking references")
    if not actor.has_role(Role.REVIEWER):
        raise PermissionDenied("Checking references requires the reviewer role.",
                               code="role_required", role="reviewer")
    if wrote_revision or actor.id == article_author_id:
        raise PermissionDenied(
            "Separation of duties: you wrote or edited this article, so you may not check "
            "its references.", code="separation_of_duties", rule="separation_of_duties")


def record_check(
    session: Session,
    actor: AnyActor,
    article_id: int,
    number: Any,
    status: Any,
    note: Any = None,
    *,
    expected_content_hash: str | None = None,
) -> ReferenceCheck:
    """Record one reviewer's check of reference ``number`` (from 1) of the current
    revision, with its audit event. Raises a named error and writes nothing on refusal."""
    status, text = parse(status, note)
    loaded = load_article(session, article_id, actor, lock=False)
    article = loaded.article
    may_check(actor, article_author_id=article.author_id, wrote_revision=loaded.wrote_revision)
    revision = article.current_revision
    assert revision is not None
    if article.state not in CHECKABLE_STATES:
        raise InvalidTransition(
            f"References are checked while an article is submitted or under review; "
            f"article {article.id} is {article.state.replace('_', ' ')}.",
            code="not_in_review", state=article.state)
    if expected_content_hash is not None and expected_content_hash != revision.content_hash:
        raise Conflict(
            f"The text of article {article.id} changed since you opened it (now revision "
            f"{revision.number}); check the references of the new text.",
            code="content_changed", current_revision=revision.summary())
    count = len(revision.references)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
        raise ValidationFailed(
            f"Reference check: article {article.id} has no reference {number} (it has "
            f"{count}).", code="unknown_reference", fields={"reference": "no such reference"})
    reference = revision.references[number - 1]
    review = opening.open_round_of(session, article.id)
    now = utcnow()
    row = ReferenceCheck(
        article_id=article.id, revision_id=revision.id,
        round_id=review.id if review is not None else None, reviewer_id=actor.id,
        reference_number=number, reference_hash=reference_hash(reference), status=status,
        note=text, checked_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        action="reference.check",
        object_type="reference_check",
        object_id=row.id,
        article_id=article.id,
        revision=revision.number,
        content_hash=revision.content_hash,
        comment=text,
        policy_version=review.policy_version if review is not None else None,
        context=actor.context,
        data={"reference": number, "title": reference.get("title"), "status": status,
              "reference_hash": row.reference_hash,
              **({"round": review.number} if review is not None else {})},
        at=now,
    )
    return row
