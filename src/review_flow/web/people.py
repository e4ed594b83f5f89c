"""Admin pages for people: the roster a page at a time, adding and inviting a person,
editing roles, name, credentials, specialties and the credentials' verification date,
deactivating and activating.

Thin views over ``users.changes`` (the rules, the lockout guard, the audit event naming
each field old → new), ``users.invitations`` (the one-time link) and ``users.service``
(activation), the services ``review-flow users`` calls too. A refused form is shown
again with a message on each bad field, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from review_flow.app import webhook_config
from review_flow.errors import PermissionDenied, ValidationFailed, field_messages
from review_flow.timeutil import utcnow
from review_flow.users import changes, invitations, roster
from review_flow.users import service as users
from review_flow.users.models import User
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import PlainForm
from review_flow.web.people_forms import (
    ROLE_CHOICES,
    AddPersonForm,
    PersonForm,
    form_errors,
    show_errors,
)

bp = Blueprint("people", __name__, url_prefix="/admin/people")

PAGE = 50
LIFETIME_KEY = "review_flow.invitation_lifetime"


def invitation_lifetime() -> Any:
    return current_app.extensions[LIFETIME_KEY]


def _list_page(form: AddPersonForm, *, status: int = 200) -> ResponseReturnValue:
    after = request.args.get("after") or None
    rows = roster.people_page(db_session(), after=after, limit=PAGE + 1)
    today = utcnow().date()
    return render_template(
        "admin/people.html", form=form, errors=form_errors(form), role_choices=ROLE_CHOICES,
        people=[(p, roster.verification(p, today)) for p in rows[:PAGE]],
        next_after=rows[PAGE - 1].email_key if len(rows) > PAGE else None,
        paged=after is not None,
    ), status


@bp.get("")
def people_page() -> ResponseReturnValue:
    return _list_page(AddPersonForm(formdata=None, data={"roles": ["reviewer"]}))


def _send_invitation(user: User) -> invitations.InvitationSent:
    actor = current_actor()
    return invitations.invite(
        db_session(), user, seal=webhook_config(current_app).box.seal,
        lifetime=invitation_lifetime(), now=utcnow(), invited_by=actor.user,
        context=actor.context)


@bp.post("")
def add_person() -> ResponseReturnValue:
    """Add a person and e-mail them their invitation, in one transaction."""
    form = AddPersonForm()
    if not form.validate():
        abandon()
        return _list_page(form, status=422)
    actor = current_actor()
    try:
        user = changes.add_person(
            db_session(), email=form.email.data or "", name=form.name.data or "",
            roles=form.roles.data or [], credentials=form.credentials.data,
            specialties=form.specialty_list(),
            credentials_verified_until=form.verified_until_value(),
            created_by=actor.user, today=utcnow().date(), context=actor.context)
        sent = _send_invitation(user)
    except ValidationFailed as exc:
        abandon()
        show_errors(form, field_messages(exc, "email"))
        return _list_page(form, status=422)
    flash(f"{user.name} was added. An invitation to choose a password was e-mailed to "
          f"{user.email}; the link works once, until "
          f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC.", "success")
    return redirect(url_for("people.person", user_id=user.id), 303)


def _person_page(user: User, form: PersonForm, *, status: int = 200) -> ResponseReturnValue:
    now = utcnow()
    return render_template(
        "admin/person.html", person=user, form=form, errors=form_errors(form),
        role_choices=ROLE_CHOICES, verification=roster.verification(user, now.date()),
        invitation=invitations.open_invitation(db_session(), user.id, now),
        is_self=user.id == current_actor().id, plain=PlainForm(formdata=None),
    ), status


@bp.get("/<id:user_id>")
def person(user_id: int) -> ResponseReturnValue:
    user = roster.get_person(db_session(), user_id)
    form = PersonForm(formdata=None)
    form.fill(name=user.name, credentials=user.credentials, specialties=list(user.specialties),
              verified_until=user.credentials_verified_until, roles=sorted(user.roles))
    return _person_page(user, form)


@bp.post("/<id:user_id>")
def save_person(user_id: int) -> ResponseReturnValue:
    """Save the edit form: one audit event naming what changed, or field errors."""
    user = roster.get_person(db_session(), user_id)
    form = PersonForm()
    if not form.validate():
        abandon()
        return _person_page(user, form, status=422)
    actor = current_actor()
    try:
        made = changes.update_person(
            db_session(), user, changed_by=actor.user, today=utcnow().date(),
            name=form.name.data, credentials=form.credentials.data,
            specialties=form.specialty_list(),
            credentials_verified_until=form.verified_until_value(),
            roles=form.roles.data or [], context=actor.context)
    except ValidationFailed as exc:
        abandon()
        db_session().expire_all()  # show the stored person beside the refused form
        show_errors(form, field_messages(exc, "name"))
        return _person_page(roster.get_person(db_session(), user_id), form, status=422)
    if made:
        flash(f"Saved {user.name}: changed {', '.join(_FIELD_WORDS.get(f, f) for f in made)}.",
              "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for("people.person", user_id=user.id), 303)


_FIELD_WORDS = {"name": "display name", "credentials": "credentials",
                "specialties": "specialties", "roles": "roles",
                "credentials_verified_until": "credentials verified until"}


@bp.post("/<id:user_id>/invite")
def invite(user_id: int) -> ResponseReturnValue:
    """Send a new invitation link (earlier ones stop working)."""
    PlainForm()  # CSRF was checked before the view
    user = roster.get_person(db_session(), user_id)
    try:
        sent = _send_invitation(user)
    except ValidationFailed as exc:
        abandon()
        flash(f"No invitation was sent: {exc.message}", "error")
        return redirect(url_for("people.person", user_id=user.id), 303)
    flash(f"A new invitation was e-mailed to {user.email}; it works once, until "
          f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC. Earlier links no longer work.",
          "success")
    return redirect(url_for("people.person", user_id=user.id), 303)


def _set_active(user_id: int, active: bool) -> ResponseReturnValue:
    PlainForm()  # CSRF was checked before the view
    actor = current_actor()
    user = roster.get_person(db_session(), user_id)
    if user.active == active:
        flash(f"{user.name} was already {'active' if active else 'deactivated'}.", "info")
        return redirect(url_for("people.person", user_id=user.id), 303)
    try:
        ended = users.set_active(db_session(), user, active, changed_by=actor.user,
                                 context=actor.context)
    except PermissionDenied as exc:
        abandon()
        flash(exc.message, "error")
    else:
        flash(f"{user.name} can sign in again." if active else
              f"{user.name} is deactivated: they can no longer sign in or act "
              f"({ended} session{'s' if ended != 1 else ''} ended).", "success")
    return redirect(url_for("people.person", user_id=user.id), 303)


@bp.post("/<id:user_id>/deactivate")
def deactivate(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, False)


@bp.post("/<id:user_id>/activate")
def activate(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, True)
