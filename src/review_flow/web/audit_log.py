"""The "Audit log" page: newest events first, read-only, paged by sequence number.

A plain reader for auditors and editors; filtering, timelines and exports belong to
the auditor tools that come later (DESIGN.md).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from review_flow.web import read_models
from review_flow.web.context import db_session

bp = Blueprint("audit", __name__)

PAGE = 50


@bp.get("/audit")
def log() -> ResponseReturnValue:
    before = read_models.parse_cursor(request.args.get("before"))
    session = db_session()
    events = read_models.audit_page(session, before=before, limit=PAGE + 1)
    shown = events[:PAGE]
    return render_template("audit/log.html", events=shown,
                           attested=read_models.event_attestations(session, shown),
                           older=events[PAGE - 1].seq if len(events) > PAGE else None)
