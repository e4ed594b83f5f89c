"""The "Timeline" page of an article: its audit events as one story, oldest first.

For auditors, editors and admins (``access.AUDIT_READER``), read-only. Keyset pages by
sequence number: ``after`` (later events) or ``before`` (earlier ones).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.articles.models import Article
from review_flow.audit import timeline
from review_flow.web import read_models
from review_flow.web.access import can_review
from review_flow.web.context import db_session

bp = Blueprint("timeline", __name__)


@bp.get("/audit/articles/<id:article_id>/timeline")
def article_timeline(article_id: int) -> ResponseReturnValue:
    session = db_session()
    article = session.get(Article, article_id)
    if article is None:
        abort(404)
    after = read_models.parse_cursor(request.args.get("after"))
    before = read_models.parse_cursor(request.args.get("before"))
    page = timeline.page(session, article_id, after=after,
                         before=None if after is not None else before)
    current = article.current_revision
    return render_template(
        "audit/timeline.html", article=article, page=page, paged=bool(after or before),
        newest_revision=current.number if current else 1,
        # Revision texts and diffs are review pages: reviewers, editors and auditors.
        may_read_revisions=can_review(current_user), max_cursor=read_models.MAX_CURSOR)
