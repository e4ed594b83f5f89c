"""``review-flow sweep``: re-review of approved articles past their review date, by the
system actor, one transaction per item, idempotent, and safe with two sweeps at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select, update

from review_flow.articles.models import Article
from review_flow.articles.writes import edit_article
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import Conflict
from review_flow.sweep import rereview
from review_flow.sweep.service import sweep
from tests.core.helpers import act, create, event_count, state
from tests.support.sweepers import sweep_twice_at_once

T = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)  # the frozen "now" of these tests
# The summary lines of the steps with nothing to do (tests/core/test_sweep_notices.py).
NOTHING_ELSE = [
    "expired invitation links: 0 recorded as expired",
    "lapsed review invitations: 0 cancelled",
    "answer reminders: 0 sent",
    "answer overdue reminders: 0 sent",
    "review reminders: 0 sent",
    "review overdue reminders: 0 sent",
    "escalations: 0 escalated to the editors",
]


def _approved(db, people, review_due: datetime, title: str = "High Blood Pressure") -> int:
    aid = create(db, people["author"], title=title)
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    with db.transaction() as s:  # the review date the policy gave, moved to the test's calendar
        s.execute(update(Article).where(Article.id == aid).values(review_due=review_due)
                  .execution_options(synchronize_session=False))
    return aid


def _rereview_events(db) -> list[tuple[int, int | None, str]]:
    with db.reading() as s:
        return [tuple(r) for r in s.execute(
            select(AuditEvent.article_id, AuditEvent.actor_id, AuditEvent.actor_name)
            .where(AuditEvent.action == "article.request_rereview").order_by(AuditEvent.seq))]


def test_a_frozen_clock_moves_exactly_the_articles_due_then(db, people):
    overdue = _approved(db, people, T - timedelta(days=30), "Asthma")
    due_now = _approved(db, people, T, "Gout")
    tomorrow = _approved(db, people, T + timedelta(days=1), "Eczema")
    report = sweep(db, T)
    assert report.ok and report.now == T
    step = report.steps[0]
    assert (step.name, step.done, step.skipped) == ("re-review", [overdue, due_now], [])
    assert [state(db, a) for a in (overdue, due_now, tomorrow)] == [
        "submitted", "submitted", "approved"]
    assert _rereview_events(db) == [(overdue, None, "review-flow (system)"),
                                    (due_now, None, "review-flow (system)")]
    later = sweep(db, T + timedelta(days=1))
    assert later.steps[0].done == [tomorrow]


def test_a_second_run_does_nothing(db, people):
    aid = _approved(db, people, T - timedelta(days=1))
    assert sweep(db, T).steps[0].done == [aid]
    events = event_count(db)
    again = sweep(db, T)
    assert again.ok and again.steps[0].done == [] and again.steps[0].skipped == []
    assert event_count(db) == events


def test_only_approved_articles_are_moved(db, people):
    """An approved article being revised (a draft now) keeps its old review date; the
    sweep leaves it alone."""
    aid = _approved(db, people, T - timedelta(days=1))
    from tests.core.helpers import BODY, REFS
    with db.transaction() as s:
        edit_article(s, people["author"], aid, title="High Blood Pressure",
                     body=BODY + "New.\n", references=REFS)
    assert state(db, aid) == "draft"
    assert sweep(db, T).steps[0].done == []
    assert state(db, aid) == "draft"


def test_the_sweep_walks_batches_and_the_chain_still_verifies(db, people):
    ids = [_approved(db, people, T - timedelta(days=i), f"Topic {i}") for i in range(5)]
    report = sweep(db, T, batch=2)
    assert sorted(report.steps[0].done) == sorted(ids)
    with db.reading() as s:
        result = verify_all(s)
    assert result.ok, result.message


def test_a_failed_item_is_named_and_rolled_back_alone(db, people, monkeypatch):
    first = _approved(db, people, T - timedelta(days=2), "Asthma")
    second = _approved(db, people, T - timedelta(days=1), "Gout")
    real = rereview.actions.perform_action

    def failing(session, actor, article_id, action, **kw):
        result = real(session, actor, article_id, action, **kw)
        if article_id == first:  # after the change: the rollback must undo it
            raise Conflict(f"Article {article_id} changed since you loaded it.")
        return result

    monkeypatch.setattr(rereview.actions, "perform_action", failing)
    report = sweep(db, T)
    assert not report.ok
    assert [(f.step, f.item, f.message) for f in report.failures] == [
        ("re-review", f"article {first}", f"Article {first} changed since you loaded it.")]
    assert report.steps[0].done == [second]
    assert (state(db, first), state(db, second)) == ("approved", "submitted")
    assert [e[0] for e in _rereview_events(db)] == [second]


def test_the_command_prints_what_it_moved_and_is_quiet_the_second_time(db_url, db, people,
                                                                       tmp_path, monkeypatch):
    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    a = _approved(db, people, T - timedelta(days=2), "Asthma")
    b = _approved(db, people, T - timedelta(days=1), "Gout")
    runner = CliRunner()
    out = runner.invoke(main, ["sweep", "--now", "2031-06-01T12:00:00Z"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [
        "Sweep as of 2031-06-01T12:00:00.000000Z",
        f"re-review: 2 moved back to submitted: {a}, {b}",
        *NOTHING_ELSE,
    ]
    again = runner.invoke(main, ["sweep", "--now", "2031-06-01T12:00:00"], catch_exceptions=False)
    assert again.stdout.splitlines()[1:] == ["re-review: 0 moved back to submitted",
                                             *NOTHING_ELSE]


def test_the_command_exits_1_naming_the_failed_item(db_url, db, people, tmp_path, monkeypatch):
    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    aid = _approved(db, people, T - timedelta(days=1))

    def refuse(session, actor, article_id, action, **kw):
        raise Conflict(f"Article {article_id} is busy.")

    monkeypatch.setattr(rereview.actions, "perform_action", refuse)
    out = CliRunner().invoke(main, ["sweep", "--now", "2031-06-01T12:00:00Z"],
                             catch_exceptions=False)
    assert out.exit_code == 1
    assert out.stderr.strip() == f"Error: re-review: article {aid}: Article {aid} is busy."
    assert state(db, aid) == "approved"


def test_a_bad_now_is_refused_naming_the_option(db_url, tmp_path, monkeypatch):
    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    out = CliRunner().invoke(main, ["sweep", "--now", "next tuesday"])
    assert out.exit_code == 2
    assert "Invalid value for --now: 'next tuesday' is not an ISO 8601 time" in out.stderr


def test_two_sweeps_at_once_move_each_article_exactly_once(db_url, db, backend, people):
    """Two sweepers, each with its own connections, started together over the same due
    list (in small batches, so they interleave): together they move every due article,
    neither moves one the other moved, and the log has one re-review event per article."""
    ids = [_approved(db, people, T - timedelta(days=i), f"Topic {i}") for i in range(12)]
    a, b = sweep_twice_at_once(db_url, T, batch=3)
    moved_a, moved_b = a.steps[0].done, b.steps[0].done
    assert a.ok and b.ok
    assert not set(moved_a) & set(moved_b)
    assert sorted(moved_a + moved_b) == sorted(ids)
    assert sorted(e[0] for e in _rereview_events(db)) == sorted(ids)
    assert all(state(db, a) == "submitted" for a in ids)
    with db.reading() as s:
        result = verify_all(s)
        assert s.scalar(select(func.count()).select_from(Article)
                        .where(Article.state == "approved")) == 0
    assert result.ok, result.message


def test_the_reviewers_get_one_email_for_the_nights_re_reviews(db, people):
    """The sweep writes one board row per article; a delivery after it sends each
    reviewer one digest, each line worded as a periodic re-review."""
    from review_flow.outbox.deliver import Deliverer, DeliverySettings
    from review_flow.outbox.models import OutboxMessage
    from review_flow.outbox.transports import SmtpSettings
    from tests.support.receivers import smtp_server

    asthma = _approved(db, people, T - timedelta(days=30), "Asthma")
    gout = _approved(db, people, T, "Gout")
    _approved(db, people, T + timedelta(days=1), "Eczema")
    later = datetime.now(UTC) + timedelta(hours=1)

    def deliver():
        with smtp_server() as (port, inbox):
            settings = DeliverySettings(smtp=SmtpSettings(
                host="127.0.0.1", port=port, tls="none", base_url="https://r.example.org"))
            Deliverer(db, settings, clock=lambda: later).run()
        return {m.rcpt_tos[0]: m.message for m in inbox
                if m.message["X-Review-Flow-Kind"] == "review_requested"}

    deliver()  # the submissions' e-mails
    sweep(db, T)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "to_expand")) == 2  # one row per article, not per reviewer
    asked = deliver()
    assert sorted(asked) == ["okafor@example.org", "reed@example.org"]
    for msg in asked.values():
        text = msg.get_content().replace("\r\n", "\n")
        assert msg["Subject"] == "Review requested: 2 articles"
        assert ('  - "Asthma" (revision 1) is due for its periodic re-review.\n'
                f"    https://r.example.org/review/{asthma}\n") in text
        assert ('  - "Gout" (revision 1) is due for its periodic re-review.\n'
                f"    https://r.example.org/review/{gout}\n") in text
        assert "Eczema" not in text and "submitted" not in text
