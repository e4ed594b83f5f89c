"""What a workflow action does to its review round: the assignment rules before it
fires, the quorum it needs, and the records it leaves (claims, completed assignments,
the conflict declaration, the round opened or closed).

``prepare`` runs before the action changes anything and raises named errors (a declared
conflict of interest is left in ``RoundStep.refusal``, listed with the other problems); ``finish``
runs after the engine fired, in the same transaction. ``articles.actions`` calls both,
so the rules live here rather than in the article service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.models import Article
from review_flow.errors import PermissionDenied, ReviewFlowError
from review_flow.policy import service as policy_service
from review_flow.policy.models import PolicySettings
from review_flow.rounds import assignments, conflicts, opening
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.rounds.quorum import Quorum, evaluate, normalize_specialties
from review_flow.signatures.models import Decision
from review_flow.users.models import User
from review_flow.workflow import permissions
from review_flow.workflow.definition import Action

# Actions on a round that only its reviewers take (and, when the policy requires
# assignment, only an accepted assignee).
REVIEWER_ACTIONS = ("start_review", "request_changes", "approve", "reject")
DECISION_ACTIONS = ("request_changes", "approve", "reject")

# The round's approvals of its revision: the decisions made in it, and (for a round
# opened by the migration, before decisions named rounds) those signed since it opened.
_APPROVERS = (
    select(Decision.reviewer_id, User.specialties)
    .join(User, User.id == Decision.reviewer_id)
    .where(
        Decision.revision_id == bindparam("revision_id"),
        Decision.kind == "approve",
        or_(
            Decision.round_id == bindparam("round_id"),
            and_(Decision.round_id.is_(None), Decision.signed_at >= bindparam("opened_at")),
        ),
    )
)


def round_approvers(
    session: Session, review: ReviewRound, revision_id: int
) -> dict[int, frozenset[str]]:
    """Approver id → specialties, for the round's approvals of ``revision_id``."""
    rows = session.execute(
        _APPROVERS,
        {"revision_id": revision_id, "round_id": review.id, "opened_at": review.opened_at},
    )
    return {r.reviewer_id: normalize_specialties(r.specialties) for r in rows}


def quorum_of(
    policy: PolicySettings, approvers: dict[int, frozenset[str]]
) -> Quorum:
    return evaluate(
        approvers.values(),
        required_approvals=policy.required_approvals,
        required_specialties=policy.required_specialties,
    )


@dataclass
class RoundStep:
    """What ``prepare`` found, for the action and for ``finish``."""

    review: ReviewRound | None
    policy_version: int
    policy: PolicySettings
    places: list[Assignment] = field(default_factory=list)
    assignment: Assignment | None = None
    claim: bool = False
    accept: bool = False
    approved_by_actor: bool | None = None
    quorum: Quorum | None = None
    declared: conflicts.Declared | None = None
    # A refusal found here that the service lists with the action's other problems.
    refusal: ReviewFlowError | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _refuse_unassigned(action: Action, review: ReviewRound, assignment: Assignment | None) -> None:
    verb = action.label
    if assignment is not None and assignment.state == "invited":
        raise PermissionDenied(
            f"Accept your assignment to round {review.number} first, then "
            f"{verb.lower()}: this board's policy lets only an accepted assignee act on a "
            "review.",
            code="assignment_not_accepted", rule="require_assignment")
    raise PermissionDenied(
        f"You cannot {verb.lower()} here: this board's policy lets only an accepted assignee "
        f"act on a review, and you are not assigned to round {review.number} of this "
        "article.",
        code="assignment_required", rule="require_assignment")


def prepare(
    session: Session,
    actor: AnyActor,
    article: Article,
    action: Action,
    *,
    newest_policy_version: int,
    conflict: Any = None,
) -> RoundStep:
    """The round the action acts on, its policy, and the assignment rules. Raises a named
    error, having written nothing, when the actor may not act on this round."""
    review, places = (
        opening.open_round_with_places(session, article.id)
        if article.state in opening.REVIEW_STATES
        else (None, [])
    )
    version = review.policy_version if review is not None else newest_policy_version
    policy = policy_service.settings_for(session, version)
    step = RoundStep(review, version, policy, places=places)
    if review is None or action.name not in REVIEWER_ACTIONS:
        return step
    a = next((p for p in places if p.reviewer_id == actor.id), None)
    step.assignment = a
    acting_assignee = a is not None and a.state in ("accepted", "completed")
    if action.name == "start_review" and a is None:
        # Claiming: an unassigned member takes the round; never where assignment is
        # required (then only an accepted assignee acts on it).
        if policy.require_assignment:
            _refuse_unassigned(action, review, a)
        if not policy.allow_claiming:
            raise PermissionDenied(
                "Start review: this board's policy does not let reviewers claim articles; "
                "an editor assigns them.",
                code="claiming_not_allowed", rule="allow_claiming")
        step.claim = True
    elif action.name == "start_review" and a is not None and a.state == "invited":
        step.accept = True  # starting the review is accepting the invitation
    elif policy.require_assignment and not acting_assignee:
        _refuse_unassigned(action, review, a)
    if action.name == "approve":
        step.declared = conflicts.parse(conflict)
        step.refusal = conflicts.refusal(step.declared, policy)
        approvers = round_approvers(session, review, article.current_revision_id or 0)
        signer = permissions.person(actor, action.label)  # the system never approves
        step.approved_by_actor = signer.id in approvers
        approvers[signer.id] = normalize_specialties(signer.user.specialties)
        step.quorum = quorum_of(policy, approvers)
    return step


