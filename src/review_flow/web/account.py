"""A person's own settings: which kinds of e-mail they receive.

The e-mails themselves say "you can turn this kind of e-mail off in your notification
settings"; this is that page. A thin view over ``notifications.preferences``, the same
service behind ``PUT /api/v1/me/notifications`` and ``review-flow notifications set``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from review_flow.errors import ValidationFailed
from review_flow.notifications import preferences
from review_flow.notifications.kinds import EMAIL_KINDS
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import NotificationsForm

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
