"""The hash over one audit event: defined once, used by the writer and the verifier."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

GENESIS_HASH = "0" * 64  # the "previous hash" of event 1

# The format of what events carry in ``data`` (``data["format"]``; absent means 1).
# 2: a signature event's ``data.signature`` also names its decision's id and the
# attestations signed, so ``audit verify`` can bind every signature row to its event.
# 3: it also names the review round (``round_id``) and carries a disclosed conflict of
# interest (``conflict``), so the replay binds each signature to its round.
DATA_FORMAT = 3

# The hashed fields, in order. Adding a field means a new chain format, not an edit here.
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "article_id",
    "from_state",
    "to_state",
    "revision",
    "content_hash",
    "comment",
    "workflow_version",
    "policy_version",
    "request_id",
    "client_addr",
    "data",
)

_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonical_data(data: dict[str, Any] | None) -> str | None:
    """The one textual form of an event's ``data``: stored as is, hashed as is."""
    return _canonical(data) if data else None


def _refuse(o: Any) -> Any:
    raise TypeError(f"audit values must be JSON scalars, not {type(o).__name__}")


# The C encoder, built once: ``json.dumps`` would build it again for every event, which
# is most of the cost of verifying a large log. Same output as
# ``json.dumps(values, ensure_ascii=False, separators=(",", ":"))``.
if c_make_encoder is not None:
    _encoder = c_make_encoder(None, _refuse, encode_basestring, None, ":", ",", False, False, True)

    def canonical_values(values: Sequence[Any]) -> str:
        return "".join(_encoder(values, 0))
else:  # pragma: no cover - interpreters without the C accelerator
    canonical_values = json.JSONEncoder(  # type: ignore[assignment]
        ensure_ascii=False, separators=(",", ":"), default=_refuse
    ).encode


def event_hash(prev_hash: str, values: tuple[Any, ...]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of ``values``.

    ``values`` follows :data:`HASHED_FIELDS`, every one a scalar: ``at`` as the ISO text
    from :func:`review_flow.timeutil.isoformat` and ``data`` as its canonical JSON text,
    so the verifier can hash rows straight from the database driver.
    """
    payload = prev_hash + canonical_values(values)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
