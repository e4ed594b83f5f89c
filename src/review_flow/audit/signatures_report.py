"""The signatures report: every electronic signature, each re-checked where it stands.

A page of decisions (newest first by signing time, keyset on (signed_at, id); optionally
one signer and a time range) is read with its revisions in one query and its signing
events in a second (the page's articles, by ``ix_audit_events_article_seq``). Each
signature is then checked, in Python, the way ``audit verify``'s replay checks it
(:func:`review_flow.audit.replay._check_signatures`), but only for the rows shown:

- its revision's text still hashes to the revision's content hash, and the signature
  names that revision and that hash;
- the chain holds its signing event (matched by the decision id the event records, or
  by signer, kind, revision and time), and that event still hashes to its own ``hash``;
- the event and the row agree on every field: kind, signer, revision, content hash,
  time, comment, printed name, credentials, meaning, attestations, declared conflict.

What disagrees is named (field, what the chain says, what the table says). Nothing here
walks the chain: a deleted or reordered event elsewhere is the Integrity page's to find.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm import Session

from review_flow.articles.content_hash import content_hash
from review_flow.articles.models import Revision
from review_flow.audit.chain import event_hash
from review_flow.audit.log import hashed_values
from review_flow.audit.models import AuditEvent
from review_flow.audit.query import as_params, raw_values, time_range, whole
from review_flow.signatures.models import Decision
from review_flow.timeutil import UTCDateTime, isoformat

PARAMETERS = ("signer", "since", "until")
SIGNING = ("article.approve", "article.reject")


@dataclass(frozen=True)
class SignatureFilter:
    signer: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, str]:
        return as_params(self, PARAMETERS)


def parse(args: Mapping[str, str | None]) -> SignatureFilter:
    """The filter in query parameters; :class:`BadFilter` names the first bad one."""
    raw = raw_values(args, PARAMETERS)
    return SignatureFilter(whole(raw["signer"], "signer", "a person's id"), *time_range(raw))


@dataclass
class CheckedSignature:
    """One row of the report; ``problems`` empty when every check agrees."""

    decision: Decision
    revision_number: int | None
    revision_hash: str | None
    event_seq: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def page(session: Session, f: SignatureFilter, *, before: tuple[datetime, int] | None,
         limit: int) -> list[CheckedSignature]:
    """Up to ``limit`` signatures of ``f`` older than ``before`` (signed_at, id), each
    re-checked. Two queries whatever the page's depth."""
    stmt = (select(Decision, Revision.number, Revision.title, Revision.body,
                   Revision.references, Revision.content_hash)
            .outerjoin(Revision, Revision.id == Decision.revision_id)
            .order_by(Decision.signed_at.desc(), Decision.id.desc()).limit(limit))
    if f.signer is not None:
        stmt = stmt.where(Decision.reviewer_id == f.signer)
    if f.since is not None:
        stmt = stmt.where(Decision.signed_at >= literal(f.since, UTCDateTime))
    if f.until is not None:
        stmt = stmt.where(Decision.signed_at < literal(f.until, UTCDateTime))
    if before is not None:
        stmt = stmt.where(tuple_(Decision.signed_at, Decision.id)
                          < tuple_(literal(before[0], UTCDateTime), literal(before[1])))
    rows = session.execute(stmt).all()
    events = _signing_events(session, {r[0].article_id for r in rows})
    return [_check(r[0], r[1:], events.get(r[0].article_id, [])) for r in rows]


Signed = tuple[AuditEvent, dict[str, Any]]  # an event and its data's "signature", parsed once


def _signing_events(session: Session, article_ids: set[int]) -> dict[int, list[Signed]]:
    if not article_ids:
        return {}
    out: dict[int, list[Signed]] = {}
    stmt = (select(AuditEvent)
            .where(AuditEvent.article_id.in_(sorted(article_ids)),
                   AuditEvent.action.in_(SIGNING))
            .order_by(AuditEvent.article_id, AuditEvent.seq))
    for e in session.scalars(stmt):
        assert e.article_id is not None
        out.setdefault(e.article_id, []).append((e, _signature_data(e)))
    return out


def _signature_data(e: AuditEvent) -> dict[str, Any]:
    try:
        data = json.loads(e.data_json) if e.data_json else {}
    except ValueError:
        return {}
    sig = data.get("signature") if isinstance(data, dict) else None
    return sig if isinstance(sig, dict) else {}


def _find_event(d: Decision, events: list[Signed]) -> Signed | None:
    """The decision's signing event: the one recording its id; else the one by the same
    signer, kind, revision and time; else the only one by that signer of that kind and
    revision (so a changed time is named rather than "no event")."""
    action = f"article.{d.kind}"
    for found in events:
        if found[1].get("decision_id") == d.id:
            return found
    candidates = [(e, sig) for e, sig in events if e.action == action
                  and e.actor_id == d.reviewer_id and "decision_id" not in sig]
    for e, sig in candidates:
        if e.revision == d.revision_number and e.at == d.signed_at:
            return e, sig
    same_revision = [c for c in candidates if c[0].revision == d.revision_number]
    return same_revision[0] if len(same_revision) == 1 else None


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, datetime):
        return isoformat(value) or ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return repr(value) if isinstance(value, str) else str(value)


def _check(d: Decision, rev: tuple[Any, ...], events: list[Signed]) -> CheckedSignature:
    number, title, body, references, rev_hash = rev
    out = CheckedSignature(d, number, rev_hash, None)
    problems = out.problems
    if number is None:
        problems.append(f"its revision (row {d.revision_id}) is missing")
    else:
        try:
            actual = content_hash(title, body, references)
        except (TypeError, ValueError):
            actual = "no hash (unreadable text)"
        if actual != rev_hash:
            problems.append(f"revision {number}'s text hashes to {actual}, not to its "
                            f"content hash {rev_hash} (the text was changed after it was saved)")
        if d.content_hash != rev_hash:
            problems.append(f"the signature names content hash {d.content_hash}, its revision "
                            f"{number} has {rev_hash}")
        if d.revision_number != number:
            problems.append(f"the signature names revision {d.revision_number}, its revision "
                            f"row is number {number}")
    found = _find_event(d, events)
    if found is None:
        problems.append(f"the audit chain holds no {d.kind} event by this signer for "
                        f"revision {d.revision_number} of article {d.article_id}")
        return out
    e, sig = found
    out.event_seq = e.seq
    if event_hash(e.prev_hash, hashed_values(e)) != e.hash:
        problems.append(f"its audit event {e.seq} no longer hashes to its recorded hash "
                        "(the event was altered after it was chained)")
    checks: list[tuple[str, Any, Any]] = [
        ("kind", e.action.removeprefix("article."), d.kind),
        ("signer (person id)", e.actor_id, d.reviewer_id),
        ("revision", e.revision, d.revision_number),
        ("content hash", e.content_hash, d.content_hash),
        ("time", e.at, d.signed_at),
        ("comment", e.comment, d.comment),
    ]
    for name in ("printed_name", "credentials", "meaning"):
        if name in sig:
            checks.append((name.replace("_", " "), sig[name], getattr(d, name)))
    if "attestations" in sig:
        checks.append(("attestations", sig["attestations"], d.attestations))
    checks.append(("declared conflict", sig.get("conflict"), d.conflict))
    for name, chain, table in checks:
        if chain != table:
            problems.append(f"{name}: the chain (event {e.seq}) says {_show(chain)}, "
                            f"the signature row says {_show(table)}")
    return out
