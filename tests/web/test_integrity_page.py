"""The "Integrity" page: a recorded background run of the same check as ``audit verify``,
one at a time (the database says so), each run an audit event, a tamper named."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from review_flow.audit import integrity_jobs
from review_flow.audit.integrity_jobs import IntegrityRun
from review_flow.audit.models import AuditChainHead
from review_flow.timeutil import utcnow
from tests.web.test_public_trust import _drop_guards


def _runs(db: Any) -> list[IntegrityRun]:
    with db.reading() as s:
        rows = list(s.scalars(select(IntegrityRun).order_by(IntegrityRun.id)))
        s.expunge_all()
        return rows


def _wait(db: Any, run_id: int, seconds: float = 60) -> IntegrityRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = next(r for r in _runs(db) if r.id == run_id)
        if run.status != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"integrity run {run_id} did not finish in {seconds} s")


def _page(client: Any) -> str:
    response = client.get("/audit/integrity")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace(" :", ":")


def _run(client: Any, db: Any) -> tuple[IntegrityRun, str]:
    response = client.post("/audit/integrity/runs", {}, page="/audit/integrity")
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    run = _wait(db, _runs(db)[-1].id)
    return run, _page(client)


def test_a_run_passes_and_is_recorded(as_role: Any, story: Any, db: Any, people: Any) -> None:
    story.in_state("approved")
    auditor = as_role("auditor")
    run, page = _run(auditor, db)
    with db.reading() as s:
        head = s.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one()
    assert run.status == "ok" and run.started_by_id == people["auditor"].user.id
    # The head when it started: its own start event is the last one it checks.
    assert run.events == run.total and run.head_hash is not None
    assert f"{run.events} events verified" in run.message and "articles replayed" in run.message
    assert f"Passed: {run.events} events verified." in _text(page)
    assert run.head_hash in page and "Aubrey Auditor" in page
    assert 'http-equiv="refresh"' not in page  # nothing running: no refresh
    started, finished = story.events("audit.verify"), story.events("audit.verify_result")
    assert [e.object_id for e in started] == [str(run.id)]
    assert started[0].actor_name == "Aubrey Auditor"
    assert finished[0].comment.startswith(f"OK: {run.events} events verified")
    assert head.seq == finished[0].seq


@pytest.mark.parametrize("tamper,named", [
    ("UPDATE decisions SET printed_name = 'Dr. Famous'",
     "printed name — the chain says 'Dr. Maya Reed', the table says 'Dr. Famous'"),
    ("UPDATE revisions SET body = 'Stop taking your medicine.'", "revision"),
])
def test_a_tamper_fails_the_run_and_is_named(as_role: Any, story: Any, db: Any, backend: str,
                                             tamper: str, named: str) -> None:
    article = story.in_state("approved")
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text(f"{tamper} WHERE article_id = :a"), {"a": article})
    auditor = as_role("auditor")
    run, page = _run(auditor, db)
    assert run.status == "failed"
    assert f"article {article}" in run.message and named in run.message, run.message
    assert f"Failed: {run.message}" in _text(page)
    [finished] = story.events("audit.verify_result")
    assert finished.comment == f"FAILED: {run.message}"


def test_an_edited_event_is_named(as_role: Any, story: Any, db: Any, backend: str) -> None:
    story.in_state("approved")
    with db.transaction() as s:
        if backend == "sqlite":
            s.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        s.execute(text("UPDATE audit_events SET comment = 'forged' WHERE seq = 3"))
        if backend != "sqlite":  # the head's trigger must run for the run's own events
            s.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    run, page = _run(as_role("auditor"), db)
    assert run.status == "failed" and run.bad_seq == 3
    assert run.message.startswith("event 3")
    assert "First bad event Event 3" in _text(page)


def test_one_run_at_a_time(as_role: Any, story: Any, db: Any, people: Any) -> None:
    story.in_state("draft")
    with db.transaction() as s:
        running = integrity_jobs.start(s, people["auditor"].user, host="elsewhere", pid=1)
    auditor = as_role("auditor")
    page = _page(auditor)
    assert 'http-equiv="refresh" content="2"' in page and "Running" in page
    assert "<progress" in page
    response = auditor.post("/audit/integrity/runs", {}, page="/audit/integrity")
    assert response.status_code == 303
    refused = _page(auditor)
    assert (f"An integrity check is already running (run {running.id}, started by "
            "Aubrey Auditor") in refused
    assert [r.id for r in _runs(db)] == [running.id]
    assert len(story.events("audit.verify")) == 1
    # The database itself refuses a second running row.
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(IntegrityRun(started_by_name="x", started_at=utcnow(), status="running",
                           host="h", pid=2, heartbeat_at=utcnow(), total=0, progress=0))


def test_a_dead_run_shows_as_interrupted_and_does_not_block(as_role: Any, story: Any,
                                                            db: Any, people: Any) -> None:
    story.in_state("draft")
    with db.transaction() as s:
        dead = integrity_jobs.start(s, people["auditor"].user, host="gone", pid=99999)
    with db.transaction() as s:
        s.execute(update(IntegrityRun).where(IntegrityRun.id == dead.id)
                  .values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    auditor = as_role("auditor")
    assert "Interrupted: its process stopped" in _text(_page(auditor))
    run, _ = _run(auditor, db)
    assert run.id != dead.id and run.status == "ok"
    old = next(r for r in _runs(db) if r.id == dead.id)
    assert old.status == "interrupted" and "(gone, pid 99999) stopped" in (old.message or "")


def test_editors_and_reviewers_may_not_run_it(as_role: Any, story: Any, db: Any) -> None:
    for role in ("editor", "reviewer", "author"):
        response = as_role(role).post("/audit/integrity/runs", {}, page="/")
        assert response.status_code == 403
    assert _runs(db) == []
