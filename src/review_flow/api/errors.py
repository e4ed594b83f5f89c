"""API error shape: ``{"error": {"code", "message", "details"}}`` for every failure,
whether a domain error, a refused request, or an unexpected crash."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from review_flow.api.error_codes import ERROR_CODES
from review_flow.errors import ReviewFlowError

log = logging.getLogger(__name__)


class Malformed(ReviewFlowError):
    code = "malformed_request"
    status = 400


class Unauthorized(ReviewFlowError):
    code = "unauthorized"
    status = 401


class TooLarge(ReviewFlowError):
    code = "request_too_large"
    status = 413


class UnsupportedMediaType(ReviewFlowError):
    code = "unsupported_media_type"
    status = 415


def invalid_if_match() -> Malformed:
    return Malformed(
        'If-Match: expected an ETag from this API such as "v3".',
        code="invalid_if_match",
        fields={"If-Match": "invalid"},
    )


_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if code not in ERROR_CODES:
        log.error("API error code %r is not in api/error_codes.py; answered as 'error'", code)
        code = "error"
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def from_domain(exc: ReviewFlowError) -> Response:
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="review-flow"'
    current = exc.details.get("current_version")
    if isinstance(current, int):
        # A stale write learns the version to retry against, as an ETag too.
        headers["ETag"] = f'"v{current}"'
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers: dict[str, str] = {}
    details: dict[str, Any] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="review-flow"'
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        details["allowed_methods"] = sorted(exc.valid_methods)  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(details["allowed_methods"])
    return error_response(
        status, _HTTP_CODES.get(status, "http_error"), exc.description or exc.name, details, headers
    )


def from_crash(exc: Exception) -> Response:
    log.exception("API request failed", exc_info=exc)
    return error_response(
        500, "internal_error", "The server failed to handle this request; it has been logged."
    )
