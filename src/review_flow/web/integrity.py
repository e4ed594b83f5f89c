"""The "Integrity" page (auditors and admins): start a run of the integrity check and
watch it (``audit/integrity_jobs.py``).

The start is a POST that writes only the run's row and its audit event; the check runs
in a thread of this server process once that commits, never inside the request. While a
run is going the page refreshes itself every two seconds (``<meta http-equiv=refresh>``,
no script needed).
"""

from __future__ import annotations

import os
import socket
import threading

from flask import (
    Blueprint,
    Response,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.app import database
from review_flow.audit import checkpoints, integrity_jobs
from review_flow.web import read_models
from review_flow.web.context import abandon, db_session, request_context

bp = Blueprint("integrity", __name__)

RUNS_PAGE = 10


@bp.get("/audit/integrity")
def page() -> ResponseReturnValue:
    session = db_session()
    before = read_models.parse_cursor(request.args.get("before"), read_models.MAX_ID)
    runs = integrity_jobs.runs(session, before=before, limit=RUNS_PAGE + 1)
    older = runs[RUNS_PAGE - 1].id if len(runs) > RUNS_PAGE else None
    runs = runs[:RUNS_PAGE]
    latest = integrity_jobs.current(session)
    status = latest.shown_status() if latest is not None else None
    return render_template("audit/integrity.html", latest=latest, status=status,
                           runs=runs, older=older, paged=before is not None,
                           checkpoints=checkpoints.latest(session, limit=3),
                           refresh=status == "running")


@bp.post("/audit/integrity/runs")
def start() -> ResponseReturnValue:
    try:
        run = integrity_jobs.start(db_session(), current_user, host=socket.gethostname(),
                                   pid=os.getpid(), context=request_context())
    except integrity_jobs.RunInProgress as exc:
        abandon()
        flash(exc.message, "error")
        return redirect(url_for("integrity.page"), 303)
    db = database(current_app)
    run_id = run.id

    @after_this_request
    def _launch(response: Response) -> Response:
        # After the view's commit: the thread must see the run's row.
        threading.Thread(target=integrity_jobs.execute, args=(db, run_id),
                         name=f"integrity-run-{run_id}", daemon=True).start()
        return response

    flash(f"Integrity check {run_id} started: this page shows its progress.", "success")
    return redirect(url_for("integrity.page"), 303)
