"""The "Compare revisions" page: word-level differences between any two revisions.

For reviewers, editors and auditors (``access.REVIEW_READER``), read-only. The revisions
are chosen by number in the query (``from``, ``to``; by default the one before the
current and the current), shown side by side or inline (``view``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from review_flow.articles.diff import diff_revisions
from review_flow.articles.queries import get_article
from review_flow.web import read_models
from review_flow.web.context import db_session

bp = Blueprint("compare", __name__)

VIEWS = ("side", "inline")


@bp.get("/review/<id:article_id>/compare")
def revisions(article_id: int) -> ResponseReturnValue:
    session = db_session()
    article = get_article(session, article_id)
    listed = read_models.revision_list(session, article_id)  # newest first
    numbers = [r.number for r in listed]
    newest = numbers[0]
    error = None
    chosen: dict[str, int] = {}
    for name, default in (("from", max(newest - 1, 1)), ("to", newest)):
        raw = request.args.get(name, "").strip()
        if not raw:
            chosen[name] = default
        elif raw.isascii() and raw.isdigit() and int(raw) in numbers:
            chosen[name] = int(raw)
        else:
            error = (f"{name} must be the number of one of this article's revisions "
                     f"(1 to {newest}), not {raw[:40]!r}.")
            break
    view = request.args.get("view", "side")
    if error is None and view not in VIEWS:
        error = f"view must be side or inline, not {view[:40]!r}."
    context = {"article": article, "revisions": listed, "error": error, "view": view}
    if error is not None:
        return current_app.make_response((render_template(
            "review/compare.html", diff=None, old=None, new=None, **context), 400))
    old = read_models.revision_by_number(session, article_id, chosen["from"])
    new = read_models.revision_by_number(session, article_id, chosen["to"])
    return render_template("review/compare.html", diff=diff_revisions(old, new), old=old,
                           new=new, **context)
