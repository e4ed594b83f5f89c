"""Taking a workflow action on an article (submit, approve, withdraw, ...).

No Flask here. The function takes the caller's session and only flushes; the entry
point commits, so the change, its audit event and its notifications (domain events,
queued in the same transaction: e-mails before the audit event, webhooks, which carry
the event's seq, just before the commit) land together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.comments import clean_comment
from review_flow.articles.content import dangling_citations
from review_flow.articles.loading import check_version, load_article
from review_flow.articles.models import Article, Comment
from review_flow.articles.persisting import write_article
from review_flow.articles.queries import allowed_actions
from review_flow.audit import log as audit
from review_flow.audit.chain import DATA_FORMAT
from review_flow.audit.models import AuditEvent
from review_flow.domain_events import ActionAudited, ActionTaken, ArticleAsOf
from review_flow.errors import (
    Conflict,
    GuardFailed,
    InvalidTransition,
    ReviewFlowError,
    SignatureRefused,
    ValidationFailed,
)
from review_flow.notifications import webhooks
from review_flow.policy.calendar import add_months
from review_flow.policy.models import PolicySettings
from review_flow.review_checks import approval as approval_checks
from review_flow.rounds import acting as round_acting
from review_flow.signatures import signing
from review_flow.signatures.models import Decision
from review_flow.threads.blocking import open_blocking
from review_flow.timeutil import isoformat, utcnow
from review_flow.unit_of_work import dispatch_now, record
from review_flow.workflow import engine, permissions
from review_flow.workflow.definition import ACTIONS_BY_NAME, USER_ACTIONS, WORKFLOW_VERSION
from review_flow.workflow.refusals import Refusals

# An article's state in a sentence ("it is a draft"), for refusals people read.
STATE_WORDS = {
    "draft": "a draft",
    "submitted": "submitted and waiting for a reviewer",
    "under_review": "under review",
    "changes_requested": "back with its author for changes",
    "approved": "approved",
    "rejected": "rejected",
    "retracted": "retracted",
}


@dataclass
class ActionResult:
    article: Article
    action: str
    from_state: str
    to_state: str
    event: AuditEvent
    decision: Decision | None = None
    approvals: int = 0
    required_approvals: int = 0
    # What the round still needs before the article is approved ("1 more approval from
    # cardiology"); None when nothing is missing or the action is not an approval.
    still_missing: str | None = None
    webhook_generation: str | None = webhooks.GENERATION_UNKNOWN


def perform_action(
    session: Session,
    actor: AnyActor,
    article_id: int,
    action: str,
    *,
    comment: Any = None,
    password: str | None = None,
    expected_version: int | None = None,
    expected_content_hash: str | None = None,
    attestations: dict[str, Any] | None = None,
    conflict: Any = None,
    as_of: datetime | None = None,
    checklist: Any = None,
    due_by: datetime | None = None,
) -> ActionResult:
    """Take one workflow action. Raises a named error and writes nothing on refusal.

    ``as_of``: the time the guards judge by (``review-flow sweep --now``); the event is
    still recorded at the real time, with ``as_of`` in its data. ``checklist``: an
    approval's answers to the round's checklist (``review_checks/checklist.py``).
    ``due_by``: act only on an approved article due for review by then, else raise
    ``loading.NotDue`` having written nothing (the sweep's re-check, in the locked load)."""
    spec = ACTIONS_BY_NAME.get(action)
    if spec is None or spec.internal:
        raise ValidationFailed(
            f"Unknown action {action!r}; actions are: {', '.join(USER_ACTIONS)}.",
            code="unknown_action",
            fields={"action": "unknown"},
            actions=list(USER_ACTIONS),
        )
    comment = clean_comment(comment)
    loaded = load_article(session, article_id, actor, lock=True, due_by=due_by)
    article = loaded.article
    check_version(session, article, expected_version)
    state = article.state
    if not engine.can_fire(action, state):
        allowed = allowed_actions(
            session,
            actor,
            article,
            wrote_revision=loaded.wrote_revision,
            approved_by_actor=loaded.approved_by_actor,
        )
        labels = [ACTIONS_BY_NAME[a].label for a in allowed if a in ACTIONS_BY_NAME]
        raise InvalidTransition(
            f"You cannot {spec.label.lower()} article {article.id} now: it is "
            f"{STATE_WORDS.get(state, state)}. "
            + (f"What you can do now: {', '.join(labels)}." if labels
               else "There is nothing you can do to it now."),
            state=state,
            action=action,
            allowed_actions=allowed,
        )
    denied = permissions.refusal(
        spec, actor, article_author_id=article.author_id, wrote_revision=loaded.wrote_revision
    )
    if denied:
        raise denied
    # The round acted on, under the policy version it opened with (rounds/acting.py).
    step = round_acting.prepare(
        session, actor, article, spec, newest_policy_version=loaded.policy_version,
        conflict=conflict if conflict is not None else (attestations or {}).get(
            "conflict_of_interest"),
    )
    policy: PolicySettings = step.policy
    revision = article.current_revision
    assert revision is not None, "an article always has a current revision"

    # Every problem of the attempt is gathered and refused together (workflow/refusals.py),
    # in the order they were once raised one at a time.
    refusals = Refusals()
    refusals.add_error(step.refusal)
    if spec.needs_signature:
        signer = permissions.person(actor, spec.label)
        if actor.via_token:
            refusals.add_error(SignatureRefused(
                f"{spec.label} needs an electronic signature by a person; API tokens cannot sign.",
                code="token_cannot_sign",
            ))
        elif expected_content_hash is not None and expected_content_hash != revision.content_hash:
            # Not one problem among others: the signer must read the new text first.
            raise Conflict(
                f"The text of article {article.id} changed since you opened it "
                f"(now revision {revision.number}); review the new text before signing.",
                code="content_changed",
                current_revision=revision.summary(),
                expected_content_hash=expected_content_hash,
            )
        else:
            refusals.attempt(signing.check_signer_credentials, signer, policy)
            refusals.attempt(
                signing.check_signer_password, session, signer, action, article.id, revision,
                password)

    checks = None
    if action == "approve":
        # Answers naming an item the checklist lacks are one problem among the others.
        try:
            checks = approval_checks.prepare(session, actor.id or 0, revision, policy, checklist)
        except ReviewFlowError as exc:
            refusals.add_error(exc)
    now = utcnow()
    ctx = engine.TransitionContext(
        action=spec,
        title=revision.title,
        body=revision.body,
        reference_count=len(revision.references),
        # Both audience texts cite the one reference list.
        dangling_citations=dangling_citations(
            revision.body + "\n" + (revision.professional_body or ""), len(revision.references))
        if "citations_resolve" in spec.guards
        else [],
        comment=comment,
        already_approved_by_actor=loaded.approved_by_actor
        if step.approved_by_actor is None
        else step.approved_by_actor,
        approvals_after_this=loaded.approvals + (0 if loaded.approved_by_actor else 1),
        required_approvals=policy.required_approvals,
        quorum_reached=step.quorum.reached if step.quorum else None,
        required_checks=tuple(
            c for c in policy.review_checks if c in approval_checks.ATTESTED_CHECKS),
        attestations=round_acting.attested_conflict(step, attestations or {}),
        unchecked_references=checks.references.unchecked if checks else [],
        problem_references=checks.references.problems if checks else [],
        checklist_unanswered=checks.checklist.unanswered if checks else [],
        checklist_answered_no=checks.checklist.answered_no if checks else [],
        review_due=article.review_due,
        now=as_of or now,
        open_blocking_threads=open_blocking(session, article.id, revision)
        if "no_open_blocking_threads" in spec.guards
        else [],
    )
    refusals.extend(engine.problems_for(action, ctx))
    refusals.raise_if_any()
    if not engine.fire(article, action, ctx):  # pragma: no cover - the guards said yes above
        refusals.extend(ctx.problems)
        refusals.raise_if_any()
        raise GuardFailed("Refused.", code="guard_failed")
    to_state = article.state

    decision = None
    if spec.needs_signature:
        decision = signing.record_decision(
            session,
            signer,
            article_id=article.id,
            revision=revision,
            action=action,
            meaning=spec.signature_meaning or spec.label,
            comment=comment,
            attestations=checks.attestations(
                policy, ctx.attestations.get("conflict_of_interest"))
            if checks is not None and policy.review_checks
            else None,
            policy_version=step.policy_version,
            round_id=step.review.id if step.review else None,
            conflict=step.declared.conflict if step.declared else None,
            at=now,
        )
    if comment:
        session.add(
            Comment(
                article_id=article.id,
                revision_id=revision.id,
                author_id=actor.id,
                kind=action,
                body=comment,
                created_at=now,
            )
        )
    if to_state == "approved" and state != "approved":
        article.approved_revision_id = revision.id
        article.published_at = now  # readers now see this text: the home page lists it
        article.review_due = add_months(now, policy.rereview_months)
    if to_state == "retracted":
        article.published_at = None  # off the home page; its page shows the notice
    if to_state == "submitted":
        article.submitted_at = now
    article.version += 1
    article.updated_at = now
    write_article(session, article)  # one Core UPDATE with the version check (persisting.py)
    approvals = (
        step.quorum.approvals
        if step.quorum
        else loaded.approvals + (1 if action == "approve" else 0)
    )
    round_data = round_acting.finish(
        session, step, actor, article, action, state, to_state, now,
        newest_policy_version=loaded.policy_version,
    )
    if decision is not None:
        session.flush()  # the decision's id goes into the chained event; one UPDATE of the row
    checked = (
        approval_checks.record(session, checks, decision.id)
        if checks is not None and decision is not None
        else {}
    )
    taken = ActionTaken(
        actor=actor,
        article=ArticleAsOf.of(article),
        action=action,
        from_state=state,
        to_state=to_state,
        comment=comment,
        approvals=approvals,
        required_approvals=policy.required_approvals,
        at=now,
        webhook_generation=loaded.webhook_generation,
    )
    record(session, taken)
    # The e-mails are queued before the audit event: the event locks the chain's head
    # until the commit, and every other writer (the sweep's workers) waits for it.
    dispatch_now(session)
    event = audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        action=f"article.{action}",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        from_state=state,
        to_state=to_state,
        revision=revision.number,
        content_hash=revision.content_hash,
        comment=comment,
        workflow_version=WORKFLOW_VERSION,
        policy_version=step.policy_version,
        context=actor.context,
        data={
            "version": article.version,
            **round_data,
            **({"as_of": isoformat(as_of)} if as_of is not None else {}),
            **(
                {"approvals": approvals, "required_approvals": policy.required_approvals}
                if action == "approve"
                else {}
            ),
            **(
                {"format": DATA_FORMAT, "signature": signing.signature_data(decision)}
                if decision
                else {}
            ),
            **checked,
        },
        at=now,
    )
    result = ActionResult(
        article=article,
        action=action,
        from_state=state,
        to_state=to_state,
        event=event,
        decision=decision,
        approvals=approvals,
        required_approvals=policy.required_approvals,
        still_missing=step.quorum.still_missing() if step.quorum else None,
        webhook_generation=loaded.webhook_generation,
    )
    session.flush()
    record(session, ActionAudited(taken=taken, audit_seq=event.seq, at=event.at))
    return result
