"""``/api/v1``: the frame every handler runs in.

Each handler: the request was validated against its declared schema (spectree +
pydantic, which also generate the OpenAPI document), then one unit of work — a write
transaction for POST/PUT (authentication, idempotency record, the change, its audit event
and its outbox rows commit together) or a read-only session for GET. This module holds
the blueprint, the schema registry, the request gate, those units of work and the error
shapes; the handlers are in ``article_routes``, ``audit_routes`` and ``admin_routes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_limiter import RateLimitExceeded
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData
from spectree.models import SecureType
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from review_flow.actor import Actor
from review_flow.api import auth, document, idempotency, pagination, ratelimit
from review_flow.api import schemas as s
from review_flow.api.errors import (
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    error_response,
    from_crash,
    from_domain,
    from_http,
    invalid_if_match,
)
from review_flow.api.naming import NamedSpecTree
from review_flow.app import database
from review_flow.articles import content
from review_flow.errors import PermissionDenied, ReviewFlowError, ValidationFailed
from review_flow.notifications import webhooks
from review_flow.users.roles import Role

DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
INT_ID = "int(min=1, max=2147483647)"
# Roles that read every article; authors read their own.
READ_ALL_ROLES = frozenset({Role.REVIEWER, Role.EDITOR, Role.AUDITOR, Role.ADMIN})
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.EDITOR, Role.ADMIN})

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _validation_failed(_req: Any, _resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's hook: turn a pydantic error into our 422 naming every failing field."""
    if error is None:
        return
    auth.check_token_only()
    assert isinstance(error, ValidationError)
    fields: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for e in error.errors(include_url=False):
        # Inputs with their own error codes (each documented by a pattern): the same
        # answer as when the handler parses them.
        if e["loc"] == ("cursor",):
            raise pagination.invalid()
        if e["loc"] == (idempotency.HEADER,):
            idempotency.parse_key(str(e["input"]))
        if e["loc"] == ("If-Match",):
            raise invalid_if_match()
        path = ""
        for part in e["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        rule = s.PATTERN_RULES.get(str((e.get("ctx") or {}).get("pattern")))
        fields[path or "(body)"] = rule or e["msg"].removeprefix("Value error, ")
        problems.append({"code": "validation_failed", "field": path or "(body)",
                         "message": _said(e, path or "(body)", fields[path or "(body)"])})
    raise ValidationFailed(" ".join(p["message"] for p in problems), fields=fields,
                           problems=problems)


def _said(e: Any, path: str, rule: str) -> str:
    """One refused input in words: references numbered from 1 as people count them (the
    ``field`` keeps the JSON path), the article's title as the editor says it."""
    loc = e["loc"]
    if len(loc) >= 2 and loc[0] == "references" and isinstance(loc[1], int):
        return f"Reference {loc[1] + 1}: {content.reference_words({**e, 'loc': loc[2:]})}"
    if loc == ("title",) and e["type"] in ("missing", "string_too_short", "too_short",
                                           "string_pattern_mismatch"):
        return "Give the article a title."
    if loc in _WORDS and e["type"] in ("string_pattern_mismatch", "missing"):
        return _WORDS[loc]
    if e["type"] == "missing":
        return f"The request needs a value for {path}."
    limit = (e.get("ctx") or {}).get("max_length")
    if e["type"] in ("string_too_long", "too_long") and limit is not None:
        unit = "characters" if isinstance(e.get("input"), str) else "items"
        return f"The value for {path} has at most {limit} {unit}."
    # pydantic says "String should have at most 100 characters": the value's own name
    # (the JSON path, which is also the ``fields`` key) takes the type's place.
    for kind in ("String ", "Input ", "List ", "Value ", "Dictionary "):
        if rule.startswith(kind + "should "):
            return f"The value for {path} {rule.removeprefix(kind)}."
    if rule.startswith("must "):
        return f"The value for {path} {rule}."
    return f"The value for {path} is not accepted: {rule[0].lower()}{rule[1:]}."


# Inputs people know by another name than their JSON key (top-level, as the API has them).
_WORDS: dict[tuple[Any, ...], str] = {
    ("url",): "Enter the webhook's address as an http:// or https:// URL.",
    ("secret",): f"The signing secret must be {webhooks.SECRET_RULE}.",
}


class ResponseDrift(RuntimeError):
    """A handler answered something its declared schema does not allow (a bug)."""


def _response_checked(_req: Any, _resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's after-hook: a response that breaks its schema is our bug, reported as a
    500 in the usual error shape (and logged with the validation errors)."""
    if error is not None:
        raise ResponseDrift(f"response does not match its declared schema: {error}")


spec = NamedSpecTree(
    "flask",
    title="review-flow API",
    description="Drafts, workflow actions, history and the audit log for writing pipelines "
    "and integrations. Authenticate with 'Authorization: Bearer <token>'. Every error is "
    '{"error": {"code", "message", "details"}}, code from a closed list. Every answer carries '
    "the RateLimit-Policy and RateLimit fields; over a limit it is 429 with Retry-After. A "
    "method a path does not have answers 405 with Allow (each path says which). Times are "
    "RFC 3339 date-times. Webhook deliveries follow Standard Webhooks: a JSON body "
    '{"id", "type", "created_at", "data"} whose created_at is the payload timestamp the '
    "specification names (the same on every retry); the webhook-timestamp header is when "
    "that attempt was signed, in Unix seconds.",
    version="1",
    path="docs",
    page_templates={},
    mode="strict",
    before=_validation_failed,
    after=_response_checked,
    validation_error_status=422,
    validation_error_model=s.ErrorResponse,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        )
    ],
    security={"bearer": []},
)


def responses(**ok: Any) -> Response:
    """The success models of an endpoint plus every error it can answer, all one shape."""
    errors = {
        f"HTTP_{c}": s.ErrorResponse for c in (400, 401, 403, 404, 409, 413, 415, 422, 429)
    }
    return Response(**errors, **ok)


# --- request gate ---------------------------------------------------------------------



def _check_json(value: Any, path: str = "") -> None:
    """Refuse what no schema can express: NUL characters and lone surrogates anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            where = path or "(body)"
            raise ValidationFailed(
                f"The value at {where} contains a NUL character, which no text here may "
                "hold; remove it.", fields={where: "contains NUL"}
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed(
                f"{path or 'body'}: not valid Unicode text", code="malformed_json"
            ) from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_json(k, path)
            _check_json(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]")


@bp.before_request
def _gate() -> None:
    """Size, authentication header and JSON syntax, before any handler or validation."""
    if request.endpoint in (f"{bp.name}.openapi", f"{bp.name}.openapi_docs"):
        return
    limit = int(current_app.config.get("API_MAX_CONTENT_LENGTH") or DEFAULT_MAX_CONTENT_LENGTH)
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request body is over the limit of {limit} bytes.", limit=limit)
    request.max_content_length = limit  # also stops chunked bodies without a length
    auth.bearer()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        auth.refuse_auditor_writes()
    if request.method in ("POST", "PUT", "PATCH"):
        data = request.get_data(cache=True)
        if not data.strip():
            return
        if request.mimetype != "application/json":
            auth.check_token_only()
            raise UnsupportedMediaType("Send JSON with 'Content-Type: application/json'.")
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError) as exc:
            auth.check_token_only()
            raise Malformed(f"The body is not valid JSON: {exc}.", code="malformed_json") from None
        try:
            _check_json(parsed)
        except ReviewFlowError:
            auth.check_token_only()
            raise
        g.api_json = parsed  # for the Idempotency-Key fingerprint


# --- units of work --------------------------------------------------------------------

Work = Callable[[Session, Actor], idempotency.Stored]


def write(work: Work, *, idempotent: bool = False) -> Any:
    """One write transaction; with ``Idempotency-Key`` on POST, at most one effect."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER)) if idempotent else None
    replayed = False
    with database(current_app).transaction() as session:
        actor = auth.authenticate(session, writing=True)
        record_id = None
        if key is not None:
            fp = idempotency.fingerprint(request.method, request.path, g.get("api_json"))
            record_id, stored = idempotency.begin(session, actor.id, key, fp)
            if stored is not None:
                answer, replayed = stored, True
        if not replayed:
            answer = work(session, actor)
            if record_id is not None:
                idempotency.finish(session, record_id, answer)
    headers = dict(answer.headers)
    if replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return answer.body, answer.status, headers


def read(work: Callable[[Session, Actor], Any]) -> Any:
    with database(current_app).reading() as session:
        actor = auth.authenticate(session, writing=False)
        return work(session, actor)


def require(actor: Actor, roles: frozenset[str], what: str) -> None:
    if not actor.roles & roles:
        raise PermissionDenied(
            f"{what} requires one of the roles: {', '.join(sorted(roles))}.",
            code="role_required",
            roles=sorted(roles),
        )


# --- shapes shared by the route modules ----------------------------------------------


def page(
    items: list[Any], limit: int, kind: str, key: Callable[[Any], int]
) -> tuple[list[Any], str | None]:
    """Trim the one-extra row we fetched; its presence means there is a next page."""
    if len(items) > limit:
        items = items[:limit]
        cursor = pagination.encode(kind, key(items[-1]))
        g.api_next_cursor = cursor  # for the Link header (``_link_next``)
        return items, cursor
    return items, None


@bp.after_request
def _link_next(response: Any) -> Any:
    """``Link: <...>; rel="next"`` beside ``next_cursor`` on a list page that has a next."""
    cursor = g.pop("api_next_cursor", None)
    if cursor is not None and response.status_code == 200:
        args = list(request.args.items(multi=True))
        response.headers["Link"] = pagination.next_link(request.path, args, cursor)
    return response



# --- the document ---------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 document, generated from the declarations above (public), completed
    with what spectree cannot declare (``document``)."""
    return jsonify(document.complete(spec.spec))


spec.register(bp)


# --- errors ---------------------------------------------------------------------------

bp.register_error_handler(ReviewFlowError, from_domain)
bp.register_error_handler(RateLimitExceeded, ratelimit.refused)
bp.after_request(ratelimit.add_headers)
bp.register_error_handler(HTTPException, from_http)
bp.register_error_handler(Exception, from_crash)


def _is_api_path() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


def _really_allowed(exc: HTTPException) -> HTTPException:
    """A 405 whose path no method can take is a 404; otherwise its Allow lists only the
    methods that match. Werkzeug notes a rule's methods when its pattern matches, before
    its converter refuses the value, so ``PUT /articles/0`` would answer 405 "Allow: GET"
    although GET answers 404 there too."""
    if not isinstance(exc, MethodNotAllowed):
        return exc
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = set()
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
        except HTTPException:
            continue
        allowed.add(method)
    if not allowed:
        return NotFound()
    return MethodNotAllowed(valid_methods=sorted(allowed))


def init_app(app: Flask) -> None:
    """Register the blueprint; unknown paths and methods under /api/v1 answer in JSON too."""
    # The route modules add their handlers to ``bp`` (and their schemas to ``spec``), in
    # the order the OpenAPI document lists their tags: articles first.
    from review_flow.api import article_routes  # noqa: F401, I001
    from review_flow.api import round_routes  # noqa: F401
    from review_flow.api import thread_routes  # noqa: F401
    from review_flow.api import reference_check_routes  # noqa: F401
    from review_flow.api import audit_routes  # noqa: F401
    from review_flow.api import admin_routes  # noqa: F401

    app.config.setdefault("API_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH)
    ratelimit.init_app(app, bp)  # before any handler: a refused request costs no query
    app.register_blueprint(bp)

    for code in (404, 405):
        previous = app.error_handler_spec[None][code].copy()

        def handler(exc: HTTPException, _previous: dict[Any, Any] = previous) -> Any:
            if _is_api_path():
                return from_http(_really_allowed(exc))
            fallback = next(iter(_previous.values()), None)
            return fallback(exc) if fallback is not None else exc

        app.register_error_handler(code, handler)


__all__ = ["bp", "error_response", "init_app", "spec"]
