"""A person's own settings: which kinds of e-mail they receive, and where they are signed in.

The e-mails themselves say "you can turn this kind of e-mail off in your notification
settings"; that page is a thin view over ``notifications.preferences``, the same
service behind ``PUT /api/v1/me/notifications`` and ``review-flow notifications set``.
The security page lists the person's live sign-in sessions (``users/sessions.py``) and
ends them all at once ("Sign out everywhere").
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from review_flow.audit import log as audit
from review_flow.errors import ValidationFailed
from review_flow.notifications import preferences
from review_flow.notifications.kinds import EMAIL_KINDS
from review_flow.timeutil import utcnow
from review_flow.users import sessions
from review_flow.web.auth import end_browser_session
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import NotificationsForm, PlainForm

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
        form.kinds.errors = [*form.kinds.errors, exc.message.removeprefix("kind: ")]
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
