"""Reviewers: the queue, the review page, workflow buttons, and the signature step.

Which buttons a person sees comes from ``articles.queries.allowed_actions``; whether an
action may happen is decided again by ``perform_action`` when the form is posted. A
signature signs the content hash of the revision that was on screen: the form carries
it, and the service refuses it if the text has changed since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.app import database
from review_flow.articles.actions import perform_action
from review_flow.articles.comments import add_comment
from review_flow.articles.models import Article, Revision
from review_flow.articles.queries import allowed_actions, get_article
from review_flow.articles.rendering import references_text, render_revision, word_diff
from review_flow.errors import (
    Conflict,
    GuardFailed,
    PermissionDenied,
    SignatureRefused,
    ValidationFailed,
)
from review_flow.policy import service as policy_service
from review_flow.rounds import acting as round_acting
from review_flow.signatures import attempts, credentials
from review_flow.timeutil import utcnow
from review_flow.web import access, keyset, read_models
from review_flow.web import reference_checks as refchecks
from review_flow.web.auth import safe_next
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import ActionForm, CommentForm, SignForm
from review_flow.web.rounds import round_panel
from review_flow.web.threads import panel as thread_panel
from review_flow.workflow import permissions
from review_flow.workflow.definition import ACTIONS_BY_NAME

bp = Blueprint("review", __name__)

SIGNED_ACTIONS = tuple(a.name for a in ACTIONS_BY_NAME.values() if a.needs_signature)

DONE_MESSAGES = {
    "submit": "Submitted for review.",
    "withdraw": "Withdrawn: the article is a draft again.",
    "start_review": "Review started. The article is now under review by you.",
    "request_changes": "Changes requested. The author has been asked to revise.",
    "retract": "Retracted: readers now see the retraction notice.",
    "reopen": "Reopened as a draft.",
    "request_rereview": "Re-review requested: the article is back in the review queue.",
}


QUEUE_PAGE = 50


@bp.get("/review")
def queue() -> ResponseReturnValue:
    state = request.args.get("state", "")
    states = (state,) if state in read_models.QUEUE_STATES else read_models.QUEUE_STATES
    after = keyset.decode(request.args.get("after"))
    per_page = QUEUE_PAGE
    session = db_session()
    rows = read_models.review_queue(session, states, limit=per_page + 1,
                                    after=(after.at, after.id) if after else None)
    more = rows[per_page - 1] if len(rows) > per_page else None
    now = utcnow()
    return render_template(
        "review/queue.html", rows=[(r, waited(r.submitted_at, now)) for r in rows[:per_page]],
        paged=after is not None,
        next_after=keyset.encode(more.submitted_at, more.id)
        if more and more.submitted_at else None,
        state=state if state in read_models.QUEUE_STATES else "",
        counts=read_models.queue_counts(session), review_base=url_for("review.queue"),
    )


def _diff_base(session: Any, article: Article, current: Revision) -> tuple[Revision | None, str]:
    """The last approved revision (if it is not the current one), else the previous one."""
    if article.approved_revision_id and article.approved_revision_id != current.id:
        base = session.get(Revision, article.approved_revision_id)
        return base, "the last approved revision"
    if current.number > 1:
        return read_models.revision_by_number(session, article.id, current.number - 1), (
            "the previous revision")
    return None, ""


def review_context(article: Article) -> dict[str, Any]:
    session = db_session()
    actor = current_actor()
    current = article.current_revision
    assert current is not None
    base, base_label = _diff_base(session, article, current)
    diff: dict[str, Any] | None = None
    if base is not None:
        title_html, title_stats = word_diff(base.title, current.title)
        body_html, body_stats = word_diff(base.body, current.body)
        refs_html, refs_stats = word_diff(references_text(base.references),
                                          references_text(current.references))
        # The text for healthcare professionals is signed too: diffed when either has one.
        pro_html, pro_stats = word_diff(base.professional_body or "",
                                        current.professional_body or "")
        diff = {
            "base": base, "label": base_label, "title": title_html, "body": body_html,
            "references": refs_html,
            "professional": pro_html if base.professional_body or current.professional_body
            else None,
            "changed": title_stats.changed or body_stats.changed or refs_stats.changed
            or pro_stats.changed,
            "inserted": title_stats.inserted + body_stats.inserted + refs_stats.inserted
            + pro_stats.inserted,
            "deleted": title_stats.deleted + body_stats.deleted + refs_stats.deleted
            + pro_stats.deleted,
        }
    _, policy = policy_service.active_policy(session)
    signatures = read_models.signatures_for(session, current.id)
    allowed = allowed_actions(session, actor, article)
    threads = thread_panel(session, actor, article,
                           return_to=url_for("review.article", article_id=article.id))
    # General comments follow the role rule, then the threads' participation rule (the
    # round's assignment); someone refused by the latter is told why instead of a form.
    by_role = permissions.may_comment(actor, article_author_id=article.author_id) is None
    return {
        "article": article,
        "rev": current,
        "rendered": render_revision(current.content_hash, current.body, current.references),
        "rendered_professional": render_revision(
            current.content_hash, current.professional_body, current.references,
            cite_prefix="pro-") if current.professional_body else None,
        "diff": diff,
        "comments": read_models.comments_for(session, article.id),
        "signatures": signatures,
        "checklists": refchecks.checklists_for(session, signatures),
        "refcheck": refchecks.panel(session, actor, article, current, allowed),
        "allowed": allowed,
        "may_comment": by_role and threads.may_take_part,
        "comment_refusal": threads.refusal if by_role else None,
        "comment_draft": None,
        "policy": policy,
        "action_form": ActionForm(formdata=None),
        "comment_form": CommentForm(formdata=None),
        "actions": ACTIONS_BY_NAME,
        "return_to": url_for("review.article", article_id=article.id),
        "round": round_panel(session, actor, article.id),
        "threads": threads,
    }


@bp.get("/review/<id:article_id>")
def article(article_id: int) -> ResponseReturnValue:
    art = get_article(db_session(), article_id)
    return render_template("review/article.html", **review_context(art))


def _return_to(form_value: str | None, article_id: int) -> str:
    default = (url_for("review.article", article_id=article_id) if access.can_review(current_user)
               else url_for("authoring.edit_article", article_id=article_id))
    return safe_next(form_value, default)


@bp.post("/articles/<id:article_id>/actions/<action>")
def act(article_id: int, action: str) -> ResponseReturnValue:
    """Workflow actions without a signature (submit, start review, request changes, ...)."""
    if action in SIGNED_ACTIONS:
        return redirect(url_for("review.sign", article_id=article_id, action=action), 303)
    form = ActionForm()
    back = _return_to(form.return_to.data, article_id)
    try:
        perform_action(db_session(), current_actor(), article_id, action,
                       comment=form.comment.data or None,
                       expected_version=form.expected_version.data)
    except (GuardFailed, ValidationFailed) as exc:
        abandon()
        for message in [p["message"] for p in exc.details.get("problems", ())] or [exc.message]:
            flash(message, "error")  # every problem at once, one message each
        return redirect(back, 303)
    flash(DONE_MESSAGES.get(action, "Done."), "success")
    return redirect(back, 303)


@bp.post("/articles/<id:article_id>/comments")
def comment(article_id: int) -> ResponseReturnValue:
    form = CommentForm()
    back = _return_to(form.return_to.data, article_id)
    try:
        add_comment(db_session(), current_actor(), article_id, form.body.data)
    except PermissionDenied as exc:
        if back != url_for("review.article", article_id=article_id):
            raise  # not the review page's form: the error page says why
        abandon()
        # Back to the review page with the typed comment and the reason beside it.
        session = db_session()
        session.expire_all()
        context = review_context(get_article(session, article_id))
        context["comment_draft"] = {"body": form.body.data or "",
                                    "error": f"{exc.message} Nothing was posted."}
        return render_template("review/article.html", **context), exc.status
    except ValidationFailed as exc:
        abandon()
        flash(exc.message, "error")
        return redirect(back, 303)
    flash("Comment added.", "success")
    return redirect(back, 303)


def _sign_page(art: Article, action: str, form: SignForm, *, status: int = 200,
               errors: list[str] | None = None) -> ResponseReturnValue:
    session = db_session()
    policy = round_acting.policy_for(session, art.id)
    spec = ACTIONS_BY_NAME[action]
    if errors is None:  # say it before the password is typed, not only after
        refusal = credentials.signing_refusal(current_actor().user, policy, utcnow().date())
        errors = [refusal.message] if refusal is not None else []
    return render_template(
        "review/sign.html", article=art, rev=art.current_revision, spec=spec, form=form,
        policy=policy, errors=errors, signer=current_user, now=utcnow(),
        checks=policy.review_checks if action == "approve" else (),
        **(refchecks.sign_context(session, current_actor(), art, policy, request.form)
           if action == "approve" else {}),
    ), status


@bp.route("/review/<id:article_id>/sign/<action>", methods=["GET", "POST"])
def sign(article_id: int, action: str) -> ResponseReturnValue:
    """The electronic signature step for approve and reject."""
    if action not in SIGNED_ACTIONS:
        abort(404)
    session = db_session()
    art = get_article(session, article_id)
    rev = art.current_revision
    assert rev is not None
    spec = ACTIONS_BY_NAME[action]
    if request.method == "GET":
        form = SignForm(formdata=None)
        shown_hash = request.args.get("content_hash") or rev.content_hash
        if shown_hash != rev.content_hash:
            raise Conflict(
                f"The text of this article changed since you opened it (now revision "
                f"{rev.number}). Review the new text before signing.", code="content_changed")
        if action not in allowed_actions(session, current_actor(), art):
            raise PermissionDenied(
                f"{spec.label} is not open to you on this article now (it is "
                f"{art.state.replace('_', ' ')}).", code="action_not_allowed")
        form.content_hash.data = shown_hash
        version = read_models.parse_cursor(request.args.get("expected_version"),
                                           read_models.MAX_ID)
        form.expected_version.data = version or art.version
        return _sign_page(art, action, form)
    form = SignForm()
    policy = round_acting.policy_for(session, article_id)
    try:
        result = perform_action(
            session, current_actor(), article_id, action,
            comment=form.comment.data or None, password=form.password.data or "",
            expected_version=form.expected_version.data,
            expected_content_hash=form.content_hash.data or None,
            attestations=form.attestations(policy.review_checks) if action == "approve" else None,
            conflict=(form.conflict_of_interest.data or None) if action == "approve" else None,
            checklist=refchecks.answers_from_form(request.form, policy.checklist)
            if action == "approve" else None,
        )
    except (SignatureRefused, GuardFailed, ValidationFailed) as exc:
        abandon()
        attempts.record_refused(database(current_app), exc)  # commits although refused
        session.expire_all()
        art = get_article(session, article_id)
        form.password.data = ""
        # Every problem of the attempt at once (workflow/refusals.py), one line each.
        listed = [p["message"] for p in exc.details.get("problems", ())]
        return _sign_page(art, action, form, status=exc.status, errors=listed or [exc.message])
    if action == "approve":
        if result.to_state == "approved":
            flash(f"Approved with your signature ({result.approvals} of "
                  f"{result.required_approvals} approvals): the article is published.", "success")
        else:
            flash(f"Your approval is signed and recorded ({result.approvals} of "
                  f"{result.required_approvals} approvals needed). Still needed: "
                  f"{result.still_missing}.", "success")
    else:
        flash("Rejected with your signature.", "success")
    return redirect(url_for("review.article", article_id=article_id), 303)


def waited(since: datetime | None, now: datetime) -> str:
    """'3 days', '5 hours', 'just now': how long an article has waited."""
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "just now"
