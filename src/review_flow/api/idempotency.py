"""``Idempotency-Key`` for POST: a retried request with the same key and body gets the
first response again and writes nothing; the same key with another body is refused.

The mechanism (the ``idempotency_keys`` table, claiming a key, storing the answer) is
shared with the web's create forms and lives in ``review_flow.idempotency``; this module
is the HTTP side: the header, its syntax, and refusing a key reused for another body.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from review_flow.api.errors import Malformed
from review_flow.errors import ValidationFailed
from review_flow.idempotency import Stored, claim, fingerprint, finish, purge

__all__ = [
    "HEADER",
    "KEY_PATTERN",
    "REPLAYED_HEADER",
    "Stored",
    "begin",
    "fingerprint",
    "finish",
    "parse_key",
    "purge",
]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces: the web's form keys contain a space (``web/form_nonce``),
# so no Idempotency-Key can ever name one of them.
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY = re.compile(KEY_PATTERN)


def parse_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise Malformed(
            f"{HEADER}: 1 to 255 printable ASCII characters, no spaces.",
            code="invalid_idempotency_key",
            fields={HEADER: "invalid"},
        )
    return raw


def begin(session: Session, user_id: int, key: str, fp: str) -> tuple[int | None, Stored | None]:
    """(record id to fill in, None) when this request goes ahead, or (None, stored answer)."""
    record_id, earlier = claim(session, user_id, key, fp)
    if earlier is None:
        return record_id, None
    if not earlier.same_request:
        raise ValidationFailed(
            f"{HEADER} {key!r} was already used for a different request; "
            "use a new key for a new request.",
            code="idempotency_key_reused",
            fields={HEADER: "used for a different request"},
        )
    return None, earlier.answer
