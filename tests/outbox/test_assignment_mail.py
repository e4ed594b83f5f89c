"""Assignment e-mails leave through the outbox over real SMTP on loopback: the invitation
to review (queued in the assignment's own transaction, so a rolled-back assignment
e-mails nobody), and the sweep's reminder and escalation. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from review_flow.errors import ValidationFailed
from review_flow.outbox.deliver import Deliverer
from review_flow.outbox.models import OutboxMessage
from review_flow.rounds import assignments
from review_flow.rounds.models import Assignment
from review_flow.sweep.service import sweep
from review_flow.users import service as users
from tests.outbox.test_delivery import _settings
from tests.support.receivers import smtp_server


def _assign(db: Any, editor: Any, aid: int, email: str = "reed@example.org") -> Assignment:
    with db.transaction() as s:
        a = assignments.assign(s, editor, aid, users.get_by_email(s, email))
        s.expunge(a)
        return a


def _mail_to(inbox: list[Any], email: str) -> list[Any]:
    return [m for m in inbox if m.rcpt_tos == [email]]


def _text(mail: Any) -> str:
    return str(mail.message.get_content()).replace("\r\n", "\n")


def test_the_assigned_reviewer_is_emailed_the_article_the_dates_and_the_link(
        db: Any, people: Any, new_article: Any, clock: Any) -> None:
    aid = new_article(title="Managing high blood pressure", submit=True)
    a = _assign(db, people["editor"], aid)
    with smtp_server() as (port, inbox):
        report = Deliverer(db, _settings(port), clock=clock).run()
    assert report.dead == 0 and report.retrying == 0
    [mail] = [m for m in _mail_to(inbox, "reed@example.org")
              if m.message["Subject"].startswith("Please review")]
    assert mail.message["Subject"] == "Please review: Managing high blood pressure"
    assert mail.message["To"] == "\"Dr. Maya Reed\" <reed@example.org>"
    body = _text(mail)
    assert body.startswith(
        'Hello Dr. Maya Reed,\n\nErin Editor asks you to review "Managing high blood '
        'pressure" (revision 1) for the Medical Advisory Board.\n\n')
    assert f"Please accept or decline by {a.response_due:%Y-%m-%d %H:%M} UTC.\n" in body
    assert f"If you accept, your review is due by {a.review_due:%Y-%m-%d %H:%M} UTC.\n" in body
    assert f"    https://reviews.example.org/review/{aid}\n" in body
    # Nobody else got it.
    with db.reading() as s:
        assert list(s.scalars(select(OutboxMessage.recipient)
                              .where(OutboxMessage.kind == "review_assigned"))) == [
            "reed@example.org"]


def test_an_assignment_rolled_back_emails_nobody(db: Any, people: Any, new_article: Any) -> None:
    aid = new_article(submit=True)
    with pytest.raises(ValidationFailed), db.transaction() as s:
        assignments.assign(s, people["editor"], aid, users.get_by_email(s, "reed@example.org"))
        raise ValidationFailed("the editor changed their mind")
    with db.reading() as s:
        assert s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "review_assigned")).all() == []
        assert s.scalars(select(Assignment)).all() == []


def test_a_reminder_and_an_escalation_arrive_over_smtp(db: Any, people: Any, new_article: Any,
                                                       clock: Any) -> None:
    aid = new_article(title="Managing high blood pressure", submit=True)
    a = _assign(db, people["editor"], aid)
    due = a.created_at + timedelta(days=3)
    with db.transaction() as s:
        s.execute(update(Assignment).where(Assignment.id == a.id)
                  .values(state="accepted", review_due=due)
                  .execution_options(synchronize_session=False))
    report = sweep(db, due + timedelta(days=3))  # past due and escalated at once
    assert report.ok
    with smtp_server() as (port, inbox):
        Deliverer(db, _settings(port), clock=clock).run()
    [late] = [m for m in _mail_to(inbox, "reed@example.org")
              if m.message["Subject"].startswith("Your review is overdue")]
    assert late.message["Subject"] == "Your review is overdue: Managing high blood pressure"
    assert (f'Your review of "Managing high blood pressure" (revision 1) was due on '
            f"{due:%Y-%m-%d %H:%M} UTC and is not done yet.") in _text(late)
    [escalated] = _mail_to(inbox, "editor@example.org")
    assert escalated.message["Subject"] == (
        "Escalated, review overdue: Managing high blood pressure")
    body = _text(escalated)
    assert body.startswith("Hello Erin Editor,\n\nThe review of \"Managing high blood "
                           f"pressure\" (revision 1) by Dr. Maya Reed was due on "
                           f"{due:%Y-%m-%d %H:%M} UTC and is still not done (3 or more days "
                           "late).")
    assert f"    https://reviews.example.org/review/{aid}\n" in body
