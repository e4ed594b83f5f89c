"""The "As of" page: an article's public page as readers saw it at an instant (UTC).

For auditors, editors and admins (``access.AUDIT_READER``), read-only. The page is
rebuilt from records by ``audit.as_of`` and drawn with the public page's own template
part, inside a frame that says it is a reconstruction and of which instant.

A revision with a text for healthcare professionals is shown in either text, as the live
page offers ("Which best describes you?"). The choice is this page's query string
(``?at=…&audience=professional``), never the reader's cookie: an auditor's link names
exactly what it shows, and looking does not change what the public page remembers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from review_flow.articles.models import Article
from review_flow.articles.rendering import render_revision
from review_flow.audit import as_of
from review_flow.timeutil import utcnow
from review_flow.web import audience
from review_flow.web.context import db_session
from review_flow.workflow.definition import STEPPER

bp = Blueprint("as_of", __name__)


def parse_instant(raw: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC (what the form's field says)."""
    try:
        parsed = datetime.fromisoformat(raw)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: out of range once made UTC
        raise ValueError(f"“{raw[:40]}” is not a date and time; give one such as "
                         "2026-11-30T16:00:00 (UTC).") from None


@bp.get("/audit/articles/<id:article_id>/as-of")
def article_as_of(article_id: int) -> ResponseReturnValue:
    session = db_session()
    article = session.get(Article, article_id)
    if article is None:
        abort(404)
    raw = request.args.get("at", "").strip()
    error = None
    at = utcnow()
    if raw:
        try:
            at = parse_instant(raw)
        except ValueError as exc:
            error = str(exc)
    context = {"article": article, "at": at, "raw": raw, "error": error}
    if error is not None:
        return current_app.make_response((render_template(
            "audit/as_of.html", result=None, item=None, rendered=None, **context), 400))
    result = as_of.reconstruct(session, article_id, at)
    assert result is not None  # the article exists
    item = result.page
    shown = audience.shown(audience.requested(request) or audience.PATIENT,
                           item.professional_body if item else None)
    text = item.professional_body if item and shown == audience.PROFESSIONAL else (
        item.body if item else None)
    rendered = None if item is None or item.retracted or text is None else render_revision(
        item.content_hash, text, item.references)
    # The live page's links, with the instant kept: "?at=<this instant>&audience=…".
    link = url_for("as_of.article_as_of", article_id=article_id, at=at.isoformat(),
                   audience="").removeprefix(request.script_root + request.path)
    return render_template(
        "audit/as_of.html", result=result, item=item, rendered=rendered, stepper=STEPPER,
        audience=shown, audiences=audience.AUDIENCES, audience_labels=audience.LABELS,
        audience_query=audience.QUERY, audience_link=link,
        offer_choice=bool(item and item.professional_body),
        disclaimer=audience.DISCLAIMERS[shown], **context)
