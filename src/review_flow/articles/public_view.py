"""What a reader sees on an article's public page, built in one place for the live page
(``web.read_models.public_article``) and for the page as it was at an instant
(``audit.as_of``), so the two cannot drift apart: each reads its own records (the tables
now, or the audit chain up to the instant) and hands them to ``build``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from review_flow.signatures import trust
from review_flow.workflow.definition import STEP_OF_STATE

QUEUE_STATES = ("submitted", "under_review")
PENDING_STATES = ("submitted", "under_review", "changes_requested")


@dataclass(frozen=True)
class Approval:
    """A "Medically reviewed by" line."""

    name: str
    credentials: str | None
    signed_at: datetime
    meaning: str
    # A conflict of interest the reviewer disclosed (policy ``conflicts: disclose``).
    conflict: str | None = None

    @property
    def signed_by(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


@dataclass(frozen=True)
class PublicArticle:
    """What a reader sees at ``/articles/<slug>``."""

    id: int
    slug: str
    state: str
    revision_id: int
    revision_number: int
    title: str
    body: str
    references: list[dict[str, Any]]
    content_hash: str
    generator: dict[str, Any] | None
    shown_at: datetime
    approved: bool
    step: str | None
    approvals: tuple[Approval, ...]
    retracted: bool
    retraction_reason: str | None
    retracted_at: datetime | None
    # When the approved text is next to be reviewed (shown once approved), and whether
    # that date has passed (the public notice) as of when the page was read.
    review_due: datetime | None = None
    review_overdue: bool = False
    # The text readers see is being reviewed again (re-review after its date, or an edit).
    in_review: bool = False
    # The text for healthcare professionals, when the shown revision has one.
    professional_body: str | None = None

    @property
    def banner(self) -> str:
        """Which banner readers see, in words (the page's own text)."""
        if self.retracted:
            return "This article has been retracted"
        if self.approved:
            return "Medically reviewed by " + "; ".join(a.signed_by for a in self.approvals)
        return "Educational purpose only • Exercise caution as content is pending human review"


def reviewed_by(
    article_id: int, revision: Any, decisions: Iterable[Any]
) -> tuple[tuple[Approval, ...], str | None]:
    """The approvals the page names for the shown ``revision`` (number, title, body,
    references, content_hash, professional_body), from its approval ``decisions`` in
    signing order: the last round's only (text approved again in a later round names that
    round's reviewers), and none, with the reason, when the record does not support them
    (``signatures/trust.py``): never state a review the record does not support."""
    rows = list(decisions)
    last_round = max((d.round_id for d in rows if d.round_id is not None), default=None)
    signatures = tuple(
        trust.Signature(
            d.id,
            d.reviewer_id,
            d.revision_number,
            d.content_hash,
            d.printed_name,
            d.credentials,
            d.meaning,
            d.signed_at,
            d.chained,
            d.conflict,
        )
        for d in rows
        if last_round is None or d.round_id == last_round
    )
    shown = (
        revision.number,
        revision.title,
        revision.body,
        revision.references,
        revision.content_hash,
        revision.professional_body,
    )
    problem = trust.review_problem(article_id, shown, signatures)
    if problem is not None:
        return (), problem
    return tuple(
        Approval(s.printed_name, s.credentials, s.signed_at, s.meaning, s.conflict)
        for s in signatures
    ), None


def build(
    *,
    article_id: int,
    slug: str,
    state: str,
    revision_id: int,
    revision: Any,
    approved: bool,
    approvals: tuple[Approval, ...],
    retracted: bool,
    retraction_reason: str | None,
    retracted_at: datetime | None,
    review_due: datetime | None,
    now: datetime,
) -> PublicArticle:
    """The page of the shown ``revision`` (a revision row or a row with its columns:
    number, title, body, references, content_hash, generator, created_at,
    professional_body), as read at ``now``."""
    due = review_due if approved else None
    return PublicArticle(
        id=article_id,
        slug=slug,
        state=state,
        revision_id=revision_id,
        revision_number=revision.number,
        title=revision.title,
        body=revision.body,
        references=revision.references,
        content_hash=revision.content_hash,
        generator=revision.generator,
        shown_at=revision.created_at,
        approved=approved,
        step="Approved"
        if approved
        else (None if retracted or state == "approved" else STEP_OF_STATE.get(state)),
        approvals=approvals,
        retracted=retracted,
        retraction_reason=retraction_reason if retracted else None,
        retracted_at=retracted_at if retracted else None,
        review_due=due,
        review_overdue=due is not None and due <= now,
        in_review=approved and state in QUEUE_STATES,
        professional_body=revision.professional_body,
    )
