"""One sweep shared by several processes (``sweep/workers.py``, issue 10): every due item
handled exactly once, the reports merged, failures named, the chain intact, and the same
result as one process; SQLite keeps one process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from review_flow.articles.models import Article
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.db import Database
from review_flow.errors import Conflict
from review_flow.sweep import rereview, workers
from review_flow.sweep.service import sweep
from review_flow.sweep.steps import Share
from tests.core.helpers import act, create, state

T = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _approved(db: Database, people, review_due: datetime, title: str) -> int:
    aid = create(db, people["author"], title=title)
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:
        s.execute(update(Article).where(Article.id == aid).values(review_due=review_due)
                  .execution_options(synchronize_session=False))
    return aid


def _rereviewed(db: Database) -> Counter[int]:
    with db.reading() as s:
        return Counter(s.scalars(select(AuditEvent.article_id)
                                 .where(AuditEvent.action == "article.request_rereview")))


@pytest.mark.parametrize("ids", [range(1, 5001), range(20, 100_001, 20), range(2, 20_001, 2)],
                         ids=["consecutive", "every-20th", "even"])
def test_shares_divide_any_ids_once_and_evenly(ids):
    """Each id falls in exactly one worker's share, and no share is more than a tenth
    away from an even split, whatever the pattern of the ids (due articles are often
    every n-th id, which a plain ``id % n`` would give to one worker)."""
    for of in range(1, 9):
        shares = [Share(k, of) for k in range(of)]
        owners = [[s.index for s in shares if s.holds(i)] for i in ids]
        assert all(len(o) == 1 for o in owners)
        sizes = Counter(o[0] for o in owners)
        assert set(sizes) == set(range(of))
        assert max(sizes.values()) <= len(ids) / of * 1.1
        assert min(sizes.values()) >= len(ids) / of * 0.9


def test_workers_move_each_due_article_once_and_the_chain_verifies(db, backend, people):
    """Three workers (one process on SQLite): every due article moved once, in one
    merged report (in id order), nothing else moved, one event each, the chain intact."""
    due = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(10)]
    later = _approved(db, people, T + timedelta(days=1), "Not yet")
    report = sweep(db, T, workers=3, batch=4)
    step = report.steps[0]
    assert report.ok and (step.name, sorted(step.done), step.skipped) == (
        "re-review", sorted(due), [])
    if backend == "postgresql":  # merged from the workers' reports: in id order
        assert step.done == sorted(due)
    assert [s.name for s in report.steps] == [s.name for s in sweep(db, T).steps]
    assert _rereviewed(db) == Counter(due)
    assert state(db, later) == "approved"
    assert all(state(db, a) == "submitted" for a in due)
    with db.reading() as s:
        result = verify_all(s)
    assert result.ok, result.message
    again = sweep(db, T, workers=3)
    assert again.ok and all(s.done == [] for s in again.steps)


def test_a_worker_names_its_failed_item_and_the_others_go_on(db, backend, people,
                                                             monkeypatch):
    """An item refused in one worker is named in the merged report and rolled back alone;
    every other due article is moved by whichever worker holds it."""
    due = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(6)]
    busy = due[2]
    real = rereview.actions.perform_action

    def refuse_one(session, actor, article_id, action, **kw):
        if article_id == busy:
            raise Conflict(f"Article {article_id} is busy.")
        return real(session, actor, article_id, action, **kw)

    monkeypatch.setattr(rereview.actions, "perform_action", refuse_one)
    report = sweep(db, T, workers=2)
    assert [(f.step, f.item, f.message) for f in report.failures] == [
        ("re-review", f"article {busy}", f"Article {busy} is busy.")]
    assert sorted(report.steps[0].done) == sorted(set(due) - {busy})
    assert state(db, busy) == "approved"
    assert _rereviewed(db) == Counter(set(due) - {busy})


def test_sqlite_and_one_worker_stay_in_this_process(db, backend, people, monkeypatch):
    """No process is forked for one worker, nor on SQLite (one writer at a time)."""
    _approved(db, people, T - timedelta(days=1), "Asthma")
    forked: list[int] = []
    monkeypatch.setattr(workers, "run_shared",
                        lambda *a, **kw: forked.append(kw["workers"]) or pytest.fail("forked"))
    sweep(db, T, workers=1)
    if backend == "sqlite":
        sweep(db, T, workers=4)
    assert forked == []
    assert workers.default_workers(db) == (1 if backend == "sqlite" else
                                           max(min(os.cpu_count() or 1, 8), 1))


def test_where_processes_cannot_fork_the_sweep_stays_in_this_process(db, backend, people,
                                                                      monkeypatch):
    """On a system without ``fork`` (Windows) several workers mean one process, with the
    same result."""
    due = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(3)]
    monkeypatch.setattr(workers.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(workers, "run_shared", lambda *a, **kw: pytest.fail("forked"))
    report = sweep(db, T, workers=4)
    assert report.ok and sorted(report.steps[0].done) == sorted(due)


def test_the_command_refuses_zero_workers_naming_the_option(db_url, tmp_path, monkeypatch):
    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    out = CliRunner().invoke(main, ["sweep", "--workers", "0"])
    assert out.exit_code == 2
    assert "Invalid value for '--workers': 0 is not in the range 1<=x<=64." in out.stderr


def test_two_commands_with_two_workers_each_move_each_article_once(db_url, db, backend,
                                                                   people, tmp_path):
    """Two ``review-flow sweep --workers 2`` started together (two servers' schedules
    meeting): four processes, and still every due article moved once, with one event."""
    if backend != "postgresql":
        pytest.skip("SQLite sweeps in one process")
    due = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(16)]
    env = {**os.environ, "REVIEW_FLOW_DATABASE_URL": db_url,
           "REVIEW_FLOW_INSTANCE_PATH": str(tmp_path / "instance"),
           "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", "from review_flow.cli import main; main()", "sweep",
               "--now", "2031-06-01T12:00:00Z", "--workers", "2"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    moved: list[int] = []
    for stdout, _ in outputs:
        parts = next(x for x in stdout.splitlines() if x.startswith("re-review:")).split(": ")
        moved += [int(i) for i in parts[2].split(", ")] if len(parts) > 2 else []
    assert sorted(moved) == sorted(due)
    assert _rereviewed(db) == Counter(due)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Article)
                        .where(Article.state == "approved")) == 0
        result = verify_all(s)
    assert result.ok, result.message


def test_a_killed_worker_is_named_and_the_next_run_does_the_rest(db, backend, people,
                                                                 monkeypatch):
    """A worker process that dies mid-run (killed, out of memory) is reported as a
    failure naming it, not waited for forever; what was committed stays, and the next
    run moves the rest: every due article once, the chain intact."""
    if backend != "postgresql":
        pytest.skip("SQLite sweeps in one process")
    due = [_approved(db, people, T - timedelta(days=i + 1), f"Topic {i}") for i in range(8)]
    doomed = due[3]
    real = rereview.ReReview.apply

    def die_on_one(self, session, actor, item, now):
        if item.id == doomed:
            os._exit(9)  # as if the kernel killed the process
        return real(self, session, actor, item, now)

    monkeypatch.setattr(rereview.ReReview, "apply", die_on_one)
    report = sweep(db, T, workers=2)
    assert not report.ok
    assert any(f.step == "sweep" and f.item.startswith("worker ")
               and "run the sweep again" in f.message for f in report.failures), report
    assert state(db, doomed) == "approved"
    monkeypatch.setattr(rereview.ReReview, "apply", real)
    again = sweep(db, T, workers=2)
    assert again.ok
    assert _rereviewed(db) == Counter(due)
    with db.reading() as s:
        result = verify_all(s)
    assert result.ok, result.message
