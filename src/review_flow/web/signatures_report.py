"""The "Signatures" report (auditors and admins): read-only, keyset-paged, each
signature re-checked (``audit/signatures_report.py``)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from review_flow.audit import signatures_report as report
from review_flow.audit.query import BadFilter
from review_flow.web import keyset
from review_flow.web.context import db_session

bp = Blueprint("signatures", __name__)

PAGE = 50


@bp.get("/audit/signatures")
def report_page() -> ResponseReturnValue:
    try:
        f = report.parse(request.args)
    except BadFilter as exc:
        return render_template("audit/signatures.html", error=exc.message, rows=[],
                               filter=None, args=request.args, older=None, paged=False), 400
    found = keyset.decode(request.args.get("before"))
    before = None if found is None else (found.at, found.id)
    rows = report.page(db_session(), f, before=before, limit=PAGE + 1)
    older = None
    if len(rows) > PAGE:
        last = rows[PAGE - 1].decision
        older = keyset.encode(last.signed_at, last.id)
    shown = rows[:PAGE]
    return render_template("audit/signatures.html", error=None, rows=shown, filter=f,
                           args=request.args, older=older, paged=before is not None,
                           failing=sum(1 for r in shown if not r.ok))
