"""Thread e-mails leave through the outbox over real SMTP on loopback (SQLite and
PostgreSQL): opening, answering, resolving and reopening a thread tells the others on
the article's review (author, revision writers, the thread's people, the round's accepted
assignees), never the person who acted nor whoever turned these e-mails off; a comment
rolled back e-mails nobody."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.writes import edit_article
from review_flow.errors import ValidationFailed
from review_flow.notifications import preferences
from review_flow.outbox.deliver import Deliverer
from review_flow.outbox.models import OutboxMessage
from review_flow.policy import service as policy
from review_flow.rounds import assignments
from review_flow.threads import service
from review_flow.users import service as users
from tests.core.helpers import REFS, act, create
from tests.outbox.test_delivery import _settings
from tests.support.receivers import smtp_server

BODY = "Hypertension often has no symptoms [1].\n\nAdults should limit salt to 5 g a day [1].\n"


def _thread_mail(db: Any) -> list[tuple[str, str]]:
    """(change, recipient) of every thread e-mail queued, in order."""
    with db.reading() as s:
        return [(m.payload["change"], m.recipient) for m in s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "thread_activity")
            .order_by(OutboxMessage.id))]


@pytest.fixture
def review(db: Any, people: Any, make_user: Any) -> dict[str, Any]:
    """An article by the author that the editor revised, submitted under a policy that
    requires assignment, with Reed and Okafor assigned and accepted; Dr. Third is a
    reviewer with no place in the round."""
    with db.transaction() as s:
        policy.set_policy(s, changed_by=None,
                          changes={"require_assignment": True, "allow_claiming": False})
    third = make_user("third@example.org", "reviewer", name="Dr. Third")
    aid = create(db, people["author"], title="Managing high blood pressure", body=BODY)
    with db.transaction() as s:
        edit_article(s, people["editor"], aid, title="Managing high blood pressure",
                     body=BODY + "\nCheck it once a year.\n", references=REFS)
    act(db, people["author"], aid, "submit")
    for actor in (people["reviewer"], people["reviewer2"]):
        with db.transaction() as s:
            assignments.assign(s, people["editor"], aid, users.get_by_email(s, actor.user.email))
        with db.transaction() as s:
            assignments.respond(s, actor, aid, "accept")
    return {"aid": aid, "third": third}


def test_each_change_tells_the_others_on_the_review(db: Any, people: Any,
                                                    review: dict[str, Any]) -> None:
    aid = review["aid"]
    with db.transaction() as s:
        tid = service.open_thread(s, people["reviewer"], aid, "Which guideline says 5 g?",
                                  paragraph=2, quote="5 g a day", blocking=True).id
    with db.transaction() as s:
        service.reply(s, people["author"], tid, "The WHO's; see [1].")
    with db.transaction() as s:  # Okafor turns these e-mails off
        preferences.set_email_preferences(s, s.merge(people["reviewer2"].user),
                                          {"thread_activity": False})
    with db.transaction() as s:
        service.resolve(s, people["reviewer"], tid)
    with db.transaction() as s:
        service.reopen(s, people["author"], tid)
    author, editor = "author@example.org", "editor@example.org"
    reed, okafor = "reed@example.org", "okafor@example.org"
    assert _thread_mail(db) == [
        # Opened by Reed: the author, the editor (who wrote revision 2), Okafor (assignee).
        ("open", author), ("open", okafor), ("open", editor),
        # Answered by the author: Reed (opener, assignee), Okafor, the editor.
        ("reply", reed), ("reply", okafor), ("reply", editor),
        # Okafor opted out; never the one who acted; never Dr. Third (no place).
        ("resolve", author), ("resolve", editor),
        ("reopen", reed), ("reopen", editor),
    ]


def test_a_comment_rolled_back_emails_nobody(db: Any, people: Any,
                                             review: dict[str, Any]) -> None:
    aid = review["aid"]
    with pytest.raises(ValidationFailed), db.transaction() as s:
        service.open_thread(s, people["reviewer"], aid, "Which guideline?", paragraph=1)
        raise ValidationFailed("the reviewer changed their mind")
    assert _thread_mail(db) == []
    with db.transaction() as s:
        tid = service.open_thread(s, people["reviewer"], aid, "Which guideline?",
                                  paragraph=1).id
    queued = len(_thread_mail(db))
    with pytest.raises(ValidationFailed), db.transaction() as s:
        service.reply(s, people["author"], tid, "The WHO's.")
        raise ValidationFailed("the author changed their mind")
    assert len(_thread_mail(db)) == queued


def test_the_email_names_the_article_passage_writer_text_blocking_and_link(
        db: Any, people: Any, review: dict[str, Any], clock: Any) -> None:
    aid = review["aid"]
    text = "Which guideline says \x1b[31m5 g\x1b[0m?\u202e\n\n" + "Long. " * 400
    with db.transaction() as s:
        tid = service.open_thread(s, people["reviewer"], aid, text, paragraph=2,
                                  quote="5 g a day", blocking=True).id
    with smtp_server() as (port, inbox):
        report = Deliverer(db, _settings(port), clock=clock).run()
    assert report.dead == 0 and report.retrying == 0
    [mail] = [m for m in inbox if m.rcpt_tos == ["author@example.org"]
              and m.message["Subject"].startswith("New blocking comment")]
    assert mail.message["Subject"] == "New blocking comment on: Managing high blood pressure"
    body = str(mail.message.get_content()).replace("\r\n", "\n")
    assert body.startswith(
        "Hello Alex Author,\n\nDr. Maya Reed opened a blocking comment thread on \"Managing "
        "high blood pressure\" (revision 2), paragraph 2.\n\nThe passage:\n\n    > 5 g a day\n"
        "\nDr. Maya Reed wrote:\n\n    Which guideline says [31m5 g[0m?\n\n    Long. Long.")
    assert "\x1b" not in body and "\u202e" not in body
    assert "…\n\nThis comment blocks" in body and body.count("Long") < 300  # cut, marked
    assert "\nThis comment blocks approval while it is open; it is open now.\n" in body
    assert f"\nOpen the review: https://reviews.example.org/review/{aid}#thread-{tid}\n" in body
    assert "https://reviews.example.org/account/notifications" in body
    about_threads = [m for m in inbox if "comment on:" in m.message["Subject"]]
    assert sorted(m.rcpt_tos[0] for m in about_threads) == [
        "author@example.org", "editor@example.org", "okafor@example.org"]  # not Reed, Third
