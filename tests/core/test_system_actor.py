"""The system actor: no user row, only the transitions the workflow gives the system, and
audit events that say plainly it was the system (``actor_id`` NULL)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from review_flow.actor import SYSTEM_ACTOR_NAME, SystemActor
from review_flow.articles.comments import add_comment
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article, edit_article
from review_flow.audit import export as audit_export
from review_flow.audit.log import RequestContext
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.errors import GuardFailed, PermissionDenied
from review_flow.workflow.definition import ACTIONS, SYSTEM_ACTIONS, USER_ACTIONS
from tests.core.helpers import BODY, REFS, act, create, snapshot, state

SYSTEM = SystemActor(context=RequestContext(request_id="sweep-run-1", client_addr="cli"))


def _approved(db, people) -> int:
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    return aid


def _due(db, aid):
    with db.reading() as s:
        return get_article(s, aid).review_due


def test_the_definition_opens_only_request_rereview_to_the_system():
    assert SYSTEM_ACTIONS == ("request_rereview",)
    assert {a.name for a in ACTIONS if a.who == "editor_or_system"} == {"request_rereview"}


def test_the_system_moves_a_due_article_back_to_review_and_the_event_says_so(db, people):
    aid = _approved(db, people)
    as_of = _due(db, aid) + timedelta(seconds=1)
    result = act(db, SYSTEM, aid, "request_rereview", as_of=as_of)
    assert (result.from_state, result.to_state) == ("approved", "submitted")
    assert state(db, aid) == "submitted"
    with db.reading() as s:
        e = s.scalars(select(AuditEvent).where(AuditEvent.article_id == aid)
                      .order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (e.action, e.actor_id, e.actor_name) == (
            "article.request_rereview", None, "review-flow (system)")
        assert (e.request_id, e.client_addr) == ("sweep-run-1", "cli")
        assert e.data["as_of"] == as_of.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert e.at < as_of  # recorded at the real time; the guard judged by as_of


def test_the_system_is_held_to_the_review_date_like_anyone(db, people):
    aid = _approved(db, people)
    before = snapshot(db, aid)
    with pytest.raises(GuardFailed) as err:
        act(db, SYSTEM, aid, "request_rereview", as_of=_due(db, aid) - timedelta(seconds=1))
    assert err.value.code == "review_not_due"
    assert err.value.message.startswith("The re-review date has not passed (due: ")
    assert snapshot(db, aid) == before


@pytest.mark.parametrize("action", [a for a in USER_ACTIONS if a not in SYSTEM_ACTIONS])
def test_every_other_action_is_refused_to_the_system_by_name(db, people, action):
    """From a state where the action exists, so the refusal is the permission's."""
    aid = create(db, people["author"])
    source = next(a for a in ACTIONS if a.name == action).sources[0]
    path = {
        "draft": [], "submitted": ["submit"], "under_review": ["submit", "start_review"],
        "approved": ["submit", "start_review", "approve"],
        "changes_requested": ["submit", "start_review", "request_changes"],
        "rejected": ["submit", "start_review", "reject"],
        "retracted": ["submit", "start_review", "approve", "retract"],
    }[source]
    for step in path:
        who = people["author"] if step == "submit" else (
            people["editor"] if step == "retract" else people["reviewer"])
        act(db, who, aid, step)
    before = snapshot(db, aid)
    with pytest.raises(PermissionDenied) as err:
        act(db, SYSTEM, aid, action, comment="x", password="x")
    assert err.value.code == "system_actor_not_allowed"
    assert err.value.message == (
        f"The system account (review-flow (system)) is not allowed this "
        f"({next(a for a in ACTIONS if a.name == action).label.lower()}); it may only "
        "request re-review.")
    assert snapshot(db, aid) == before


