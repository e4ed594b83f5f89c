"""Trail reviews (auditors and admins): record "audit trail reviewed" for an article or
a time range, and list what has not been reviewed since a date
(``audit/trail_reviews.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.audit import query, trail_reviews
from review_flow.errors import NotFound, PermissionDenied, ValidationFailed
from review_flow.web import read_models
from review_flow.web.context import abandon, db_session, request_context

bp = Blueprint("trail_reviews", __name__)

PAGE = 50


def _render(status: int = 200, *, errors: list[str] | None = None,
            form: dict[str, Any] | None = None) -> ResponseReturnValue:
    session = db_session()
    list_error = None
    since = None
    try:
        since = query.parse({"since": request.args.get("since")}).since
    except query.BadFilter as exc:
        list_error = exc.message
    before = read_models.parse_cursor(request.args.get("before"))
    rows = [] if list_error else trail_reviews.not_reviewed_since(
        session, since, before=before, limit=PAGE + 1)
    more = rows[PAGE - 1].last_seq if len(rows) > PAGE else None
    recent = trail_reviews.recent(session, limit=20)
    return render_template("audit/trail_reviews.html", unreviewed=rows[:PAGE], more=more,
                           since=request.args.get("since", ""), list_error=list_error,
                           paged=before is not None, recent=recent, errors=errors or [],
                           form=form or {}), status


@bp.get("/audit/trail-reviews")
def page() -> ResponseReturnValue:
    return _render()


@bp.post("/audit/trail-reviews")
def record() -> ResponseReturnValue:
    form = {k: request.form.get(k, "") for k in ("article", "since", "until", "comment")}
    try:
        f = query.parse({"article": form["article"], "since": form["since"],
                         "until": form["until"]})
        row = trail_reviews.record_review(
            db_session(), current_user, comment=form["comment"], article_id=f.article,
            since=f.since, until=f.until, context=request_context())
    except (query.BadFilter, ValidationFailed, NotFound, PermissionDenied) as exc:
        abandon()
        status = 400 if isinstance(exc, query.BadFilter) else exc.status
        return _render(status, errors=[exc.message], form=form)
    scope = (f"article {row.article_id}" if row.article_id is not None
             else "the events in that time range")
    flash(f"Trail review recorded for {scope}: events {row.first_seq} to {row.last_seq}.",
          "success")
    return redirect(url_for("trail_reviews.page"), 303)
