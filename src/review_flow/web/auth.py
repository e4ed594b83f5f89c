"""Signing in and out. Every attempt, good or bad, is an audit event; repeated failures
lock the e-mail (and the client address) for a while (``throttle.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from review_flow.audit import log as audit
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from review_flow.users import sessions
from review_flow.users.models import User
from review_flow.web import access, throttle
from review_flow.web.context import WebUser, db_session, request_context
from review_flow.web.forms import PlainForm, SignInForm

bp = Blueprint("auth", __name__)


def is_safe_path(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no ``//`` or ``/\\`` tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ord(c) < 32 or c == "\\" for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if target is not None and is_safe_path(target) else default


def home_for(user: access.Principal) -> str:
    """Where a person lands after signing in."""
    if access.can_review(user) and "reviewer" in user.roles:
        return "/review"
    if access.can_write(user):
        return "/my-articles"
    if access.can_review(user):
        return "/review"
    if access.can_read_audit_log(user):
        return "/audit"
    return "/"


def throttle_policy() -> throttle.ThrottlePolicy:
    """The sign-in throttle's limits (the own-password page counts against them too)."""
    cfg = current_app.config
    default = throttle.ThrottlePolicy()
    return throttle.ThrottlePolicy(
        max_failures_per_email=int(cfg.get("SIGN_IN_MAX_FAILURES", default.max_failures_per_email)),
        max_failures_per_address=int(
            cfg.get("SIGN_IN_MAX_FAILURES_PER_ADDRESS", default.max_failures_per_address)
        ),
    )


def wait_minutes(seconds: float) -> int:
    return max(1, int(seconds // 60) + (1 if seconds % 60 else 0))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data, home_for(current_user)), 303)
        return render_template("auth/sign_in.html", form=form)
    if not form.validate():  # CSRF is checked before the view; this is the shape
        return render_template("auth/sign_in.html", form=form), 400
    email = (form.email.data or "").strip()[:320]
    password = form.password.data or ""
    session_db = db_session()
    now = utcnow()
    ctx = request_context()
    keys = throttle.keys_for(users.email_key(email), ctx.client_addr)
    locked = throttle.locked_until(session_db, keys, now)
    if locked is not None:
        audit.record(session_db, actor_id=None, actor_name=email or "(blank)",
                     action="auth.sign_in_failed", object_type="user", context=ctx,
                     data={"email": email, "reason": "locked"})
        wait = wait_minutes((locked - now).total_seconds())
        msg = (f"Too many failed sign-in attempts. Try again in {wait} minute"
               f"{'s' if wait != 1 else ''}.")
        return render_template("auth/sign_in.html", form=form, error=msg), 429
    user = users.authenticate(session_db, email, password) if email and password else None
    if user is None:
        lock = throttle.record_failure(session_db, keys, now, throttle_policy())
        audit.record(session_db, actor_id=None, actor_name=email or "(blank)",
                     action="auth.sign_in_failed", object_type="user", context=ctx,
                     data={"email": email, "reason": "locked_now" if lock else "bad_credentials"})
        msg = "The email or password is not correct."
        status = 401
        if lock is not None:
            wait = wait_minutes((lock - now).total_seconds())
            msg += f" Too many failed attempts: sign-in is locked for {wait} minutes."
            status = 429
        return render_template("auth/sign_in.html", form=form, error=msg), status
    throttle.clear(session_db, keys[0])
    web_user = begin_browser_session(user, remember=bool(form.remember.data))
    flash(f"Signed in as {user.name}.", "success")
    return redirect(safe_next(form.next.data, home_for(web_user)), 303)


def begin_browser_session(user: User, *, remember: bool, via: str | None = None) -> WebUser:
    """Sign ``user`` in in this browser: a new server-side session (this browser's earlier
    one ends), its audit event, and fresh cookies. ``via`` names another way in than the
    sign-in form (an invitation)."""
    session_db = db_session()
    now = utcnow()
    ctx = request_context()
    if current_user.is_authenticated:  # signing in again in this browser: the old one ends
        sessions.revoke(session_db, current_user.session_id, now)
    token, row = sessions.start(
        session_db, user, now=now, remember=remember, user_agent=request.user_agent.string,
        client_addr=ctx.client_addr,
        lifetime=current_app.config["REMEMBER_COOKIE_DURATION"] if remember else None)
    audit.record(session_db, actor_id=user.id, actor_name=user.name, action="auth.sign_in",
                 object_type="user", object_id=user.id, context=ctx,
                 data={"remember": remember, "session": row.id, **({"via": via} if via else {})})
    session.clear()  # a fresh session: no fixation of a cookie set before signing in
    web_user = WebUser.of(user, session_id=row.id, token=token)
    login_user(web_user, remember=remember)
    return web_user


def end_browser_session() -> None:
    """Forget the signed-in person in this browser: the session cookie's contents, and the
    remember cookie (Flask-Login deletes it on the way out when ``logout_user`` marked it,
    so the marker must be set after clearing, not erased by it)."""
    session.clear()
    logout_user()


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Ends this browser's server-side session: a copy of its cookies is worth nothing."""
    PlainForm()  # CSRF was checked before the view
    web_user = current_user._get_current_object()  # type: ignore[attr-defined]
    sessions.revoke(db_session(), web_user.session_id, utcnow())
    audit.record(db_session(), actor_id=web_user.id, actor_name=web_user.name,
                 action="auth.sign_out", object_type="user", object_id=web_user.id,
                 context=request_context(), data={"session": web_user.session_id})
    end_browser_session()
    flash("You are signed out.", "success")
    return redirect("/", 303)