def test_the_system_cannot_write_or_comment(db, people):
    aid = create(db, people["author"])
    before = snapshot(db, aid)
    refusal = ("The system account (review-flow (system)) is not allowed this ({}); it may "
               "only request re-review.")
    with db.transaction() as s, pytest.raises(PermissionDenied) as err:
        create_article(s, SYSTEM, title="T", body=BODY, references=REFS)
    assert err.value.message == refusal.format("creating an article")
    with db.transaction() as s, pytest.raises(PermissionDenied) as err:
        edit_article(s, SYSTEM, aid, title="T", body=BODY, references=REFS)
    assert err.value.message == refusal.format("editing an article")
    with db.transaction() as s, pytest.raises(PermissionDenied) as err:
        add_comment(s, SYSTEM, aid, "hello")
    assert err.value.message == refusal.format("commenting")
    assert err.value.code == "system_actor_not_allowed"
    assert snapshot(db, aid) == before


def test_request_rereview_still_needs_the_editor_role_from_a_person(db, people):
    aid = _approved(db, people)
    with pytest.raises(PermissionDenied) as err:
        act(db, people["author"], aid, "request_rereview", as_of=_due(db, aid))
    assert err.value.message == "Only editors can request re-review."
    act(db, people["editor"], aid, "request_rereview", as_of=_due(db, aid))
    assert state(db, aid) == "submitted"


def test_audit_verify_replays_events_by_the_system(db, backend, people):
    aid = _approved(db, people)
    act(db, SYSTEM, aid, "request_rereview", as_of=_due(db, aid))
    act(db, people["reviewer2"], aid, "start_review")
    with db.reading() as s:
        result = verify_all(s)
    assert result.ok, result.message
    # Undoing the system's move in the table alone is caught by the replay.
    with db.transaction() as s:
        if backend == "postgresql":
            s.execute(text("ALTER TABLE articles DISABLE TRIGGER USER"))
        s.execute(text("UPDATE articles SET state = 'approved' WHERE id = :a"), {"a": aid})
    with db.reading() as s:
        result = verify_all(s)
    assert not result.ok
    assert result.message.startswith(
        f"article {aid}: state — the chain says 'under_review', the table says 'approved'")


def test_export_names_the_system_with_no_user_id(db, people):
    aid = _approved(db, people)
    act(db, SYSTEM, aid, "request_rereview", as_of=_due(db, aid))
    out = io.StringIO()
    with db.reading() as s:
        audit_export.write_jsonl(audit_export.iter_events(s, article_id=aid), out)
    last = json.loads(out.getvalue().splitlines()[-1])
    assert (last["action"], last["actor"], last["actor_id"]) == (
        "article.request_rereview", SYSTEM_ACTOR_NAME, None)
    csv_out = io.StringIO()
    with db.reading() as s:
        audit_export.write_csv(audit_export.iter_events(s, article_id=aid), csv_out)
    assert f",{SYSTEM_ACTOR_NAME},,article.request_rereview," in csv_out.getvalue()


def test_the_reviewers_hear_of_the_system_rereview_as_a_periodic_one(db, people):
    from datetime import UTC, datetime

    from review_flow.notifications.board_mail import LABEL
    from review_flow.outbox.deliver import Deliverer, DeliverySettings
    from review_flow.outbox.models import OutboxMessage
    from review_flow.outbox.transports import SmtpSettings
    from tests.support.receivers import smtp_server

    aid = _approved(db, people)
    with db.reading() as s:
        already = s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
    act(db, SYSTEM, aid, "request_rereview", as_of=_due(db, aid))
    with db.reading() as s:
        (board,) = s.scalars(select(OutboxMessage).where(
            OutboxMessage.id > already, OutboxMessage.kind == "review_requested")).all()
        assert (board.recipient, board.status) == (LABEL, "to_expand")
        assert (board.payload["actor"], board.payload["system"]) == (SYSTEM_ACTOR_NAME, True)
    with smtp_server() as (port, inbox):
        settings = DeliverySettings(smtp=SmtpSettings(host="127.0.0.1", port=port, tls="none"))
        later = datetime.now(UTC) + timedelta(hours=1)
        Deliverer(db, settings, clock=lambda: later).run()
    asked = {m.rcpt_tos[0]: m.message.get_content() for m in inbox
             if m.message["X-Review-Flow-Kind"] == "review_requested"}
    assert sorted(asked) == ["okafor@example.org", "reed@example.org"]
    # The submit's request and the re-review's, one delivery: one e-mail, as last asked.
    assert all('"High Blood Pressure" (revision 1) is due for its periodic re-review.' in text
               and "submitted" not in text for text in asked.values())
