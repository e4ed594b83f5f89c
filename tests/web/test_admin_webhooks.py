"""Admins register webhooks in the browser UI (secret shown once), switch them off and on,
and read each endpoint's delivery log, made by the real outbox deliverer."""

from __future__ import annotations

import html
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.audit.models import AuditEvent
from review_flow.idempotency import IdempotencyRecord
from review_flow.notifications import webhooks
from review_flow.notifications.models import Webhook
from review_flow.outbox.deliver import Deliverer, DeliverySettings
from review_flow.outbox.service import enqueue_many
from review_flow.outbox.transports import Claimed, Outcome
from review_flow.web.admin import DELIVERIES_PAGE
from tests.support.receivers import webhook_receiver
from tests.support.webhook_config import TEST_WEBHOOKS, register
from tests.web.conftest import Browser, csrf_token, submission_id

PAGE = "/admin/webhooks"
NEW_SECRET = re.compile(r'id="new-secret" type="text" readonly value="([^"]+)"')
MESSAGE_IDS = re.compile(r'<code class="hash">([0-9a-f-]{36})</code>')


class Clock:
    """Deliverer time that moves only when the test moves it (an hour ahead of the wall
    clock, so messages written now are due)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


def _hooks(db: Any) -> list[Webhook]:
    with db.reading() as s:
        rows = list(s.scalars(select(Webhook).order_by(Webhook.id)))
        s.expunge_all()
        return rows


def _events(db: Any, action: str) -> list[AuditEvent]:
    with db.reading() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)))
        s.expunge_all()
        return rows


def _register(admin: Any, **data: Any) -> Any:
    """Post the form as a browser would: fetched first, with its own nonce."""
    return admin.post(PAGE, {**_fresh_form(admin), "url": "https://hooks.example.org/review",
                             "secret": "", "events": ["article.submit"], **data}, page=PAGE)


def _fresh_form(who: Any) -> dict[str, str]:
    """CSRF token and nonce of the form as just rendered (only admins may see it; anyone
    else is refused before the nonce matters)."""
    page = who.get(PAGE)
    if page.status_code != 200:
        return {"submission_id": "not-an-admin-so-never-read"}
    body = page.get_data(as_text=True)
    return {"csrf_token": csrf_token(body), "submission_id": submission_id(body)}


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _checkboxes(body: str) -> dict[str, bool]:
    """Each event-kind checkbox on the page: its value, and whether it is ticked."""
    boxes = {}
    for tag in re.findall(r'<input [^>]*type="checkbox"[^>]*>', body):
        if 'name="events"' in tag:
            value = re.search(r'value="([^"]*)"', tag).group(1)  # type: ignore[union-attr]
            boxes[value] = " checked" in tag
    return boxes


# --- registering --------------------------------------------------------------------------

def test_admin_registers_a_webhook_and_sees_the_generated_secret_once(as_role, db):
    admin = as_role("admin")
    page = admin.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<h1>Webhooks</h1>" in body and "No webhooks yet." in body
    # Every known event kind is a checkbox, and so is "all events".
    assert _checkboxes(body) == dict.fromkeys(("*", *webhooks.WEBHOOK_EVENTS), False)

    response = _register(admin, url="https://hooks.example.org/review",
                         events=["article.submit", "article.approve"],
                         description="Publishing pipeline")
    assert response.status_code == 201
    body = response.get_data(as_text=True)
    secret = NEW_SECRET.search(body).group(1)  # type: ignore[union-attr]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert "shown only this once" in body
    assert "Webhook 1 registered for article.approve, article.submit." in body
    [hook] = _hooks(db)
    assert TEST_WEBHOOKS.box.open(hook.secret_sealed) == secret and hook.active
    assert secret not in hook.secret_sealed
    assert hook.url == "https://hooks.example.org/review"
    assert hook.events == ["article.approve", "article.submit"]
    assert hook.description == "Publishing pipeline"

    # The same service as the API: one audit event naming the admin and this request.
    [event] = _events(db, "webhook.create")
    assert (event.actor_name, event.object_type, event.object_id) == ("Ada Admin", "webhook",
                                                                      str(hook.id))
    assert event.data == {"url": hook.url, "events": hook.events}
    assert event.request_id and event.client_addr

    # Never shown again: not on the list, not on the deliveries page.
    listing = admin.get(PAGE).get_data(as_text=True)
    assert secret not in listing and 'id="new-secret"' not in listing
    assert "https://hooks.example.org/review" in listing and "Publishing pipeline" in listing
    assert "<code>article.approve</code>, <code>article.submit</code>" in listing
    assert "<td>active</td>" in listing and "none yet" in listing
    assert secret not in admin.get(f"{PAGE}/{hook.id}/deliveries").get_data(as_text=True)


def test_a_secret_the_admin_typed_is_used_and_never_echoed(as_role, db):
    admin = as_role("admin")
    typed = "whsec_bXktb3duLXNpZ25pbmctc2VjcmV0LTAxMjM0NTY3ODk="  # 32 bytes
    response = _register(admin, secret=typed, events=["*"])
    assert response.status_code == 201
    body = response.get_data(as_text=True)
    assert typed not in body and 'id="new-secret"' not in body
    assert "Webhook 1 registered for all events." in body
    [hook] = _hooks(db)
    assert TEST_WEBHOOKS.box.open(hook.secret_sealed) == typed and hook.events == ["*"]
    assert "all events" in admin.get(PAGE).get_data(as_text=True)


URL_WORDS = "Enter the webhook's address as an http:// or https:// URL."


@pytest.mark.parametrize(("data", "field_id", "message"), [
    ({"url": "ftp://files.example.org/in"}, "url", URL_WORDS),
    ({"url": "javascript:alert(1)"}, "url", URL_WORDS),
    ({"url": ""}, "url", URL_WORDS),
    ({"url": "http://10.0.0.5:6379/"}, "url", "The address 10.0.0.5 is a private-network "
     "address: webhooks go only to public internet addresses; to reach a receiver on your own "
     "network, ask whoever runs this server to allow that network."),
    ({"url": "http://169.254.169.254/latest/"}, "url",
     "The address 169.254.169.254 is a link-local address"),
    ({"url": "https://example.org/" + "a" * 2000}, "url",
     "The URL has at most 2000 characters (this one has 2020)."),
    ({"events": []}, "events", "Choose at least one event kind."),
    ({"events": ["article.explode"]}, "events",
     "“article.explode” is not an event kind; choose from article.create, "),
    ({"events": ["x" * 5000]}, "events", "An event kind has at most 64 characters."),
    ({"description": "d" * 201}, "description",
     "The description has at most 200 characters (this one has 201)."),
    ({"secret": "too-short"}, "secret", "The signing secret must be a Standard Webhooks secret"),
    ({"secret": "s" * 201}, "secret", "The signing secret must be a Standard Webhooks secret"),
    # The pre-standard shape (url-safe text): not base64 a library can load.
    ({"secret": "whsec_test-secret-0123456789"}, "secret",
     "whsec_ followed by the base64 of 24 to 64 random bytes"),
])
def test_bad_input_names_the_field_and_writes_nothing(as_role, db, data, field_id, message):
    admin = as_role("admin")
    events_before = len(_events(db, "webhook.create"))
    response = _register(admin, **data)
    assert response.status_code == 422
    text = _text(response)
    assert message in text
    assert "REVIEW_FLOW_" not in text  # the server's settings are not the admin's words
    assert "Nothing was saved." in text
    body = response.get_data(as_text=True)
    assert f'<a href="#{field_id}">' in body  # the summary links to the field
    assert f'id="{field_id}-error"' in body  # and the message sits at the field
    assert 'id="new-secret"' not in body
    assert _hooks(db) == []
    assert len(_events(db, "webhook.create")) == events_before


def test_a_rejected_form_keeps_what_was_typed_except_the_secret(as_role, db):
    admin = as_role("admin")
    response = _register(admin, url="gopher://old.example.org", secret="short",
                         events=["article.reject", "article.retract"], description="Legacy")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="gopher://old.example.org"' in body and 'value="Legacy"' in body
    assert {v for v, ticked in _checkboxes(body).items() if ticked} == {"article.reject",
                                                                         "article.retract"}
    assert 'value="short"' not in body
    assert _hooks(db) == []


def test_post_without_csrf_token_writes_nothing(as_role, db):
    admin = as_role("admin")
    response = admin.client.post(PAGE, data={"url": "https://hooks.example.org/x",
                                             "events": ["*"]})
    assert response.status_code == 400
    assert _hooks(db) == []
    with db.transaction() as s:
        hook_id = register(s, url="https://hooks.example.org/y", events=["*"]).id
    for action in ("deactivate", "activate"):
        assert admin.client.post(f"{PAGE}/{hook_id}/{action}").status_code == 400
    assert _hooks(db)[0].active
    assert len(_events(db, "webhook.update")) == 0


# --- one-time form: a refresh, back-and-resubmit or double click registers nothing more --

ALREADY = "This form was already submitted"


def _post_form(who: Any, form: dict[str, str], **data: Any) -> Any:
    return who.post(PAGE, {**form, "url": "https://hooks.example.org/review", "secret": "",
                           "events": ["article.submit"], **data})


def _counts(db: Any) -> tuple[int, int, int]:
    """(webhooks, webhook.create audit events, web-form idempotency records)."""
    with db.reading() as s:
        return (
            s.scalar(select(func.count()).select_from(Webhook)),
            s.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "webhook.create")),
            s.scalar(select(func.count()).select_from(IdempotencyRecord)
                     .where(IdempotencyRecord.key.startswith("web-form "))),
        )


def test_the_same_webhook_form_posted_again_registers_nothing_and_says_so(as_role, db):
    admin = as_role("admin")
    form = _fresh_form(admin)
    first = _post_form(admin, form)
    assert first.status_code == 201
    secret = NEW_SECRET.search(first.get_data(as_text=True)).group(1)  # type: ignore[union-attr]

    again = _post_form(admin, form)  # the browser's "resubmit the form?"
    assert again.status_code == 200
    text = _text(again)
    assert ("This form was already submitted: webhook 1 was registered then. Its signing "
            "secret was shown once and cannot be shown again; deactivate it and register a "
            "new one if you did not copy it.") in text
    assert secret not in text and 'id="new-secret"' not in text
    assert "registered for" not in text
    assert submission_id(text) != form["submission_id"]  # a fresh form to register another
    assert _counts(db) == (1, 1, 1)

    # What the database keeps of the form: the key and the webhook's id, never the secret.
    with db.reading() as s:
        record = s.scalars(select(IdempotencyRecord)).one()
        assert record.key == f"web-form webhooks {form['submission_id']}"
        assert record.response_body == {"webhook_id": 1, "secret_shown": True}
        assert secret not in json.dumps([record.response_body, record.response_headers,
                                         record.fingerprint, record.key])

    # Back, change the URL, submit the same form again: still nothing, and it says why.
    changed = _post_form(admin, form, url="https://hooks.example.org/other")
    assert changed.status_code == 200
    text = _text(changed)
    assert (f"{ALREADY} (this time with different values, which were not used): webhook 1 "
            "was registered then.") in text
    assert secret not in text and 'id="new-secret"' not in text
    assert _counts(db) == (1, 1, 1)
    assert [h.url for h in _hooks(db)] == ["https://hooks.example.org/review"]
    assert secret not in admin.get(PAGE).get_data(as_text=True)


def test_a_repeated_form_with_a_typed_secret_never_echoes_or_stores_it(as_role, db):
    admin = as_role("admin")
    form = _fresh_form(admin)
    typed = "whsec_bXktb3duLXNpZ25pbmctc2VjcmV0LTAxMjM0NTY3ODk="  # 32 bytes
    assert _post_form(admin, form, secret=typed).status_code == 201
    again = _post_form(admin, form, secret=typed)
    assert again.status_code == 200
    text = _text(again)
    assert (f"{ALREADY}: webhook 1 was registered then, with the signing secret you "
            "entered.") in text
    assert typed not in text
    # Only whether a secret was typed is fingerprinted, not the secret itself.
    other = _post_form(admin, form, secret="whsec_YW5vdGhlciB0eXBlZCBzZWNyZXQgOTg3NjUgYWJjZGU=")
    assert other.status_code == 200 and f"{ALREADY}: webhook 1" in _text(other)
    assert "different values" in _text(_post_form(admin, form, secret=""))
    assert _counts(db) == (1, 1, 1)
    with db.reading() as s:
        record = s.scalars(select(IdempotencyRecord)).one()
        assert record.response_body == {"webhook_id": 1, "secret_shown": False}
        assert typed not in json.dumps([record.response_body, record.key])
    assert TEST_WEBHOOKS.box.open(_hooks(db)[0].secret_sealed) == typed


def test_each_rendering_of_the_webhook_form_registers_its_own(as_role, db):
    admin = as_role("admin")
    one, two = _fresh_form(admin), _fresh_form(admin)
    assert one["submission_id"] != two["submission_id"]
    first, second = _post_form(admin, one), _post_form(admin, two)
    assert (first.status_code, second.status_code) == (201, 201)
    secrets = {NEW_SECRET.search(r.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
               for r in (first, second)}
    assert len(secrets) == 2
    assert _counts(db) == (2, 2, 2)


@pytest.mark.parametrize("bad", [{"url": "ftp://files.example.org/in"},  # the service's rule
                                 {"description": "d" * 201}])  # the form's own rule
def test_a_refused_webhook_form_records_no_nonce_and_the_corrected_one_works(as_role, db, bad):
    admin = as_role("admin")
    form = _fresh_form(admin)
    refused = _post_form(admin, form, **bad)
    assert refused.status_code == 422 and "Nothing was saved." in _text(refused)
    assert _counts(db) == (0, 0, 0)
    # Shown again with the same nonce: correcting it and submitting works, once.
    assert submission_id(refused.get_data(as_text=True)) == form["submission_id"]
    corrected = _post_form(admin, form)
    assert corrected.status_code == 201 and NEW_SECRET.search(corrected.get_data(as_text=True))
    assert _counts(db) == (1, 1, 1)
    assert _post_form(admin, form).status_code == 200
    assert _counts(db) == (1, 1, 1)


@pytest.mark.parametrize("nonce", [None, "", "short", "<script>alert(1)</script>-0123456789"])
def test_a_webhook_form_without_a_valid_nonce_is_refused_naming_the_field(as_role, db, nonce):
    admin = as_role("admin")
    form = _fresh_form(admin)
    if nonce is None:
        del form["submission_id"]
    else:
        form["submission_id"] = nonce
    response = _post_form(admin, form)
    assert response.status_code == 422
    text = _text(response)
    assert "Nothing was saved." in text
    assert "<li>Form submission id: missing or not valid; the form was reloaded" in text
    assert '<a href="#submission_id">' not in response.get_data(as_text=True)  # hidden field
    assert "<script>" not in response.get_data(as_text=True)
    assert _counts(db) == (0, 0, 0)
    fresh = submission_id(text)
    assert fresh != nonce and len(fresh) >= 32
    assert _post_form(admin, {**form, "submission_id": fresh}).status_code == 201
    assert _counts(db) == (1, 1, 1)


def test_webhook_form_nonces_are_per_user(as_role, app, db, make_user):
    admin = as_role("admin")
    make_user("admin2@example.org", "admin", name="Ben Admin")
    other = Browser(app.test_client())
    assert other.sign_in("admin2@example.org").status_code == 303
    form = _fresh_form(admin)
    assert _post_form(admin, form).status_code == 201
    response = _post_form(other, {**_fresh_form(other), "submission_id": form["submission_id"]})
    assert response.status_code == 201 and ALREADY not in _text(response)
    assert _counts(db) == (2, 2, 2)


def test_a_double_click_registers_one_webhook(as_role, db):
    """Two requests with the same nonce at the same moment (two sessions of one admin):
    the second waits for the first and then answers "already submitted"."""
    first, second = as_role("admin"), as_role("admin")
    nonce = _fresh_form(first)["submission_id"]
    forms = [{**_fresh_form(who), "submission_id": nonce} for who in (first, second)]
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def click(i: int, who: Any) -> None:
        barrier.wait()
        answers[i] = _post_form(who, forms[i])

    threads = [threading.Thread(target=click, args=(i, who))
               for i, who in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 201]
    secret = next(NEW_SECRET.search(a.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
                  for a in answers if a.status_code == 201)
    [repeat] = [a for a in answers if a.status_code == 200]
    assert ALREADY in _text(repeat) and secret not in _text(repeat)
    assert _counts(db) == (1, 1, 1)


# --- activating and deactivating ----------------------------------------------------------

def test_admin_deactivates_and_activates_a_webhook_with_an_audit_event_each(as_role, db):
    admin = as_role("admin")
    assert _register(admin).status_code == 201
    hook_id = _hooks(db)[0].id

    response = admin.post(f"{PAGE}/{hook_id}/deactivate", page=PAGE)
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"Webhook {hook_id} deactivated" in page
    assert "inactive" in page and f'aria-label="Activate webhook {hook_id}"' in page
    assert not _hooks(db)[0].active
    # Deactivated endpoints are no longer subscribed to anything.
    with db.reading() as s:
        assert webhooks.subscribed(s, "article.submit") == []

    # Once more: nothing changes, so nothing is audited, and the page says so.
    admin.post(f"{PAGE}/{hook_id}/deactivate", page=PAGE)
    assert f"Webhook {hook_id} was already inactive." in admin.get(PAGE).get_data(as_text=True)

    assert admin.post(f"{PAGE}/{hook_id}/activate", page=PAGE).status_code == 303
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"Webhook {hook_id} activated" in page
    assert f'aria-label="Deactivate webhook {hook_id}"' in page
    assert _hooks(db)[0].active

    updates = _events(db, "webhook.update")
    assert [e.data for e in updates] == [{"active": False}, {"active": True}]
    assert all(e.actor_name == "Ada Admin" and e.object_id == str(hook_id) for e in updates)


def test_unknown_webhook_is_a_404_that_writes_nothing(as_role, db):
    admin = as_role("admin")
    assert admin.post(f"{PAGE}/41/deactivate", page=PAGE).status_code == 404
    assert admin.get(f"{PAGE}/41/deliveries").status_code == 404
    assert _events(db, "webhook.update") == []


# --- who may --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["author", "reviewer", "editor", "auditor", "anonymous"])
def test_only_admins_may_open_or_use_the_pages(as_role, db, role):
    with db.transaction() as s:
        hook_id = register(s, url="https://hooks.example.org/z", events=["*"]).id
    who = as_role(role)
    for url in (PAGE, f"{PAGE}/{hook_id}/deliveries"):
        response = who.get(url)
        if role == "anonymous":
            assert response.status_code == 303
            assert response.headers["Location"].startswith("/sign-in?next=")
        else:
            assert response.status_code == 403
    refused = 401 if role == "anonymous" else 403
    assert _register(who).status_code == refused
    assert who.post(f"{PAGE}/{hook_id}/deactivate").status_code == refused
    assert [h.id for h in _hooks(db)] == [hook_id] and _hooks(db)[0].active
    assert len(_events(db, "webhook.update")) == 0


def test_only_admins_see_the_link(as_role):
    assert '<a href="/admin/webhooks">Webhooks</a>' in as_role("admin").get("/audit").get_data(
        as_text=True)
    for role in ("editor", "auditor"):
        assert "/admin/webhooks" not in as_role(role).get("/audit").get_data(as_text=True)


# --- deliveries -------------------------------------------------------------------------------

def _rows_of(body: str) -> list[str]:
    """The table rows of the deliveries page's body, in order."""
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [r for r in tbody.split("<tr>") if r.strip()]


