"""Each person turns kinds of e-mail off and on in the browser ("Notification settings")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.audit.models import AuditEvent
from review_flow.notifications import preferences
from review_flow.notifications.kinds import EMAIL_KINDS, render
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.models import OutboxMessage
from review_flow.outbox.transports import SmtpSettings
from tests.support.receivers import smtp_server

PAGE = "/account/notifications"
CHECKBOX = re.compile(
    r'<input type="checkbox" id="[^"]+" name="kinds" value="([a-z_]+)"( checked)?>')


def _ticked(html: str) -> dict[str, bool]:
    return {value: bool(checked) for value, checked in CHECKBOX.findall(html)}


def _prefs(db: Any, people: Any, role: str) -> dict[str, bool]:
    with db.reading() as s:
        return preferences.email_preferences(s, people[role].id)


def _events(db: Any) -> list[Any]:
    with db.reading() as s:
        return [e.data for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.notifications"))]


def test_every_kind_starts_on_and_the_page_is_linked_for_everyone_signed_in(as_role: Any) -> None:
    reviewer = as_role("reviewer")
    home = reviewer.get("/").get_data(as_text=True)
    assert f'href="{PAGE}">Notification settings</a>' in home
    html = reviewer.get(PAGE).get_data(as_text=True)
    assert _ticked(html) == dict.fromkeys(EMAIL_KINDS, True)
    for kind in EMAIL_KINDS.values():
        assert kind.label in html
    assert f'href="{PAGE}"' not in as_role("anonymous").get("/").get_data(as_text=True)


def test_turning_a_kind_off_stops_those_emails_and_is_audited(
    as_role: Any, db: Any, people: Any
) -> None:
    reviewer = as_role("reviewer")
    keep = [k for k in EMAIL_KINDS if k != "review_requested"]
    response = reviewer.post(PAGE, {"kinds": keep}, page=PAGE)
    assert response.status_code == 303 and response.headers["Location"].endswith(PAGE)
    page = reviewer.get(PAGE).get_data(as_text=True)
    assert "Notification settings saved." in page
    assert _ticked(page) == {**dict.fromkeys(EMAIL_KINDS, True), "review_requested": False}
    assert _prefs(db, people, "reviewer")["review_requested"] is False
    assert _events(db) == [{"email": {"review_requested": False}}]
    # A submitted article now mails the other reviewer, not this one.
    with db.transaction() as s:
        aid = create_article(
            s, people["author"], title="Salt", body="Less [1].",
            references=[{"title": "Guideline", "doi": "10.1000/xyz123"}]).id
    with db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
    # The board's e-mail finds its reviewers at delivery, over a real SMTP server.
    with smtp_server() as (port, inbox):
        settings = DeliverySettings(smtp=SmtpSettings(host="127.0.0.1", port=port, tls="none"))
        later = datetime.now(UTC) + timedelta(hours=1)
        Deliverer(db, settings, clock=lambda: later).run()
    mailed = {m.rcpt_tos[0] for m in inbox if m.message["X-Review-Flow-Kind"] == "review_requested"}
    assert mailed == {people["reviewer2"].user.email}
    with db.reading() as s:
        assert people["reviewer"].user.email not in set(s.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == "review_requested")))
    # Saving the same again changes nothing and writes nothing.
    assert reviewer.post(PAGE, {"kinds": keep}, page=PAGE).status_code == 303
    assert "Nothing changed." in reviewer.get(PAGE).get_data(as_text=True)
    assert len(_events(db)) == 1
    # And back on.
    reviewer.post(PAGE, {"kinds": list(EMAIL_KINDS)}, page=PAGE)
    assert _prefs(db, people, "reviewer") == dict.fromkeys(EMAIL_KINDS, True)


def test_bad_input_and_a_missing_csrf_token_write_nothing(
    as_role: Any, db: Any, people: Any
) -> None:
    author = as_role("author")
    response = author.post(PAGE, {"kinds": ["approved", "carrier_pigeon"]}, page=PAGE)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved." in html
    assert ("“carrier_pigeon” is not a kind of e-mail we send; the kinds are "
            "review_requested, ") in html
    no_token = author.client.post(PAGE, data={"kinds": ["approved"]})
    assert no_token.status_code == 400
    assert _prefs(db, people, "author") == dict.fromkeys(EMAIL_KINDS, True)
    assert _events(db) == []
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor_id == people["author"].id,
            AuditEvent.action == "user.notifications")) == 0


def test_signed_out_visitors_are_sent_to_sign_in(as_role: Any) -> None:
    visitor = as_role("anonymous")
    response = visitor.get(PAGE)
    assert response.status_code in (302, 303) and "/sign-in" in response.headers["Location"]


def test_emails_link_to_the_settings_page() -> None:
    payload = {"kind": "approved", "to": "a@example.org", "to_name": "Alex", "actor": "Dr. R",
               "article": {"id": 7, "slug": "salt", "title": "Salt", "revision": 2,
                           "content_hash": "sha256:ab"}, "comment": None}
    _, text = render(payload, "https://reviews.example.org/")
    assert "notification settings: https://reviews.example.org/account/notifications" in text
    _, bare = render(payload, "")
    assert "in your notification settings.\n" in bare
