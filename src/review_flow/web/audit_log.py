"""The "Audit log" explorer and its exports: read-only, for auditors, editors and admins.

Filters are the query parameters DESIGN.md names (``article``, ``actor``, ``action``,
``state``, ``since``, ``until``), checked by ``audit/query.py``; a bad one gets a 400
naming it. Pages are keyset-paged by the last row's (time, sequence), in ``before``.
An export is a GET (auditors change nothing by POST): it records itself in a small
transaction of its own, as reading the page touches a session, then streams.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.app import database
from review_flow.audit import export, query
from review_flow.audit.actions import AUDIT_ACTIONS
from review_flow.timeutil import utcnow
from review_flow.web import keyset, read_models
from review_flow.web import reference_checks as refchecks
from review_flow.web.context import db_session, request_context
from review_flow.workflow.definition import STATES

bp = Blueprint("audit", __name__)

PAGE = 50
SIGNING = ("article.approve", "article.reject")
# The explorer's page runs one small script (local times); nothing else on it may.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _position(raw: str | None) -> query.Position | None:
    """``before``: a page's end as keyset.encode wrote it; anything else: the first page."""
    found = keyset.decode(raw)
    return None if found is None else query.Position(found.at, found.id)


def _form(status: int, **context: Any) -> ResponseReturnValue:
    response = current_app.make_response((render_template(
        "audit/log.html", actions=sorted(AUDIT_ACTIONS), states=STATES,
        args=request.args, **context), status))
    response.headers["Content-Security-Policy"] = CSP
    return response


@bp.get("/audit")
def log() -> ResponseReturnValue:
    try:
        f = query.parse(request.args)
    except query.BadFilter as exc:
        return _form(400, error=exc.message, events=[], filter=None)
    session = db_session()
    before = _position(request.args.get("before"))
    rows = list(session.execute(query.page(f, before=before, limit=PAGE + 1)))
    shown = [_event(r) for r in rows[:PAGE]]
    _fill_attestations(session, rows[:PAGE], shown)
    older = None
    if len(rows) > PAGE:
        last = rows[PAGE - 1]
        older = keyset.encode(last.at, last.seq)
    return _form(200, events=shown, filter=f, older=older, error=None,
                 paged=before is not None)


def _event(row: Any) -> dict[str, Any]:
    """One row for the template; a signing event's signature as its chained data says."""
    data = json.loads(row.data_json) if row.data_json else {}
    signature = data.get("signature") if isinstance(data, dict) else None
    return {"row": row, "signature": signature if isinstance(signature, dict) else None,
            "checklist": refchecks.checklist_of_event(data)}


def _fill_attestations(session: Any, rows: list[Any], shown: list[dict[str, Any]]) -> None:
    """Older signing events carry no signature in their data: read their decisions."""
    missing = [r for r, e in zip(rows, shown, strict=True)
               if r.action in SIGNING and e["signature"] is None]
    if not missing:
        return
    found = read_models.event_attestations(session, missing)
    for r, e in zip(rows, shown, strict=True):
        if r.seq in found:
            e["signature"] = {"attestations": found[r.seq]}


@bp.get("/audit/export.<fmt>")
def export_events(fmt: str) -> ResponseReturnValue:
    if fmt not in export.FORMATS:
        abort(404)
    try:
        f = query.parse(request.args)
    except query.BadFilter as exc:
        return _form(400, error=exc.message, events=[], filter=None)
    db = database(current_app)
    with db.transaction() as side:
        through = export.record_export(side, actor=current_user, f=f, fmt=fmt,
                                       context=request_context())

    def stream() -> Any:
        with db.reading() as session:
            yield from export.chunks(fmt, session, f, through=through)

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return Response(stream(), content_type=export.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"',
        "X-Export-Through": str(through)})
