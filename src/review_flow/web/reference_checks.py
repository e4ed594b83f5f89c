"""Reference checks and lint in the browser: the review page's "Reference checks" panel
(each reference's checks, the signer's own form), the lint authors see on the edit page,
the checklist on the signature step, and the checklist answers under each signature.

Thin: ``review_checks/`` decides; a refusal is shown as a message and nothing it tried
is committed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.models import Article, Revision
from review_flow.articles.reference_lint import LintIssue, lint
from review_flow.errors import Conflict, InvalidTransition, ValidationFailed
from review_flow.policy.models import PolicySettings
from review_flow.review_checks import checklist, references
from review_flow.review_checks.checklist import ANSWER_LABELS
from review_flow.rounds import opening
from review_flow.signatures.models import Decision
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import PlainForm

bp = Blueprint("refchecks", __name__)

STATUS_LABELS = {"verified": "Verified", "problem": "Problem"}


def lint_of(revision: Revision | None) -> list[LintIssue]:
    return lint(revision.body, revision.references) if revision is not None else []


def panel(session: Session, actor: AnyActor, article: Article, revision: Revision,
          allowed: Sequence[str]) -> dict[str, Any]:
    """What the review page's "Reference checks" panel shows. The check form is offered
    to whoever the workflow offers a reviewer's action (``allowed``, which already
    applies separation of duties); the service decides again on POST."""
    may = article.state in references.CHECKABLE_STATES and any(
        a in allowed for a in ("start_review", "approve", "request_changes", "reject"))
    return {
        "states": references.states_for(session, revision),
        "lint": lint_of(revision),
        "may_check": may,
        "me": actor.id,
        "labels": STATUS_LABELS,
    }


def checklists_for(session: Session,
                   signatures: Sequence[Decision]) -> dict[int, list[tuple[str, str]]]:
    """Decision id → its checklist answers as (item, answer in words), one query for
    the page's signatures."""
    found = checklist.answers_for(session, [d.id for d in signatures])
    return {k: [(a.item, ANSWER_LABELS.get(a.answer, a.answer)) for a in v]
            for k, v in found.items()}


def checklist_of_event(data: Any) -> list[tuple[str, str]]:
    """An approval event's checklist answers (its chained data) as (item, answer in
    words); nothing for any other event."""
    rows = data.get("checklist") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return []
    return [(str(r.get("item")), ANSWER_LABELS.get(str(r.get("answer")), str(r.get("answer"))))
            for r in rows if isinstance(r, dict)]


def answers_from_form(form: Mapping[str, str], items: Sequence[str]) -> dict[str, str]:
    """The signature step's checklist radios (``checklist-1`` …) as item → answer; an item
    left unanswered is left out (the service names it)."""
    out = {}
    for n, item in enumerate(items, 1):
        value = form.get(f"checklist-{n}")
        if value:
            out[item] = value
    return out


@bp.post("/review/<id:article_id>/references/<int:number>/check")
def check(article_id: int, number: int) -> ResponseReturnValue:
    PlainForm()  # the CSRF token is checked for every POST by CSRFProtect
    back = url_for("review.article", article_id=article_id) + f"#ref-check-{number}"
    status = request.form.get("status")
    try:
        references.record_check(
            db_session(), current_actor(), article_id, number, status,
            request.form.get("note"),
            expected_content_hash=request.form.get("content_hash") or None)
    except (ValidationFailed, Conflict, InvalidTransition) as exc:
        abandon()
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(f"Reference {number}: marked {STATUS_LABELS.get(status or '', status)}.", "success")
    return redirect(back, 303)



ANSWER_CHOICES = tuple(ANSWER_LABELS.items())


def sign_context(session: Session, actor: AnyActor, article: Article, policy: PolicySettings,
                 form: Mapping[str, str]) -> dict[str, Any]:
    """The approval's signature step: the round's checklist (answers kept when the page
    is shown again after a refusal) and what the references still need, said before the
    password is typed."""
    revision = article.current_revision
    assert revision is not None
    states = references.states_for(session, revision)
    standing = references.approval_problems(
        states, actor.id or 0, require_checked="references_verified" in policy.review_checks)
    round_ = opening.open_round_of(session, article.id)
    return {
        "items": policy.checklist,
        "policy_version": round_.policy_version if round_ is not None else None,
        "answers": answers_from_form(form, policy.checklist),
        "answer_choices": ANSWER_CHOICES,
        "ref_problems": standing.unchecked + standing.problems,
    }
