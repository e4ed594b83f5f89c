"""The sweep's notices over review assignments, with a frozen clock (``--now``):
reminders before and after the answer and review dates, escalation to the editors,
lapsed invitations to review, and expired invitation links. Each is sent once, not twice
on a second sweep, not before its time, and never for a cancelled, declined or completed
assignment; on PostgreSQL two sweepers at once send each exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import InvalidTransition
from review_flow.outbox.models import OutboxMessage
from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.rounds.notices import AssignmentNotice
from review_flow.sweep.service import sweep
from review_flow.timeutil import utcnow
from review_flow.users import invitations
from review_flow.users import service as users
from tests.core.helpers import act, create, event_count
from tests.support.sweepers import sweep_twice_at_once
from tests.support.webhook_config import TEST_WEBHOOKS

T = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)  # the frozen "now" of these tests
DAY = timedelta(days=1)
# The policy's defaults (policy/models.py): remind 2 days before, escalate 3 days after,
# an invitation to review lapses after 14 days unanswered.


def _assignment(db, people, *, state: str = "accepted", response_due: datetime = T + 20 * DAY,
                review_due: datetime = T + 30 * DAY, created: datetime = T - DAY,
                title: str = "Asthma", reviewer: str = "reed@example.org") -> int:
    """A submitted article with one assignment, its dates moved to the test's calendar."""
    aid = create(db, people["author"], title=title)
    act(db, people["author"], aid, "submit")
    with db.transaction() as s:
        asg = assignments.assign(s, people["editor"], aid, users.get_by_email(s, reviewer)).id
    with db.transaction() as s:
        s.execute(update(Assignment).where(Assignment.id == asg).values(
            state=state, response_due=response_due, review_due=review_due, created_at=created)
            .execution_options(synchronize_session=False))
    return asg


def _done(report) -> dict[str, list[int]]:
    assert report.ok, report.failures
    return {s.name: s.done for s in report.steps if s.done}


def _notices(db) -> list[tuple[int, str]]:
    with db.reading() as s:
        return [tuple(r) for r in s.execute(
            select(AssignmentNotice.assignment_id, AssignmentNotice.kind)
            .order_by(AssignmentNotice.id))]


def _mail(db, kind: str) -> list[tuple[str, str | None]]:
    with db.reading() as s:
        return [tuple(r) for r in s.execute(
            select(OutboxMessage.recipient, OutboxMessage.payload["to"].as_string())
            .where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))]


