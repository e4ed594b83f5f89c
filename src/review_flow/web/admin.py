"""Admin pages: API tokens for people and pipelines (create, shown once; revoke), and
webhook endpoints (register, shown once; activate, deactivate; their delivery log).

Thin views over ``tokens.service`` and ``notifications.webhooks``, the services the JSON
API and the CLI call too, so every change is validated and audited in one place. Secrets
are rendered once, in the answer to the POST that made them, and never flashed or logged:
a token is then kept only as a hash; a webhook secret the server generated stays stored
(it signs every delivery) but no page shows it again.

Both create forms take effect once per rendering (``web/form_nonce.py``): posting the same
form again (a refresh, back and resubmit, a double click) creates nothing and says what
the first submission made; the secret it showed cannot be shown again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from review_flow.app import webhook_config
from review_flow.audit.actions import AUDIT_ACTIONS
from review_flow.errors import ReviewFlowError, ValidationFailed
from review_flow.notifications import webhooks
from review_flow.outbox import service as outbox
from review_flow.tokens import service as tokens
from review_flow.users import service as users
from review_flow.web import form_nonce, read_models, webhook_reads
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import (
    ALL_EVENTS,
    WEBHOOK_EVENT_CHOICES,
    PlainForm,
    TokenForm,
    WebhookForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


# Rows a page of the token and webhook lists show; older ones are a link away
# (``?before=<id>``, keyset on the id: anything else there shows the newest page).
LIST_PAGE = 50


def _before() -> int | None:
    return read_models.parse_cursor(request.args.get("before"), read_models.MAX_ID)


def _older(rows: list[Any]) -> int | None:
    """The ``before`` of the next page: the last shown row's id, when there is more."""
    return rows[LIST_PAGE - 1].id if len(rows) > LIST_PAGE else None


def _page(form: TokenForm, *, new_token: str | None = None, status: int = 200,
          before: int | None = None) -> ResponseReturnValue:
    rows = tokens.newest_tokens(db_session(), before_id=before, limit=LIST_PAGE + 1)
    return render_template("admin/tokens.html", form=form, tokens=rows[:LIST_PAGE],
                           older=_older(rows), paged=before is not None,
                           new_token=new_token, revoke_form=PlainForm()), status


@bp.get("/tokens")
def tokens_page() -> ResponseReturnValue:
    return _page(TokenForm(), before=_before())


def _already_submitted(same_values: bool, what: str) -> None:
    flash("This form was already submitted" + ("" if same_values else (
        " (this time with different values, which were not used)")) + f": {what}", "info")


@bp.post("/tokens")
def create_token() -> ResponseReturnValue:
    form = TokenForm()
    if not form.validate():  # only the form's nonce can be refused here (CSRF: before)
        abandon()
        form.renew_nonce_if_refused()
        return _page(form, status=422)
    actor = current_actor()
    record_id, earlier = form_nonce.claim(
        db_session(), actor.id, "tokens", form.submission_id.data or "",
        {"email": form.email.data or "", "name": form.name.data or ""})
    if earlier is not None:
        _already_submitted(earlier.same_request, (
            f"token {earlier.answer.body['prefix']}… was created then. Its value was shown "
            "once and cannot be shown again; revoke it and create a new one if you did not "
            "copy it."))
        return _page(TokenForm(formdata=None))
    assert record_id is not None
    try:
        user = users.get_by_email(db_session(), form.email.data or "")
        made = tokens.create_token(db_session(), user, name=form.name.data or "",
                                   created_by=actor.user, context=actor.context)
    except ReviewFlowError as exc:
        abandon()  # no token, and no record of the nonce: the corrected form may reuse it
        form.email.errors = [exc.message]
        return _page(form, status=422)
    form_nonce.finish(db_session(), record_id,
                      {"token_id": made.token.id, "prefix": made.token.prefix})
    return _page(TokenForm(formdata=None), new_token=made.plaintext, status=201)


