"""Whether the record supports "Medically reviewed by …" before a page says it.

The public page reads the tables; someone with database access can change them without
touching the hash chain. So before a page names a reviewer it checks that the approved
text still hashes to the content hash that was signed, and that every signature it shows
matches the approval event the chain recorded for it (signer, printed name, credentials,
meaning, time, revision and hash). If not, the page shows the text as pending review and
names no one, and the mismatch is logged as a warning: ``audit verify`` then tells where.

The verdict is cached per process by content hash together with the exact text and
signatures it was given (the cache cannot vouch for text it has not seen), so each
approved revision is checked once per process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from review_flow.articles.content_hash import content_hash
from review_flow.audit.models import AuditEvent
from review_flow.signatures.models import Decision

log = logging.getLogger("review_flow.trust")


@dataclass(frozen=True)
class Signature:
    """One approval as a page would show it, with what binds it to its event."""

    decision_id: int
    reviewer_id: int
    revision_number: int
    content_hash: str
    printed_name: str
    credentials: str | None
    meaning: str
    signed_at: datetime
    chained: str | None  # the ``data`` of its approval event (:func:`chained_approval`)
    conflict: str | None = None  # a disclosed conflict of interest (chain format 3)


def chained_approval() -> Any:
    """The ``data`` of the approval event that wrote a decision (a correlated sub-select
    over ``decisions``): same article, revision, content hash, signer and time. NULL when
    the chain holds no such event."""
    return (
        select(AuditEvent.data_json)
        .where(
            AuditEvent.article_id == Decision.article_id,
            AuditEvent.action == "article.approve",
            AuditEvent.revision == Decision.revision_number,
            AuditEvent.content_hash == Decision.content_hash,
            AuditEvent.actor_id == Decision.reviewer_id,
            AuditEvent.at == Decision.signed_at,
        )
        # Ordered as ix_audit_events_article_seq is, so that index (a handful of rows per
        # article) serves it, not the one on action (every approval ever made).
        .order_by(AuditEvent.article_id, AuditEvent.seq)
        .limit(1)
        .scalar_subquery()
    )


class _Verdicts:
    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: OrderedDict[Any, str | None] = OrderedDict()

    def get(self, key: Any) -> tuple[bool, str | None]:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return True, self.entries[key]
        return False, None

    def put(self, key: Any, verdict: str | None) -> None:
        with self.lock:
            self.entries[key] = verdict
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


VERDICTS = _Verdicts()

# (number, title, body, references, content hash, professional text or None)
Revision = tuple[int, str, str, list[dict[str, Any]], str, str | None]


def review_problem(
    article_id: int,
    revision: Revision,
    signatures: tuple[Signature, ...],
) -> str | None:
    """Why the record does not support the review a page would state, or None if it does.

    ``revision`` is (number, title, body, references, content hash, professional text or
    None) of the approved text: both audience texts are what was signed.
    """
    number, title, body, references, stored_hash, professional = revision
    refs_key = json.dumps(references, sort_keys=True)
    key = (article_id, stored_hash, number, title, body, professional, refs_key, signatures)
    known, verdict = VERDICTS.get(key)
    if not known:
        verdict = _check(revision, signatures)
        VERDICTS.put(key, verdict)
        if verdict is not None:
            log.warning("public page of article %s names no reviewer: %s", article_id, verdict)
    return verdict


def _check(revision: Revision, signatures: tuple[Signature, ...]) -> str | None:
    number, title, body, references, stored_hash, professional = revision
    if not signatures:
        return f"approved revision {number} has no approval"
    try:
        actual = content_hash(title, body, references, professional)
    except (TypeError, ValueError):
        actual = "no hash (unreadable text)"
    if actual != stored_hash:
        return (f"the text of revision {number} hashes to {actual}, "
                f"not to the content hash {stored_hash}")
    for sig in signatures:
        if sig.content_hash != stored_hash or sig.revision_number != number:
            return f"signature {sig.decision_id} signs {sig.content_hash}, not {stored_hash}"
        if not _matches(sig):
            return (f"signature {sig.decision_id} ({sig.printed_name}) matches no approval "
                    f"event of revision {number} in the audit chain")
    return None


def _matches(sig: Signature) -> bool:
    if sig.chained is None:
        return False
    recorded = json.loads(sig.chained).get("signature") or {}
    if "decision_id" in recorded and recorded["decision_id"] != sig.decision_id:
        return False
    if recorded.get("conflict") != sig.conflict:  # a disclosure is shown as signed, or not
        return False
    return (
        recorded.get("printed_name") == sig.printed_name
        and recorded.get("credentials") == sig.credentials
        and recorded.get("meaning") == sig.meaning
    )
