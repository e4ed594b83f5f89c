"""The browser UI: server-rendered pages over the service layer (``init_app`` wires it).

Kept import-light on purpose: ``review_flow.models`` imports ``web.throttle`` for its
table, and that must not pull in Flask extensions.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}



def truthy(value: Any) -> bool:
    """A setting that may come from the environment as text ("1", "true", "on")."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def configure(app: Flask) -> None:
    """Cookie and CSRF settings; ``REVIEW_FLOW_SECURE_COOKIES=1`` behind HTTPS."""
    secure = truthy(app.config.get("SECURE_COOKIES", "0"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        # "Remember me" is opt-in (unchecked by default) and lasts two weeks, not a year.
        REMEMBER_COOKIE_DURATION=timedelta(days=14),
        # CSRF is checked by our own before_request (see _authorize), so token-authenticated
        # API routes can be left out by rule rather than by a list of exemptions.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A reviewer may read for a long time before signing; the token still dies with
        # the session.
        WTF_CSRF_TIME_LIMIT=None,
    )


def init_app(app: Flask) -> None:
    from flask import Blueprint, g, redirect, request, url_for
    from flask_login import LoginManager, current_user
    from flask_wtf.csrf import CSRFProtect
    from werkzeug.exceptions import Forbidden, Unauthorized

    from review_flow.web import (
        access,
        account,
        admin,
        as_of,
        audit_log,
        auth,
        authoring,
        compare,
        errors,
        integrity,
        invitations,
        people,
        policy_page,
        public,
        reference_checks,
        review,
        review_due,
        rounds,
        signatures_report,
        threads,
        timeline,
        trail_reviews,
    )
    from review_flow.web.context import (
        SAFE_METHODS,
        Anonymous,
        close_session,
        install,
        load_user,
    )
    from review_flow.web.converters import IdConverter
    from review_flow.web.input_gate import refuse_nul
    from review_flow.web.templating import register_template_helpers

    configure(app)
    from review_flow.users.invitations import lifetime_from_days

    # A malformed REVIEW_FLOW_INVITATION_DAYS stops start-up here, naming the setting.
    app.extensions[people.LIFETIME_KEY] = lifetime_from_days(app.config.get("INVITATION_DAYS"))
    app.url_map.converters["id"] = IdConverter
    csrf = CSRFProtect(app)
    login = LoginManager(app)
    login.anonymous_user = Anonymous  # type: ignore[assignment]
    login.session_protection = "basic"
    login.user_loader(load_user)

    assets = Blueprint("assets", __name__, static_folder="static", static_url_path="/assets")
    web_blueprints = (assets, public.bp, auth.bp, authoring.bp, review.bp, audit_log.bp,
                      admin.bp, account.bp, people.bp, invitations.bp, compare.bp,
                      rounds.bp, policy_page.bp, review_due.bp, timeline.bp, as_of.bp,
                      threads.bp, reference_checks.bp, signatures_report.bp, integrity.bp,
                      trail_reviews.bp)
    for blueprint in web_blueprints:
        app.register_blueprint(blueprint)
    # The browser's pages get the security headers: every blueprint registered here (a
    # list of names kept by hand silently missed new pages).
    page_blueprints = frozenset(bp.name for bp in web_blueprints)
    install(app)  # one unit of work per request, committed when a write's view succeeds

    @app.before_request
    def _request_id() -> None:
        g.request_id = uuid.uuid4().hex

    @app.before_request
    def _authorize() -> Any:
        """Deny by default: every endpoint needs a rule in ``access.ROUTE_RULES``."""
        if request.routing_exception is not None:
            return None  # 404 / 405: let routing report it
        rule = access.rule_for(request.endpoint)
        if rule is None:
            app.logger.error("no access rule for endpoint %s; refusing", request.endpoint)
            raise Forbidden("This page has no access rule.")
        if rule.token_auth:
            return None
        refuse_nul(request)
        if request.method not in SAFE_METHODS and app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        if request.method not in SAFE_METHODS and access.refuses_auditor_post(
                current_user, request.endpoint):
            raise Forbidden("Auditors change nothing: this form is not for the auditor role.")
        if rule.allows(current_user):
            return None
        if not current_user.is_authenticated:
            if request.method in SAFE_METHODS:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")),
                                303)
            raise Unauthorized("Sign in first, then try again.")
        raise Forbidden(f"This page is for: {rule.name}.")

    @app.after_request
    def _headers(response: Any) -> Any:
        if (request.blueprint or "") in page_blueprints or request.endpoint is None:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            loaded = g.get("_login_user")  # not current_user: no user query for assets
            if loaded is not None and loaded.is_authenticated:
                response.headers.setdefault("Cache-Control", "private, no-store")
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        return response

    app.teardown_appcontext(close_session)
    errors.register(app)
    register_template_helpers(app)
