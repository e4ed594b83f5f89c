"""Admin pages: API tokens for people and pipelines (create, shown once; revoke).

Thin views over ``tokens.service``; the token's secret is rendered once in the answer
to the POST that made it and never stored, flashed or logged.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from review_flow.errors import ReviewFlowError
from review_flow.tokens import service as tokens
from review_flow.tokens.models import ApiToken
from review_flow.users import service as users
from review_flow.web.context import current_actor, db_session
from review_flow.web.forms import PlainForm, TokenForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(form: TokenForm, *, new_token: str | None = None, status: int = 200
          ) -> ResponseReturnValue:
    # ApiToken.user is joined eagerly: one query for the whole list.
    rows = db_session().scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("admin/tokens.html", form=form, tokens=rows, new_token=new_token,
                           revoke_form=PlainForm()), status


@bp.get("/tokens")
def tokens_page() -> ResponseReturnValue:
    return _page(TokenForm())


@bp.post("/tokens")
def create_token() -> ResponseReturnValue:
    form = TokenForm()
    actor = current_actor()
    try:
        user = users.get_by_email(db_session(), form.email.data or "")
        made = tokens.create_token(db_session(), user, name=form.name.data or "",
                                   created_by=actor.user, context=actor.context)
    except ReviewFlowError as exc:
        form.email.errors = [exc.message]
        return _page(form, status=422)
    return _page(TokenForm(formdata=None), new_token=made.plaintext, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    actor = current_actor()
    token = tokens.revoke_token(db_session(), token_id, by=actor.user, context=actor.context)
    flash(f"Token {token.prefix}… revoked: it no longer works.", "success")
    return redirect(url_for("admin.tokens_page"), 303)
