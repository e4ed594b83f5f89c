"""``/api/v1/articles/{id}/assignments``: editors assign board members to an article's
open review round, cancel them; the assigned member answers. Thin: parse, call the
service in ``rounds/assignments.py``, shape the answer.

The request and response shapes live here rather than in ``schemas.py``: they belong to
this resource only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api import idempotency
from review_flow.api.blueprint import INT_ID, bp, responses, spec, write
from review_flow.api.schemas import Text, _In
from review_flow.errors import NotFound
from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.rounds.reading import assignment_as_dict
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from review_flow.users.models import User


class AssignmentCreate(_In):
    """Invite a board member (by e-mail) to review the open round. ``review_due``
    overrides the policy's review period (the end of that UTC day)."""

    reviewer: Annotated[Text, Field(min_length=3, max_length=320)]
    review_due: date | None = None


class AcceptAnswer(_In):
    """Accept the assignment (a comment is optional)."""

    answer: Literal["accept"]
    comment: Annotated[Text, Field(max_length=assignments.MAX_REASON)] | None = None


class DeclineAnswer(_In):
    """Decline the assignment, saying why."""

    answer: Literal["decline"]
    comment: Annotated[Text, Field(min_length=1, max_length=assignments.MAX_REASON,
                                   pattern=r"[^\s\x1c-\x1f\x85]")]


class AssignmentAnswer(RootModel[Annotated[AcceptAnswer | DeclineAnswer,
                                           Field(discriminator="answer")]]):
    """The assigned member's answer: accept, or decline with a reason."""


class AssignmentCancel(_In):
    reason: Annotated[Text, Field(max_length=assignments.MAX_REASON)] | None = None


class AssignedPerson(BaseModel):
    id: int
    name: str
    email: str


class AssignmentOut(BaseModel):
    id: int
    reviewer: AssignedPerson
    state: Literal["invited", "accepted", "declined", "completed", "cancelled"]
    response_due: str
    review_due: str
    responded_at: str | None
    reason: str | None
    overdue: bool


def _reviewer(session: Session, email: str) -> User:
    try:
        return users.get_by_email(session, email)
    except NotFound:
        raise NotFound(f"Nobody has the e-mail address {email}; name the reviewer by the "
                       "address they sign in with.", code="unknown_reviewer",
                       fields={"reviewer": "unknown"}) from None


def _shape(session: Session, a: Assignment, status: int) -> idempotency.Stored:
    session.refresh(a, ["reviewer"])
    return idempotency.Stored(status, assignment_as_dict(a, utcnow()), {})


@bp.post(f"/articles/<{INT_ID}:article_id>/assignments")
@spec.validate(json=AssignmentCreate, resp=responses(HTTP_201=AssignmentOut),
               tags=["assignments"])
def create_assignment(article_id: int, json: AssignmentCreate) -> Any:
    """Assign a board member to the article's open review round (editors). Refused with
    a named error for a non-member, a deactivated member, one who wrote or edited the
    article, or one already assigned. Honours ``Idempotency-Key``."""
    body = json

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        reviewer = _reviewer(session, body.reviewer)
        a = assignments.assign(session, actor, article_id, reviewer, due=body.review_due)
        return _shape(session, a, 201)

    return write(work, idempotent=True)


@bp.post(f"/articles/<{INT_ID}:article_id>/assignments/<{INT_ID}:assignment_id>/response")
@spec.validate(json=AssignmentAnswer, resp=responses(HTTP_200=AssignmentOut),
               tags=["assignments"])
def answer_assignment(article_id: int, assignment_id: int, json: AssignmentAnswer) -> Any:
    """The assigned board member accepts, or declines with a reason."""
    body = json

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        given = body.root
        a = assignments.respond(session, actor, article_id, given.answer, comment=given.comment)
        if a.id != assignment_id:
            raise NotFound(
                f"Assignment {assignment_id} is not yours to answer on article {article_id}.",
                assignment_id=assignment_id)
        return _shape(session, a, 200)

    return write(work)


@bp.post(f"/articles/<{INT_ID}:article_id>/assignments/<{INT_ID}:assignment_id>/cancel")
@spec.validate(json=AssignmentCancel, resp=responses(HTTP_200=AssignmentOut),
               tags=["assignments"])
def cancel_assignment(article_id: int, assignment_id: int, json: AssignmentCancel) -> Any:
    """An editor cancels an invited or accepted assignment."""
    body = json

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        a = assignments.cancel(session, actor, assignment_id, reason=body.reason,
                               article_id=article_id)
        return _shape(session, a, 200)

    return write(work)
