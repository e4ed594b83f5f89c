"""A person's own settings: which kinds of e-mail they receive, and where they are signed in.

The e-mails themselves say "you can turn this kind of e-mail off in your notification
settings"; that page is a thin view over ``notifications.preferences``, the same
service behind ``PUT /api/v1/me/notifications`` and ``review-flow notifications set``.
The security page lists the person's live sign-in sessions (``users/sessions.py``) and
ends them all at once ("Sign out everywhere"); the password page changes the person's
own password (their other sessions end).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.actor import Actor
from review_flow.audit import log as audit
from review_flow.errors import ValidationFailed, field_messages
from review_flow.notifications import preferences
from review_flow.notifications.kinds import EMAIL_KINDS
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from review_flow.users import sessions
from review_flow.users.passwords import MIN_PASSWORD_LENGTH, verify_password
from review_flow.web import throttle
from review_flow.web.auth import end_browser_session, throttle_policy, wait_minutes
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import NotificationsForm, PlainForm
from review_flow.web.people_forms import ChangePasswordForm, form_errors, show_errors

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(form: NotificationsForm, *, status: int = 200) -> ResponseReturnValue:
    return render_template("account/notifications.html", form=form,
                           kinds=list(EMAIL_KINDS.values())), status


@bp.get("/notifications")
def notifications() -> ResponseReturnValue:
    current = preferences.email_preferences(db_session(), current_actor().id)
    form = NotificationsForm(formdata=None, data={"kinds": [k for k, on in current.items() if on]})
    return _page(form)


@bp.post("/notifications")
def save_notifications() -> ResponseReturnValue:
    """Every kind listed is on; every other kind is off. Bad input writes nothing."""
    form = NotificationsForm()
    if not form.validate():
        abandon()
        return _page(form, status=422)
    actor = current_actor()
    chosen = set(form.kinds.data or [])
    try:
        before = preferences.email_preferences(db_session(), actor.id)
        # Unknown names go to the service too: it refuses them, naming them.
        changes = {k: k in chosen for k in EMAIL_KINDS} | dict.fromkeys(chosen, True)
        after = preferences.set_email_preferences(db_session(), actor.user, changes,
                                                  context=actor.context)
    except ValidationFailed as exc:
        abandon()
        form.kinds.errors = [*form.kinds.errors, exc.message]
        return _page(form, status=422)
    if after == before:
        flash("Nothing changed.", "info")
    else:
        flash("Notification settings saved.", "success")
    return redirect(url_for("account.notifications"), 303)


@bp.get("/security")
def security() -> ResponseReturnValue:
    web_user = current_user._get_current_object()  # type: ignore[attr-defined]
    live = sessions.live_sessions(db_session(), web_user.id, utcnow())
    return render_template("account/security.html", sessions=live,
                           this_session=web_user.session_id, form=PlainForm(formdata=None))


@bp.post("/sign-out-everywhere")
def sign_out_everywhere() -> ResponseReturnValue:
    """Ends every session of the person, this one included; remember cookies die with them."""
    PlainForm()  # CSRF was checked before the view
    actor = current_actor()
    ended = sessions.revoke_all(db_session(), actor.id, utcnow())
    audit.record(db_session(), actor_id=actor.id, actor_name=actor.user.name,
                 action="auth.sign_out_everywhere", object_type="user", object_id=actor.id,
                 context=actor.context, data={"sessions_ended": ended})
    end_browser_session()
    flash(f"You are signed out everywhere ({ended} session{'s' if ended != 1 else ''} "
          "ended).", "success")
    return redirect("/", 303)


# --- own password ------------------------------------------------------------------------


def _password_page(form: ChangePasswordForm, *, error: str | None = None,
                   status: int = 200) -> ResponseReturnValue:
    return render_template("account/password.html", form=form, error=error,
                           errors=form_errors(form),
                           min_length=MIN_PASSWORD_LENGTH), status


@bp.get("/password")
def password() -> ResponseReturnValue:
    return _password_page(ChangePasswordForm(formdata=None))


@bp.post("/password")
def change_password() -> ResponseReturnValue:
    """The current password, then the new one twice. A wrong current password counts
    against the sign-in throttle of the person's e-mail and address (a stolen session
    cannot guess its way to the password); the new one ends every other session."""
    form = ChangePasswordForm()
    actor = current_actor()
    web_user = current_user._get_current_object()  # type: ignore[attr-defined]
    session_db = db_session()
    now = utcnow()
    keys = throttle.keys_for(users.email_key(actor.user.email), actor.context.client_addr)
    locked = throttle.locked_until(session_db, keys, now)
    if locked is not None:
        _password_failed(actor, "locked")
        wait = wait_minutes((locked - now).total_seconds())
        return _password_page(form, error=(
            f"Too many wrong passwords. Try again in {wait} minute{'s' if wait != 1 else ''}."),
            status=429)
    if not verify_password(actor.user.password_hash, form.current.data or ""):
        lock = throttle.record_failure(session_db, keys, now, throttle_policy())
        _password_failed(actor, "locked_now" if lock else "wrong_password")
        form.current.errors = ["The current password is not correct."]
        if lock is not None:
            wait = wait_minutes((lock - now).total_seconds())
            return _password_page(form, error=(
                f"The current password is not correct. Too many wrong passwords: changing "
                f"it is locked for {wait} minutes."), status=429)
        return _password_page(form, status=401)
    new = form.password.data or ""
    if new != (form.repeat.data or ""):
        abandon()
        form.repeat.errors = ["The two new passwords are not the same; type the new one again."]
        return _password_page(form, status=422)
    try:
        ended = users.set_password(session_db, actor.user, new, changed_by=actor.user,
                                   context=actor.context, keep_session_id=web_user.session_id)
    except ValidationFailed as exc:
        abandon()
        show_errors(form, field_messages(exc, "password"))
        return _password_page(form, status=422)
    throttle.clear(session_db, keys[0])
    flash("Your password was changed." + (
        f" Your other sessions ended ({ended})." if ended else ""), "success")
    return redirect(url_for("account.security"), 303)


def _password_failed(actor: Actor, reason: str) -> None:
    audit.record(db_session(), actor_id=actor.id, actor_name=actor.user.name,
                 action="auth.password_change_failed", object_type="user",
                 object_id=actor.id, context=actor.context, data={"reason": reason})
