"""The invitation e-mail leaves through the outbox like every other: the deliverer opens
the sealed link with its configured keys and the message over SMTP carries it; without
the key the message waits (retried) and says why. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from review_flow.outbox.deliver import Deliverer
from review_flow.outbox.models import OutboxMessage
from review_flow.timeutil import utcnow
from review_flow.users import invitations
from review_flow.users import service as users
from tests.outbox.test_delivery import _settings
from tests.support.receivers import smtp_server
from tests.support.webhook_config import TEST_WEBHOOKS


def _invite(db: Any) -> str:
    with db.transaction() as s:
        person = users.add_user(s, email="lee@example.org", name="Dr. Jordan Lee",
                                roles=["reviewer"], password=None)
        return invitations.invite(s, person, seal=TEST_WEBHOOKS.box.seal,
                                  lifetime=timedelta(days=7), now=utcnow(),
                                  invited_by=None).token


def test_the_invitation_arrives_over_smtp_with_its_link(db: Any, clock: Any) -> None:
    token = _invite(db)
    with smtp_server() as (port, inbox):
        report = Deliverer(db, _settings(port), clock=clock).run()
    assert (report.sent, report.retrying, report.dead) == (1, 0, 0)
    [mail] = inbox
    assert mail.rcpt_tos == ["lee@example.org"]
    assert mail.message["Subject"] == "You are invited to Review Flow"
    body = mail.message.get_content().replace("\r\n", "\n")
    assert f"    https://reviews.example.org/invitations/{token}\n" in body
    assert body.startswith("Hello Dr. Jordan Lee,\n\nThe site's administrators invited you")


def test_without_the_key_the_invitation_waits_and_says_why(db: Any, clock: Any) -> None:
    _invite(db)
    with smtp_server() as (port, inbox):
        report = Deliverer(db, replace(_settings(port), webhooks=None), clock=clock).run()
    assert inbox == [] and report.retrying == 1
    with db.reading() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.status == "pending"
        assert "no key configuration given to the deliverer" in (row.last_error or "")