def test_deliveries_show_what_a_real_receiver_answered(as_role, db, story):
    admin = as_role("admin")
    clock = Clock()
    settings = DeliverySettings(max_attempts=2, backoff_base_s=60, webhook_timeout_s=5,
                                webhooks=TEST_WEBHOOKS)
    with webhook_receiver("not yet known") as rx:
        response = _register(admin, url=rx.url, events=["article.create"])
        rx.secret = NEW_SECRET.search(response.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        hook_id = _hooks(db)[0].id
        deliverer = Deliverer(db, settings, clock=clock)
        deliverer.transports = {"webhook": deliverer.transports["webhook"]}  # no SMTP here

        story.create(title="First article")
        rx.script = [500]
        assert deliverer.run().retrying == 1
        page = admin.get(f"{PAGE}/{hook_id}/deliveries")
        assert page.status_code == 200
        [row] = _rows_of(page.get_data(as_text=True))
        assert "<code>article.create</code>" in row and ">pending<" in row
        assert "<td>1</td>" in row and "<td>500</td>" in row and "receiver is down" in row

        clock.now += timedelta(seconds=61)
        rx.script = [503]
        assert deliverer.run().dead == 1  # second and last attempt: failed for good
        story.create(title="Second article")
        assert deliverer.run().sent == 1
    assert len(rx.hits) == 3 and all(hit.signature_ok for hit in rx.hits)

    body = admin.get(f"{PAGE}/{hook_id}/deliveries").get_data(as_text=True)
    newest, oldest = _rows_of(body)
    first_id, second_id = (hit.headers["X-Review-Flow-Id"] for hit in rx.hits[1:])
    assert second_id in newest and first_id in oldest
    assert ">delivered<" in newest and "<td>200</td>" in newest
    assert '<td class="answer">{"received": true}</td>' in html.unescape(newest)
    assert "<td>1</td>" in newest
    assert ">failed<" in oldest and "<td>503</td>" in oldest and "receiver is down" in oldest
    assert "<td>2</td>" in oldest
    assert "Older deliveries" not in body

    # The list shows the newest delivery's outcome.
    listing = admin.get(PAGE).get_data(as_text=True)
    assert ">delivered</span> · HTTP 200" in listing


def test_a_receivers_answer_is_shortened_and_escaped(as_role, db, story):
    """A hostile or huge answer, logged by the deliverer, is shown as short plain text."""

    class Hostile:
        def send(self, item: Claimed, now_ts: int) -> Outcome:
            return Outcome(False, status_code=502, error="HTTP 502",
                           response="<script>alert(1)</script>" + "x" * 1000)

    admin = as_role("admin")
    assert _register(admin, events=["article.create"]).status_code == 201
    hook_id = _hooks(db)[0].id
    story.create()
    Deliverer(db, DeliverySettings(max_attempts=1, webhooks=TEST_WEBHOOKS), clock=Clock(),
              transports={"webhook": Hostile()}).run()
    body = admin.get(f"{PAGE}/{hook_id}/deliveries").get_data(as_text=True)
    [row] = _rows_of(body)
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row
    answer = html.unescape(re.search(r'<td class="answer">([^<]*)</td>', row).group(1))  # type: ignore[union-attr]
    assert answer.endswith("…") and len(answer) == 201  # 200 characters and the ellipsis
    assert ">failed<" in row and "<td>502</td>" in row


def test_cancelled_delivery_of_a_deactivated_webhook_says_why(as_role, db, story):
    admin = as_role("admin")
    assert _register(admin, events=["article.create"]).status_code == 201
    hook_id = _hooks(db)[0].id
    story.create()
    admin.post(f"{PAGE}/{hook_id}/deactivate", page=PAGE)
    Deliverer(db, DeliverySettings(webhooks=TEST_WEBHOOKS), clock=Clock()).run()
    [row] = _rows_of(admin.get(f"{PAGE}/{hook_id}/deliveries").get_data(as_text=True))
    assert ">cancelled<" in row and "webhook disabled" in row and "<td>—</td>" in row


def test_the_delivery_log_is_paged_newest_first(as_role, db, shared_db, count_queries):
    with db.transaction() as s:
        hook = register(s, url="https://hooks.example.org/busy", events=["*"])
        other = register(s, url="https://hooks.example.org/other", events=["*"])
        hook_id, other_id = hook.id, other.id
        messages = [
            {"channel": "webhook", "kind": "article.create", "recipient": hook.url,
             "payload": {"n": n}, "webhook_id": hook_id}
            for n in range(2 * DELIVERIES_PAGE + 20)
        ]
        sent = enqueue_many(s, messages)
        enqueue_many(s, [{**messages[0], "webhook_id": other_id, "message_id": None}])
    admin = as_role("admin")
    seen: list[str] = []
    url: str | None = f"{PAGE}/{hook_id}/deliveries"
    sizes = []
    while url is not None:
        with count_queries() as q:
            body = admin.get(url).get_data(as_text=True)
        # The page reads its rows in one statement that never asks for more than a page,
        # and counts the endpoint's dead deliveries (for "Send failed deliveries again").
        touching = [st for st in q.statements if "outbox_messages" in st]
        [statement] = [st for st in touching if "count(" not in st.lower()]
        assert "LIMIT" in statement.upper() and len(touching) == 2
        ids = MESSAGE_IDS.findall(body)
        sizes.append(len(ids))
        seen += ids
        found = re.search(r'href="([^"]+before=\d+)">Older deliveries</a>', body)
        url = html.unescape(found.group(1)) if found else None
        if len(sizes) > 1:
            assert "Newest deliveries" in body
    assert sizes == [DELIVERIES_PAGE, DELIVERIES_PAGE, 20]
    assert seen == list(reversed(sent))  # newest first, none repeated, none skipped, no other's

    # A cursor that is not one starts again from the newest.
    for bad in ("abc", "-5", "99999999999999999999999999"):
        response = admin.get(f"{PAGE}/{hook_id}/deliveries?before={bad}")
        assert response.status_code == 200
        assert MESSAGE_IDS.findall(response.get_data(as_text=True))[0] == sent[-1]


def test_pages_read_in_a_fixed_number_of_queries(as_role, db, shared_db, story, count_queries):
    """The list's "last delivery" column is one query however many webhooks there are."""
    admin = as_role("admin")

    def statements() -> int:
        with count_queries() as q:
            assert admin.get(PAGE).status_code == 200
        return q.count

    for n in range(2):
        _register(admin, url=f"https://hooks.example.org/{n}", events=["*"])
    story.create()
    few = statements()
    for n in range(2, 8):
        _register(admin, url=f"https://hooks.example.org/{n}", events=["*"])
    story.create(title="Another article")
    assert statements() == few
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 8
