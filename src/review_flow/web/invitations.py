"""The invitation link's page: the invited person chooses their password and is signed in.

Public (the person has no password yet); the token in the address is the credential.
A link that cannot be used says why (unknown, used, replaced, expired) with status 410
and writes nothing; a refused password leaves the link usable.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template
from flask.typing import ResponseReturnValue

from review_flow.errors import ValidationFailed, field_messages
from review_flow.timeutil import utcnow
from review_flow.users import invitations
from review_flow.users.passwords import MIN_PASSWORD_LENGTH
from review_flow.web.auth import begin_browser_session, home_for
from review_flow.web.context import abandon, db_session, request_context
from review_flow.web.people_forms import AcceptInvitationForm, form_errors, show_errors

bp = Blueprint("invitations", __name__, url_prefix="/invitations")


@bp.after_request
def _private(response: Response) -> Response:
    """The address holds a credential: no cache keeps the page, no link passes it on."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(form: AcceptInvitationForm, token: str, *, person: str | None = None,
          refusal: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("auth/invitation.html", form=form, token=token, person=person,
                           refusal=refusal, errors=form_errors(form),
                           min_length=MIN_PASSWORD_LENGTH), status


@bp.get("/<token>")
def accept(token: str) -> ResponseReturnValue:
    try:
        _, user = invitations.check(db_session(), token, utcnow())
    except invitations.InvitationInvalid as exc:
        return _page(AcceptInvitationForm(formdata=None), token, refusal=exc.message,
                     status=exc.status)
    return _page(AcceptInvitationForm(formdata=None), token, person=user.name)


@bp.post("/<token>")
def choose_password(token: str) -> ResponseReturnValue:
    form = AcceptInvitationForm()
    now = utcnow()
    try:
        _, user = invitations.check(db_session(), token, now)
    except invitations.InvitationInvalid as exc:
        abandon()
        return _page(AcceptInvitationForm(formdata=None), token, refusal=exc.message,
                     status=exc.status)
    password = form.password.data or ""
    if password != (form.repeat.data or ""):
        abandon()
        form.repeat.errors = ["The two new passwords are not the same; type the new one again."]
        return _page(form, token, person=user.name, status=422)
    try:
        user = invitations.accept(db_session(), token, password, now=now,
                                  context=request_context())
    except invitations.InvitationInvalid as exc:
        abandon()
        return _page(AcceptInvitationForm(formdata=None), token, refusal=exc.message,
                     status=exc.status)
    except ValidationFailed as exc:
        abandon()
        show_errors(form, field_messages(exc, "password"))
        return _page(form, token, person=user.name, status=422)
    web_user = begin_browser_session(user, remember=False, via="invitation")
    flash(f"Welcome, {user.name}: your password is set and you are signed in.", "success")
    return redirect(home_for(web_user), 303)
