"""Editors' "Review due": approved articles past their medical review date, and those
falling due within 30 days, earliest first, a page at a time (``after``).

``review-flow sweep`` moves the overdue ones back into review; this is where an editor
sees what is coming and what the sweep has not reached yet.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from review_flow.articles import review_due
from review_flow.timeutil import utcnow
from review_flow.web import keyset
from review_flow.web.context import db_session

bp = Blueprint("due", __name__)

PAGE = 50


@bp.get("/review/due")
def review_due_page() -> ResponseReturnValue:
    after = keyset.decode(request.args.get("after"))
    session = db_session()
    now = utcnow()
    rows = review_due.due_list(session, now, limit=PAGE + 1,
                               after=(after.at, after.id) if after else None)
    more = rows[PAGE - 1] if len(rows) > PAGE else None
    return render_template(
        "review/due.html", rows=rows[:PAGE], counts=review_due.due_counts(session, now),
        horizon_days=review_due.HORIZON.days, paged=after is not None,
        next_after=keyset.encode(more.review_due, more.id) if more else None,
    )