def policy_for(session: Session, article_id: int) -> PolicySettings:
    """The policy an action on the article runs under now: its open round's version,
    else the one in force (what the signature page asks for must match)."""
    review = opening.open_round_of(session, article_id)
    if review is not None:
        return policy_service.settings_for(session, review.policy_version)
    return policy_service.active_policy(session)[1]


def attested_conflict(step: RoundStep, attestations: dict[str, Any]) -> dict[str, Any]:
    """The ``conflict_of_interest`` check answered by the declaration, not by a bare flag."""
    out = dict(attestations)
    if step.declared is not None:
        out["conflict_of_interest"] = step.declared.text
    elif "conflict_of_interest" in out:
        out.pop("conflict_of_interest")
    return out


def finish(
    session: Session,
    step: RoundStep,
    actor: AnyActor,
    article: Article,
    action: str,
    from_state: str,
    to_state: str,
    now: datetime,
    *,
    newest_policy_version: int,
) -> dict[str, Any]:
    """Leave the round's records for an action that fired; returns what its audit event
    says about the round."""
    review = step.review
    data: dict[str, Any] = {}
    if review is not None:
        data["round"] = review.number
        a = step.assignment
        if step.claim:
            a = assignments.claim(session, permissions.person(actor, action), review, now)
            data["claimed"] = a.id
        elif step.accept and a is not None:
            a.state, a.responded_at, a.updated_at = "accepted", now, now
            data["accepted"] = a.id
        if action in DECISION_ACTIONS and a is not None and a.state == "accepted":
            a.state, a.updated_at = "completed", now
            data["completed"] = a.id
        if action == "approve" and step.declared is not None:
            conflicts.record(session, permissions.person(actor, action), review,
                             step.declared, now)
        left = from_state in opening.REVIEW_STATES and to_state not in opening.REVIEW_STATES
        if left:
            opening.close_round(
                session, review, opening.OUTCOME_OF_ACTION[action], now, step.places
            )
            data["round_closed"] = review.outcome
    if to_state == "submitted" and from_state != "submitted":
        data["round"] = opening.open_round(
            session, article.id, article.current_revision_id, newest_policy_version, now
        )
        data["round_opened"] = True
    session.flush()
    return data


def _approved_already(
    session: Session, actor: AnyActor, article: Article, review: ReviewRound | None
) -> bool:
    """Whether ``actor`` approved the current revision in the open round (in any round
    when there is none, as the engine then judges): what ``prepare`` decides for the
    engine, so the Approve button agrees with the service."""
    revision_id = article.current_revision_id
    if revision_id is None:
        return False
    if review is None:
        return actor.id in set(session.scalars(
            select(Decision.reviewer_id).where(
                Decision.revision_id == revision_id, Decision.kind == "approve")))
    return actor.id in round_approvers(session, review, revision_id)


def offered(
    session: Session, actor: AnyActor, article: Article, actions: list[str],
    *, approved_revision: bool | None = None,
) -> list[str]:
    """``actions`` less the reviewer actions the round's rules would refuse (what the UI
    offers as buttons): Approve to whoever approved in this round already, and what the
    assignment rules forbid. Asks the database only for a reviewer's actions on an
    article in review; ``approved_revision=False`` (no approval of the revision in any
    round) spares the approvals query."""
    if article.state not in opening.REVIEW_STATES or not any(
        a in REVIEWER_ACTIONS for a in actions
    ):
        return actions
    review, places = opening.open_round_with_places(session, article.id)
    if (
        "approve" in actions
        and approved_revision is not False
        and _approved_already(session, actor, article, review)
    ):
        actions = [a for a in actions if a != "approve"]
    if review is None:
        return actions
    policy = policy_service.settings_for(session, review.policy_version)
    if policy.allow_claiming and not policy.require_assignment:
        return actions
    a = next((p for p in places if p.reviewer_id == actor.id), None)
    acting_assignee = a is not None and a.state in ("accepted", "completed")
    out = []
    for name in actions:
        if name == "start_review":
            if a is None and (policy.require_assignment or not policy.allow_claiming):
                continue
        elif name in REVIEWER_ACTIONS and policy.require_assignment and not acting_assignee:
            continue
        out.append(name)
    return out
