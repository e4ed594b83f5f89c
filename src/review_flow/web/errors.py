"""Friendly error pages: 400 (expired form), 401, 403, 404, 405, 409, 422, 429, 500.

Domain errors (``review_flow.errors``) carry their own status and a message written for
people; a 409 explains that the article changed since the page was opened and offers
to reload it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from review_flow.errors import ReviewFlowError
from review_flow.web.auth import is_safe_path

TITLES = {
    400: "This form has expired",
    401: "Please sign in",
    403: "You may not do that",
    404: "Page not found",
    405: "Not allowed here",
    409: "This article changed since you opened the page",
    422: "Please check what you entered",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


def reload_target() -> str:
    """Where "Reload" goes: the page the form came from, else the article's review page.

    A refused signature goes back to the review page: the signature step itself carries
    the old content hash, and the reviewer must read the new text first.
    """
    article_id = (request.view_args or {}).get("article_id")
    if request.endpoint == "review.sign" and article_id is not None:
        return url_for("review.article", article_id=article_id)
    candidate = request.form.get("return_to") if request.method == "POST" else request.full_path
    if is_safe_path(candidate):
        return candidate  # type: ignore[return-value]
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and is_safe_path(parts.path or "/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    if article_id is not None:
        return url_for("review.article", article_id=article_id)
    return "/"


def _page(status: int, message: str, *, code: str | None = None) -> ResponseReturnValue:
    return render_template(
        "errors/error.html", status=status, title=TITLES.get(status, "Error"), message=message,
        code=code, reload_to=reload_target() if status == 409 else None,
    ), status


def register(app: Flask) -> None:
    @app.errorhandler(ReviewFlowError)
    def domain_error(exc: ReviewFlowError) -> ResponseReturnValue:
        status = exc.status if exc.status in TITLES else 500
        if status == 500:
            current_app.logger.error("domain error %s: %s", exc.code, exc.message)
        return _page(status, exc.message, code=exc.code)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return _page(400, "The form was missing its security token or it has expired. "
                          "Go back, reload the page and try again. Nothing was saved.",
                     code="csrf")

    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if exc.code is None or exc.code < 400 or request.blueprint == "api" or (
                request.blueprint or "").startswith("api."):
            return exc
        default = {
            403: "Your account does not have access to this page.",
            404: "There is nothing at this address. It may have been moved, or the "
                 "article may not be public.",
            405: "This address does not accept that kind of request.",
        }
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or default.get(exc.code) or exc.description or ""
        return _page(exc.code, message)

    # By code as well as by class: handlers registered later for one code (the API's JSON
    # 404/405 outside /api/v1) fall back to the handler registered for that code.
    app.register_error_handler(HTTPException, http_error)
    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, http_error)

    @app.errorhandler(500)
    def server_error(exc: Exception) -> ResponseReturnValue:
        return _page(500, "The error has been logged. Please try again in a moment; "
                          "nothing was saved.")
