"""Bearer-token authentication for the API. A token acts as its user with that user's
roles, but ``via_token=True`` makes the service refuse signatures."""

from __future__ import annotations

import re
import uuid

from flask import current_app, g, request
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api.errors import Unauthorized
from review_flow.app import database
from review_flow.audit.log import RequestContext
from review_flow.errors import PermissionDenied
from review_flow.timeutil import utcnow
from review_flow.tokens import service as tokens

_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def bearer() -> str:
    """The token from ``Authorization: Bearer ...``, or 401 without touching the database."""
    header = request.headers.get("Authorization", "")
    match = _BEARER.match(header)
    if not match:
        raise Unauthorized(
            "Send an API token: 'Authorization: Bearer <token>' "
            "(create one with `review-flow tokens create EMAIL`).",
            code="missing_token" if not header else "malformed_authorization",
        )
    return match.group(1)


def request_context() -> RequestContext:
    rid = g.get("request_id")
    if rid is None:
        supplied = request.headers.get("X-Request-Id", "")
        rid = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        g.request_id = rid
    return RequestContext(request_id=rid, client_addr=request.remote_addr)


def authenticate(session: Session, *, writing: bool) -> Actor:
    """The actor for this request's token, looked up in the request's own session.

    The last use is recorded at most once a minute: inside the request's transaction
    when it writes anyway, in a separate small one when the request only reads.
    """
    token = tokens.find_active(session, bearer())
    if token is None:
        raise Unauthorized("The API token is not valid or has been revoked.", code="invalid_token")
    now = utcnow()
    if tokens.needs_touch(token, now):
        if writing:
            tokens.touch(session, token.id, now=now, client_addr=request.remote_addr)
        else:
            with database(current_app).transaction() as side:
                tokens.touch(side, token.id, now=now, client_addr=request.remote_addr)
    return Actor(token.user, via_token=True, context=request_context())


AUDITOR_REFUSAL = "Auditors change nothing: an auditor's API token may only read."


def refuse_auditor_writes() -> None:
    """403 before any body is validated when a write comes with the token of a person
    whose only role is auditor (``web/access.AUDITOR_POSTS`` says the same to the
    browser). A missing or dead token is left to :func:`authenticate` (401)."""
    with database(current_app).reading() as session:
        token = tokens.find_active(session, bearer())
        if token is not None and token.user.roles == {"auditor"}:
            raise PermissionDenied(AUDITOR_REFUSAL, code="forbidden")


def check_token_only() -> None:
    """401 unless the token is live: used on early-refusal paths (400/415/422) so an
    unauthenticated caller learns nothing about the API beyond "authenticate"."""
    with database(current_app).reading() as session:
        if tokens.find_active(session, bearer()) is None:
            raise Unauthorized(
                "The API token is not valid or has been revoked.", code="invalid_token"
            )
