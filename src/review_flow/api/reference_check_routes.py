"""``/api/v1/articles/{id}/reference-checks`` and ``…/references/{n}/check``: the
references of the current revision with every reviewer's standing check and the lint,
and a reviewer's check of one reference. Thin: the rules are ``review_checks/``'s.

The shapes live here rather than in ``schemas.py``: they belong to this resource only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api import idempotency
from review_flow.api.article_routes import _visible_article
from review_flow.api.blueprint import INT_ID, bp, read, responses, spec, write
from review_flow.api.schemas import NOT_BLANK, Text, _In
from review_flow.articles.models import Revision
from review_flow.articles.reference_lint import KINDS, lint
from review_flow.review_checks import references
from review_flow.review_checks.models import ReferenceCheck
from review_flow.timeutil import isoformat

CONTENT_HASH = r"^sha256:[0-9a-f]{64}$"


class VerifiedCheck(_In):
    """The reference is right and supports what the text says (a note is optional).
    ``content_hash``: the revision you read; if the text changed since, 409
    ``content_changed``."""

    status: Literal["verified"]
    note: Annotated[Text, Field(max_length=references.MAX_NOTE)] | None = None
    content_hash: Annotated[str, Field(pattern=CONTENT_HASH)] | None = None


class ProblemCheck(_In):
    """The reference has a problem: the note says what is wrong."""

    status: Literal["problem"]
    # Not ``Text``: its own pattern (no NUL) would be the one the document shows.
    note: str = Field(min_length=1, max_length=references.MAX_NOTE, pattern=NOT_BLANK,
                      strict=True)
    content_hash: Annotated[str, Field(pattern=CONTENT_HASH)] | None = None


class ReferenceCheckCreate(RootModel[Annotated[VerifiedCheck | ProblemCheck,
                                               Field(discriminator="status")]]):
    """Mark the reference verified, or a problem with a note saying what is wrong."""


class CheckingReviewer(BaseModel):
    id: int
    name: str


class ReferenceCheckOut(BaseModel):
    reviewer: CheckingReviewer
    status: Literal["verified", "problem"]
    note: str | None
    checked_at: str
    revision: int = Field(description="The revision it was made on: an earlier one when "
                          "the reference is unchanged since (carried over).")


class CheckedReference(BaseModel):
    number: int
    title: str
    reference_hash: str
    checks: list[ReferenceCheckOut]


class ReferenceLintIssue(BaseModel):
    kind: Literal[KINDS]  # type: ignore[valid-type]
    number: int
    message: str


class ReferenceChecksOut(BaseModel):
    revision: int
    content_hash: str
    references: list[CheckedReference]
    lint: list[ReferenceLintIssue]


def _when(value: datetime) -> str:
    return isoformat(value) or ""


@bp.get(f"/articles/<{INT_ID}:article_id>/reference-checks")
@spec.validate(resp=responses(HTTP_200=ReferenceChecksOut), tags=["references"])
def reference_checks(article_id: int) -> Any:
    """The current revision's references, each with every reviewer's standing check,
    and the reference lint (never-cited references, markers citing nothing, malformed
    DOI/PMID/URL; format checks only)."""

    def work(session: Session, actor: Actor) -> Any:
        article = _visible_article(session, actor, article_id)
        rev = article.current_revision
        assert rev is not None
        return {
            "revision": rev.number,
            "content_hash": rev.content_hash,
            "references": [
                {"number": st.number, "title": st.reference.get("title", ""),
                 "reference_hash": st.hash,
                 "checks": [{"reviewer": {"id": c.reviewer_id, "name": c.reviewer_name},
                             "status": c.status, "note": c.note,
                             "checked_at": _when(c.checked_at),
                             "revision": c.revision_number} for c in st.checks]}
                for st in references.states_for(session, rev)
            ],
            "lint": [i.as_json() for i in lint(rev.body, rev.references)],
        }

    return read(work)


class CheckRecorded(BaseModel):
    id: int
    reference: int
    revision: int
    status: Literal["verified", "problem"]
    note: str | None
    reference_hash: str
    checked_at: str


def _recorded(row: ReferenceCheck, revision: int) -> dict[str, Any]:
    return {"id": row.id, "reference": row.reference_number, "revision": revision,
            "status": row.status, "note": row.note, "reference_hash": row.reference_hash,
            "checked_at": _when(row.checked_at)}


@bp.post(f"/articles/<{INT_ID}:article_id>/references/<{INT_ID}:number>/check")
@spec.validate(json=ReferenceCheckCreate, resp=responses(HTTP_201=CheckRecorded),
               tags=["references"])
def check_reference(article_id: int, number: int, json: ReferenceCheckCreate) -> Any:
    """A reviewer marks reference ``number`` (from 1) of the current revision verified or
    a problem. A later check by the same reviewer replaces it; it carries to a new
    revision only while the reference is unchanged. Refused to authors of the article
    (``separation_of_duties``) and to anyone without the reviewer role."""
    body = json.root

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _visible_article(session, actor, article_id)
        row = references.record_check(session, actor, article_id, number, body.status,
                                      body.note, expected_content_hash=body.content_hash)
        rev = session.get(Revision, row.revision_id)
        assert rev is not None
        return idempotency.Stored(201, _recorded(row, rev.number), {})

    return write(work, idempotent=True)
