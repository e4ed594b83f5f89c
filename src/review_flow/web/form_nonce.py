"""One-time form nonces: a create form whose answer shows a secret once (an API token, a
webhook's signing secret) must not create a second one when the browser posts it again
(a refresh, going back and resubmitting, a double click).

Each rendered form carries a random hidden ``submission_id``. The first POST with it
claims the key ``web-form <form> <nonce>`` for the signed-in user in ``idempotency_keys``
(see ``review_flow.idempotency``), in the request's one transaction: the record is
committed with the change and its audit event, or not at all (a refused form calls
``abandon()``, which rolls all three back). The stored answer holds only what names the
thing made (an id, a token prefix), never a secret. A later POST with the same nonce finds
the record, waiting for the first request to commit if it is still running, and creates
nothing.

The key contains spaces, which an ``Idempotency-Key`` of the JSON API never may, so web
keys and API keys cannot collide.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from review_flow import idempotency

FIELD = "submission_id"
NONCE_BYTES = 24
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
MESSAGE = "missing or not valid; the form was reloaded, please submit it again"


def new_nonce() -> str:
    """A fresh nonce for a form about to be rendered."""
    return secrets.token_urlsafe(NONCE_BYTES)


def key(form: str, nonce: str) -> str:
    return f"web-form {form} {nonce}"


def claim(session: Session, user_id: int, form: str, nonce: str, values: dict[str, Any]
          ) -> tuple[int | None, idempotency.Earlier | None]:
    """Claim ``nonce`` for this user and form. ``values`` are the submitted fields (no
    secrets): a repeat with other values is still refused, but can say so."""
    fp = idempotency.fingerprint("POST", request.path, values)
    return idempotency.claim(session, user_id, key(form, nonce), fp)


def finish(session: Session, record_id: int, made: dict[str, Any]) -> None:
    """Record what the first submission made (ids and prefixes only, never a secret)."""
    idempotency.finish(session, record_id, idempotency.Stored(201, made, {}))