@bp.post("/tokens/<id:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    actor = current_actor()
    token = tokens.revoke_token(db_session(), token_id, by=actor.user, context=actor.context)
    flash(f"Token {token.prefix}… revoked: it no longer works.", "success")
    return redirect(url_for("admin.tokens_page"), 303)


# --- webhooks ---------------------------------------------------------------------------

DELIVERIES_PAGE = 50

# What each event kind means, beside its checkbox: the audit log's own descriptions,
# since webhook events are the audit actions on articles.
EVENT_HINTS = {
    ALL_EVENTS: "Every article event below, and any added later.",
    **{event: AUDIT_ACTIONS.get(event, "") for event in webhooks.WEBHOOK_EVENTS},
    webhooks.PAGE_CHANGED: "A public page may read differently now: purge it from the CDN "
    "(chosen on its own; not part of all events).",
}


def _event_kinds(events: list[str]) -> str:
    return "all events" if ALL_EVENTS in events else ", ".join(events)


def _form_errors(form: WebhookForm) -> list[tuple[str, str, str]]:
    """(field id, label, message) for every field error, in the form's order: the
    summary at the top of the form links each one to its field."""
    return [
        (field.id, str(field.label.text), message)
        for field in form
        if field.name != "csrf_token"
        for message in field.errors
    ]


def _show_service_error(form: WebhookForm, exc: ValidationFailed) -> None:
    """Put the service's message on the field it names (``details['fields']``), so the
    form is shown again with the message beside that field.

    The message is a sentence naming the field ("Enter the webhook's address as an
    http:// or https:// URL."), shown as it is beside the field and in the summary.
    """
    fields = exc.details.get("fields")
    names = list(fields) if isinstance(fields, dict) else []
    target = next((form[n] for n in names if n in form), None)
    if target is None:  # a rule about no field of this form: the plain 422 page says it
        raise exc
    target.errors = [*target.errors, exc.message]


def _webhooks_page(form: WebhookForm, *, new_secret: str | None = None,
                   status: int = 200, before: int | None = None) -> ResponseReturnValue:
    rows = webhook_reads.webhook_rows(db_session(), before=before, limit=LIST_PAGE + 1)
    return render_template(
        "admin/webhooks.html", form=form, webhooks=rows[:LIST_PAGE], older=_older(rows),
        paged=before is not None, errors=_form_errors(form), new_secret=new_secret,
        event_choices=WEBHOOK_EVENT_CHOICES, event_hints=EVENT_HINTS,
        legacy_headers=webhook_config(current_app).legacy_headers,
    ), status


@bp.get("/webhooks")
def webhooks_page() -> ResponseReturnValue:
    return _webhooks_page(WebhookForm(formdata=None), before=_before())


@bp.post("/webhooks")
def create_webhook() -> ResponseReturnValue:
    """Register an endpoint; a bad field re-renders the form (422) and writes nothing."""
    form = WebhookForm()
    if not form.validate():
        abandon()
        form.renew_nonce_if_refused()
        return _webhooks_page(form, status=422)
    actor = current_actor()
    # The fingerprint tells a changed repeat apart; a typed secret counts only as "typed".
    record_id, earlier = form_nonce.claim(
        db_session(), actor.id, "webhooks", form.submission_id.data or "",
        {"url": form.url.data or "", "events": sorted(form.events.data or []),
         "description": form.description.data or "", "secret_typed": bool(form.secret.data)})
    if earlier is not None:
        made = earlier.answer.body
        _already_submitted(earlier.same_request, (
            f"webhook {made['webhook_id']} was registered then. Its signing secret was shown "
            "once and cannot be shown again; deactivate it and register a new one if you "
            "did not copy it." if made["secret_shown"] else
            f"webhook {made['webhook_id']} was registered then, with the signing secret "
            "you entered."))
        return _webhooks_page(WebhookForm(formdata=None))
    assert record_id is not None
    entered_secret = form.secret.data or None
    try:
        made = webhooks.create_webhook(
            db_session(), webhook_config(current_app), url=form.url.data or "",
            events=form.events.data or [],
            description=form.description.data, secret=entered_secret,
            created_by=actor.user, context=actor.context,
        )
    except ValidationFailed as exc:
        abandon()
        _show_service_error(form, exc)
        return _webhooks_page(form, status=422)
    hook = made.webhook
    form_nonce.finish(db_session(), record_id,
                      {"webhook_id": hook.id, "secret_shown": not entered_secret})
    # Flashes name a webhook by its id: a URL may be long, and a flash may wait in the
    # session cookie until the next page.
    flash(f"Webhook {hook.id} registered for {_event_kinds(hook.events)}.", "success")
    # A secret the admin typed is theirs already; one we generated is shown this once.
    return _webhooks_page(WebhookForm(formdata=None),
                          new_secret=None if entered_secret else made.secret, status=201)


def _set_active(webhook_id: int, active: bool) -> ResponseReturnValue:
    actor = current_actor()
    session = db_session()
    was_active = webhooks.get_webhook(session, webhook_id).active
    hook = webhooks.update_webhook(session, webhook_config(current_app), webhook_id,
                                   active=active, by=actor.user, context=actor.context)
    if was_active == active:
        flash(f"Webhook {hook.id} was already {'active' if active else 'inactive'}.", "info")
    elif active:
        flash(f"Webhook {hook.id} activated: new events are sent to it again.", "success")
    else:
        flash(f"Webhook {hook.id} deactivated: nothing more is sent to it, and deliveries "
              "still waiting are cancelled.", "success")
    return redirect(url_for("admin.webhooks_page"), 303)


@bp.post("/webhooks/<id:webhook_id>/secret")
def roll_webhook_secret(webhook_id: int) -> ResponseReturnValue:
    """A new generated signing secret, shown this once; the old one keeps signing beside
    it for the default grace period. Posting again (a refresh) rolls once more: the
    secret on screen is always the one in force."""
    actor = current_actor()
    made = webhooks.roll_secret(db_session(), webhook_config(current_app), webhook_id,
                                by=actor.user, context=actor.context)
    until = made.webhook.previous_secret_until
    flash(f"Webhook {webhook_id} has a new signing secret. Deliveries carry its signature "
          f"and, until {until:%Y-%m-%d %H:%M} UTC, the old secret's too: give the receiver "
          "the new one before then.", "success")
    return _webhooks_page(WebhookForm(formdata=None), new_secret=made.secret)


@bp.post("/webhooks/<id:webhook_id>/activate")
def activate_webhook(webhook_id: int) -> ResponseReturnValue:
    return _set_active(webhook_id, True)


@bp.post("/webhooks/<id:webhook_id>/deactivate")
def deactivate_webhook(webhook_id: int) -> ResponseReturnValue:
    return _set_active(webhook_id, False)


@bp.get("/webhooks/<id:webhook_id>/deliveries")
def webhook_deliveries(webhook_id: int) -> ResponseReturnValue:
    """One endpoint's deliveries, newest first, a page at a time (``?before=<id>``)."""
    session = db_session()
    hook = webhooks.get_webhook(session, webhook_id)
    before = read_models.parse_cursor(request.args.get("before"), read_models.MAX_ID)
    rows = webhook_reads.delivery_page(session, webhook_id, before=before,
                                       limit=DELIVERIES_PAGE + 1)
    return render_template(
        "admin/webhook_deliveries.html", hook=hook, deliveries=rows[:DELIVERIES_PAGE],
        dead=webhook_reads.dead_count(session, webhook_id),
        older=rows[DELIVERIES_PAGE - 1].id if len(rows) > DELIVERIES_PAGE else None,
        paged=before is not None,
    )


@bp.post("/webhooks/<id:webhook_id>/redrive")
def redrive_webhook(webhook_id: int) -> ResponseReturnValue:
    """Send this endpoint's dead deliveries again (after the receiver is fixed)."""
    actor = current_actor()
    session = db_session()
    webhooks.get_webhook(session, webhook_id)
    done = outbox.redrive(session, webhook_id=webhook_id, by=actor.user, context=actor.context)
    if done:
        flash(f"{len(done)} failed deliveries queued again: the next delivery run sends "
              "them.", "success")
    else:
        flash("No failed deliveries to send again.", "info")
    return redirect(url_for("admin.webhook_deliveries", webhook_id=webhook_id), 303)
