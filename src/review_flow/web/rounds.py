"""The board's process in the browser: the queue's views ("Assigned to me", "Unassigned",
"Overdue"), the editors' "All articles", and the assignment forms on the review page.

Thin: read a page through ``rounds/queues.py`` or call ``rounds/assignments.py``; a
refusal is shown as a message and nothing it tried is committed."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from review_flow.errors import NotFound, ReviewFlowError
from review_flow.policy import service as policy_service
from review_flow.rounds import assignments, queues
from review_flow.rounds.acting import quorum_of, round_approvers
from review_flow.rounds.opening import latest_round_of
from review_flow.rounds.reading import assignments_of
from review_flow.timeutil import utcnow
from review_flow.users.models import User
from review_flow.users.roles import Role
from review_flow.web import keyset
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.round_forms import AssignForm, CancelForm, RespondForm
from review_flow.workflow.definition import STATES

bp = Blueprint("rounds", __name__)

PAGE = 50
VIEWS = {
    "assigned": "Assigned to me",
    "unassigned": "Unassigned",
    "overdue": "Overdue",
}


def _after() -> tuple[Any, int] | None:
    pos = keyset.decode(request.args.get("after"))
    return (pos.at, pos.id) if pos else None


def _page(rows: list[Any], key: Any) -> tuple[list[Any], str | None]:
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        at, row_id = key(rows[-1])
        return rows, keyset.encode(at, row_id) if at else None
    return rows, None


@bp.get("/review/assigned")
def assigned() -> ResponseReturnValue:
    rows, more = _page(
        queues.assigned_to(db_session(), current_actor().id, limit=PAGE + 1, after=_after()),
        lambda r: (r.review_due, r.id))
    return _view("assigned", rows, more)


@bp.get("/review/overdue")
def overdue() -> ResponseReturnValue:
    rows, more = _page(queues.overdue(db_session(), utcnow(), limit=PAGE + 1, after=_after()),
                       lambda r: (r.review_due, r.id))
    return _view("overdue", rows, more)


@bp.get("/review/unassigned")
def unassigned() -> ResponseReturnValue:
    rows, more = _page(queues.unassigned(db_session(), limit=PAGE + 1, after=_after()),
                       lambda r: (r.submitted_at, r.id))
    return _view("unassigned", rows, more)


def _view(view: str, rows: list[Any], more: str | None) -> ResponseReturnValue:
    return render_template("rounds/queue.html", view=view, views=VIEWS, rows=rows,
                           next_after=more, paged=request.args.get("after") is not None,
                           now=utcnow())


@bp.get("/editor/articles")
def all_articles() -> ResponseReturnValue:
    """Every article for editors, newest first, filtered by state, assignee, due date."""
    session = db_session()
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    members = queues.board_members(session)
    try:
        assignee = int(request.args.get("assignee", "") or 0) or None
    except ValueError:
        assignee = None
    if assignee is not None and all(m.id != assignee for m in members):
        assignee = None
    due_raw = request.args.get("due", "")
    try:
        due = date.fromisoformat(due_raw) if due_raw else None
    except ValueError:
        due = None
    try:
        before = int(request.args.get("before", "") or 0) or None
    except ValueError:
        before = None
    if before is not None and not 0 < before <= queues.MAX_ID:
        before = None
    rows = queues.all_articles(session, limit=PAGE + 1, before_id=before, state=state or None,
                               assignee_id=assignee, due_by=due)
    more = rows[PAGE - 1].id if len(rows) > PAGE else None
    return render_template(
        "rounds/all_articles.html", rows=rows[:PAGE], states=STATES, state=state,
        members=members, assignee=assignee, due=due.isoformat() if due else "",
        next_before=more, paged=before is not None, now=utcnow())


def round_panel(session: Any, actor: Any, article_id: int) -> dict[str, Any] | None:
    """The review page's round: its assignments, quorum, and what this person may do."""
    review = latest_round_of(session, article_id)
    if review is None:
        return None
    policy = policy_service.settings_for(session, review.policy_version)
    held = assignments_of(session, review)
    is_open = review.closed_at is None
    editor = actor.has_role(Role.EDITOR) and is_open
    mine = next((a for a in held if a.reviewer_id == actor.id
                 and a.state in assignments.LIVE_STATES), None)
    quorum = (quorum_of(policy, round_approvers(session, review, review.revision_id))
              if review.revision_id is not None and is_open else None)
    return {
        "round": review, "policy": policy, "assignments": held, "open": is_open,
        "may_assign": editor, "members": queues.board_members(session) if editor else [],
        "mine": mine, "still_missing": quorum.still_missing() if quorum else None,
        "now": utcnow(), "assign_form": AssignForm(formdata=None),
    }


def _back(article_id: int) -> ResponseReturnValue:
    return redirect(url_for("review.article", article_id=article_id) + "#round-heading", 303)


def _refused(exc: ReviewFlowError, article_id: int) -> ResponseReturnValue:
    abandon()
    flash(exc.message, "error")
    return _back(article_id)


def _member(session: Any, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"Board member {user_id} does not exist.", user_id=user_id)
    return user


@bp.post("/review/<id:article_id>/assignments")
def assign(article_id: int) -> ResponseReturnValue:
    form = AssignForm()
    session = db_session()
    try:
        reviewer = _member(session, form.reviewer_id())
        a = assignments.assign(session, current_actor(), article_id, reviewer,
                               due=form.due_date())
    except ReviewFlowError as exc:
        return _refused(exc, article_id)
    flash(f"{reviewer.name} is invited to review (answer due "
          f"{a.response_due.date().isoformat()}, review due {a.review_due.date().isoformat()}).",
          "success")
    return _back(article_id)


@bp.post("/review/<id:article_id>/assignments/<id:assignment_id>/reassign")
def reassign(article_id: int, assignment_id: int) -> ResponseReturnValue:
    form = AssignForm()
    session = db_session()
    try:
        reviewer = _member(session, form.reviewer_id())
        assignments.reassign(session, current_actor(), assignment_id, reviewer,
                             due=form.due_date(), article_id=article_id)
    except ReviewFlowError as exc:
        return _refused(exc, article_id)
    flash(f"Reassigned to {reviewer.name}.", "success")
    return _back(article_id)


@bp.post("/review/<id:article_id>/assignments/<id:assignment_id>/cancel")
def cancel(article_id: int, assignment_id: int) -> ResponseReturnValue:
    form = CancelForm()
    try:
        assignments.cancel(db_session(), current_actor(), assignment_id,
                           reason=form.reason.data, article_id=article_id)
    except ReviewFlowError as exc:
        return _refused(exc, article_id)
    flash("Assignment cancelled.", "success")
    return _back(article_id)


@bp.post("/review/<id:article_id>/respond")
def respond(article_id: int) -> ResponseReturnValue:
    form = RespondForm()
    try:
        a = assignments.respond(db_session(), current_actor(), article_id,
                                form.answer.data or "", comment=form.comment.data)
    except ReviewFlowError as exc:
        return _refused(exc, article_id)
    flash("You accepted the review." if a.state == "accepted" else
          "You declined the review; the editors have your reason.", "success")
    return _back(article_id)