def _events(db, action: str) -> list[tuple[str | None, str, dict]]:
    with db.reading() as s:
        return [(e.object_id, e.actor_name, e.data) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def test_a_review_reminder_goes_out_once_before_the_date(db, people):
    asg = _assignment(db, people, review_due=T + DAY + timedelta(hours=1))
    # Three days before: not yet (the reminder goes 2 days ahead).
    assert _done(sweep(db, T - DAY)) == {}
    assert _mail(db, "review_reminder") == []
    assert _done(sweep(db, T)) == {"review reminders": [asg]}
    assert _notices(db) == [(asg, "review_reminder")]
    assert _mail(db, "review_reminder") == [("reed@example.org", "reviewer")]
    [(obj, actor, data)] = _events(db, "assignment.remind")
    assert (obj, actor, data["kind"], data["as_of"]) == (
        str(asg), "review-flow (system)", "review_reminder", "2031-06-01T12:00:00.000000Z")
    events = event_count(db)
    # A second sweep, at the same instant or later before the date: nothing more.
    assert _done(sweep(db, T)) == {}
    assert _done(sweep(db, T + DAY)) == {}
    assert event_count(db) == events
    assert len(_mail(db, "review_reminder")) == 1


def test_after_the_date_one_overdue_reminder_then_an_escalation_to_every_editor(
        db, people, make_user):
    make_user("chief@example.org", "editor", name="Chief Editor")
    gone = make_user("gone-editor@example.org", "editor", name="Gone Editor")
    with db.transaction() as s:
        users.set_active(s, users.get_by_email(s, gone.user.email), False)
    asg = _assignment(db, people, review_due=T - timedelta(hours=1))
    # Past due: the overdue reminder, and no "due soon" one (that time has passed).
    assert _done(sweep(db, T)) == {"review overdue reminders": [asg]}
    assert _mail(db, "review_overdue") == [("reed@example.org", "reviewer")]
    assert _done(sweep(db, T + DAY)) == {}
    # Three days late: escalated to the active editors, once.
    assert _done(sweep(db, T + 3 * DAY)) == {"escalations": [asg]}
    assert _mail(db, "review_escalated") == [("editor@example.org", "editor"),
                                             ("chief@example.org", "editor")]
    [(obj, _actor, data)] = _events(db, "assignment.escalate")
    assert (obj, data["kind"], data["days_after"]) == (str(asg), "escalation", 3)
    assert _done(sweep(db, T + 10 * DAY)) == {}
    assert _notices(db) == [(asg, "review_overdue"), (asg, "escalation")]


def test_an_invitation_is_reminded_before_and_after_its_answer_date(db, people):
    soon = _assignment(db, people, state="invited", response_due=T + DAY, title="Gout")
    late = _assignment(db, people, state="invited", response_due=T - DAY, title="Eczema")
    assert _done(sweep(db, T)) == {"answer reminders": [soon], "answer overdue reminders": [late]}
    assert _done(sweep(db, T)) == {}
    # Once the first one's date passes, its overdue reminder follows, once.
    assert _done(sweep(db, T + 2 * DAY)) == {"answer overdue reminders": [soon]}
    assert sorted(_notices(db)) == sorted([
        (soon, "response_reminder"), (late, "response_overdue"), (soon, "response_overdue")])
    # An accepted review's reminders are not an invitation's.
    assert _mail(db, "review_reminder") == [] and _mail(db, "review_overdue") == []


@pytest.mark.parametrize("closed", ["cancelled", "declined", "completed"])
def test_nothing_is_sent_for_a_closed_assignment(db, people, closed):
    _assignment(db, people, state=closed, response_due=T - 5 * DAY, review_due=T - 5 * DAY,
                created=T - 30 * DAY)
    _assignment(db, people, state=closed, response_due=T + DAY, review_due=T + DAY,
                created=T - 30 * DAY, title="Gout")
    assert _done(sweep(db, T)) == {}
    assert _notices(db) == []
    assert _events(db, "assignment.remind") == []


def test_zero_days_before_turns_the_early_reminder_off(db, people):
    from review_flow.policy import service as policy

    with db.transaction() as s:
        policy.set_policy(s, changed_by=None, changes={"reminder_days_before": 0})
    asg = _assignment(db, people, review_due=T + timedelta(hours=1))
    assert _done(sweep(db, T)) == {}
    assert _done(sweep(db, T + DAY)) == {"review overdue reminders": [asg]}


def test_an_unanswered_invitation_lapses_and_the_link_then_says_so(db, people):
    asg = _assignment(db, people, state="invited", response_due=T - 8 * DAY,
                      created=T - 14 * DAY - timedelta(minutes=1))
    young = _assignment(db, people, state="invited", response_due=T + 5 * DAY,
                        created=T - 13 * DAY, title="Gout", reviewer="okafor@example.org")
    report = sweep(db, T)
    assert _done(report)["lapsed review invitations"] == [asg]
    with db.reading() as s:
        a = s.get(Assignment, asg)
        assert (a.state, a.reason) == ("cancelled", "The invitation lapsed: no answer in time.")
        assert s.get(Assignment, young).state == "invited"
    # The reviewer is told, and so is each editor; the overdue reminder is not sent too.
    assert _mail(db, "invitation_lapsed") == [("reed@example.org", "reviewer"),
                                              ("editor@example.org", "editor")]
    assert (asg, "response_overdue") not in _notices(db)
    [(obj, _actor, data)] = _events(db, "assignment.lapse")
    assert (obj, data["state"], data["days_after"]) == (str(asg), "cancelled", 14)
    # Answering afterwards is refused, saying why.
    with db.reading() as s:
        article_id = s.get(Assignment, asg).article_id
    with pytest.raises(InvalidTransition) as refused, db.transaction() as s:
        assignments.respond(s, people["reviewer"], article_id, "accept")
    assert refused.value.code == "invitation_lapsed"
    assert refused.value.message.startswith(
        f"Your invitation to review round 1 of article {article_id} lapsed unanswered on ")
    assert refused.value.message.endswith("ask an editor to assign you again.")
    assert _done(sweep(db, T)) == {}


def _invite(db, now: datetime) -> str:
    with db.transaction() as s:
        person = users.add_user(s, email="lee@example.org", name="Dr. Jordan Lee",
                                roles=["reviewer"], password=None)
        return invitations.invite(s, person, seal=TEST_WEBHOOKS.box.seal,
                                  lifetime=timedelta(days=7), now=now, invited_by=None).token


def test_a_lapsed_invitation_link_is_recorded_once_and_refused(db, people):
    sent = utcnow()
    token = _invite(db, sent)
    assert _done(sweep(db, sent + 6 * DAY)) == {}
    with db.reading() as s:
        invitations.check(s, token, sent + 6 * DAY)  # still good the day before
    report = sweep(db, sent + 7 * DAY)
    [inv] = _done(report)["expired invitation links"]
    [(_obj, actor, data)] = _events(db, "user.invitation_expire")
    assert (actor, data["email"], data["invitation"]) == (
        "review-flow (system)", "lee@example.org", inv)
    assert _done(sweep(db, sent + 8 * DAY)) == {}
    with db.reading() as s:
        row = s.get(invitations.Invitation, inv)
        assert row.expired_at == sent + 7 * DAY and row.used_at is None
        expires = row.expires_at
        assert invitations.open_invitation(s, row.user_id, sent) is None
        # Recorded as expired: refused from then on, even by a clock that is behind.
        with pytest.raises(invitations.InvitationInvalid) as refused:
            invitations.check(s, token, sent)
    assert refused.value.message == (
        f"This invitation link expired on {expires:%Y-%m-%d %H:%M} UTC. Ask an admin "
        "to send a new invitation.")


def test_the_command_prints_a_line_per_step(db_url, db, people, tmp_path, monkeypatch):
    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    soon = _assignment(db, people, review_due=T + DAY)
    late = _assignment(db, people, review_due=T - 4 * DAY, title="Gout")
    out = CliRunner().invoke(main, ["sweep", "--now", "2031-06-01T12:00:00Z"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [
        "Sweep as of 2031-06-01T12:00:00.000000Z",
        "re-review: 0 moved back to submitted",
        "expired invitation links: 0 recorded as expired",
        "lapsed review invitations: 0 cancelled",
        "answer reminders: 0 sent",
        "answer overdue reminders: 0 sent",
        f"review reminders: 1 sent: {soon}",
        f"review overdue reminders: 1 sent: {late}",
        f"escalations: 1 escalated to the editors: {late}",
    ]


def test_two_sweeps_at_once_send_each_notice_exactly_once(db_url, db, backend, people):
    """Two sweepers with their own connections, started together in small batches so
    they interleave: every notice is recorded, e-mailed and audited exactly once."""
    due_soon = [_assignment(db, people, review_due=T + DAY + i * timedelta(minutes=1),
                            title=f"Topic {i}") for i in range(6)]
    overdue = [_assignment(db, people, state="invited", response_due=T - DAY - i * timedelta(
        minutes=1), title=f"Late {i}") for i in range(6)]
    escalated = [_assignment(db, people, review_due=T - 5 * DAY - i * timedelta(minutes=1),
                             title=f"Long {i}") for i in range(4)]
    reports = sweep_twice_at_once(db_url, T, batch=2)
    assert all(r.ok for r in reports), [r.failures for r in reports]

    def done(step: str) -> list[int]:
        by = [{s.name: s.done for s in r.steps}[step] for r in reports]
        assert not set(by[0]) & set(by[1])
        return sorted(by[0] + by[1])

    assert done("review reminders") == sorted(due_soon)
    assert done("answer overdue reminders") == sorted(overdue)
    assert done("review overdue reminders") == sorted(escalated)
    assert done("escalations") == sorted(escalated)
    assert sorted(_notices(db)) == sorted(
        [(a, "review_reminder") for a in due_soon] + [(a, "response_overdue") for a in overdue]
        + [(a, "review_overdue") for a in escalated] + [(a, "escalation") for a in escalated])
    assert len(_mail(db, "review_reminder")) == 6
    assert len(_mail(db, "response_overdue")) == 6
    assert len(_mail(db, "review_escalated")) == 4  # one editor
    assert len(_events(db, "assignment.remind")) == 6 + 6 + 4
    with db.reading() as s:
        result = verify_all(s)
        assert s.scalar(select(func.count()).select_from(AssignmentNotice)) == 20
    assert result.ok, result.message
