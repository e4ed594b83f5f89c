"""An article's story, oldest first: every audit event that names it, a page at a time.

Every write that matters is an audit event, so the article's events are its timeline:
revisions, rounds opened and closed, assignments and their answers, conflict
declarations, comments and their threads, reference checks, decisions with their
signatures (as chained in the event), retractions and publications. Any event renders
generically (action, actor as named then, from → to state, revision, comment, every
detail of its data), and the kinds this module knows get a sentence and their records
(revision links, the signature, the reviewer's name), so a kind added later shows
without a change here.

Keyset pages over ``ix_audit_events_article_seq`` (article, sequence): an article with
thousands of events costs what one with ten does, page after page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from review_flow.audit.actions import AUDIT_ACTIONS
from review_flow.audit.models import AuditEvent
from review_flow.audit.query import COLUMNS
from review_flow.signatures.models import Decision
from review_flow.users.models import User
from review_flow.workflow.definition import ACTIONS_BY_NAME

PAGE = 50  # as the audit log: a page renders in a few milliseconds
E = AuditEvent

_FORWARD = (
    select(*COLUMNS)
    .where(E.article_id == bindparam("aid"), E.seq > bindparam("after"))
    .order_by(E.article_id, E.seq)
    .limit(bindparam("limit"))
)
_BACKWARD = (
    select(*COLUMNS)
    .where(E.article_id == bindparam("aid"), E.seq < bindparam("before"))
    .order_by(E.article_id.desc(), E.seq.desc())
    .limit(bindparam("limit"))
)
# Data keys shown by the rich rendering, or bookkeeping: not repeated among the details.
_CONSUMED = {"version", "format", "signature", "reviewer_id"}
_DETAIL_LABELS = {
    "round": "Review round",
    "round_opened": "Round opened",
    "round_closed": "Round closed",
    "claimed": "Claimed assignment",
    "accepted": "Accepted assignment",
    "completed": "Completed assignment",
    "approvals": "Approvals so far",
    "required_approvals": "Approvals required",
    "as_of": "Judged as of",
    "state": "Assignment state",
    "conflict": "Conflict of interest",
    "generator": "Written by",
    "reviewer": "Reviewer",
}


@dataclass
class Entry:
    """One event of the story, ready to show."""

    row: Any  # the event's columns (audit.query.COLUMNS)
    headline: str
    notes: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
    signature: dict[str, Any] | None = None
    # This event saved a revision: link its text and offer a diff against any other.
    saved_revision: int | None = None
    known: bool = True  # a kind this module renders; else generic


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    earlier: int | None  # ``before`` of the page before (older events), if any
    later: int | None  # ``after`` of the page after (newer events), if any


def page(session: Session, article_id: int, *, after: int | None = None,
         before: int | None = None, limit: int = PAGE) -> Page:
    """Events of ``article_id`` oldest first: those after sequence ``after`` (the first
    page by default), or the ones just before ``before``. Three queries at most."""
    if before is not None:
        rows = list(session.execute(_BACKWARD, {"aid": article_id, "before": before,
                                              "limit": limit + 1}))
        more_earlier = len(rows) > limit
        rows = rows[:limit][::-1]
        earlier = rows[0].seq if more_earlier and rows else None
        later = rows[-1].seq if rows else None
    else:
        rows = list(session.execute(_FORWARD, {"aid": article_id, "after": after or 0,
                                             "limit": limit + 1}))
        more_later = len(rows) > limit
        rows = rows[:limit]
        later = rows[-1].seq if more_later and rows else None
        earlier = rows[0].seq if after and rows else None
    entries = [_entry(r) for r in rows]
    _fill_signatures(session, article_id, entries)
    _fill_people(session, entries)
    return Page(entries, earlier, later)


def _data(row: Any) -> dict[str, Any]:
    try:
        data = json.loads(row.data_json) if row.data_json else {}
    except ValueError:
        return {"data": row.data_json}
    return data if isinstance(data, dict) else {"data": data}


def _show(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _entry(row: Any) -> Entry:
    data = _data(row)
    action = row.action
    entry = Entry(row=row, headline=_headline(action, row, data), known=True)
    if action.startswith("article."):
        spec = ACTIONS_BY_NAME.get(action[8:])
        if action in ("article.create", "article.edit"):
            entry.saved_revision = row.revision
            if row.from_state == "approved":
                entry.notes.append("Readers keep the approved text until this revision "
                                   "is approved.")
        elif spec is None:
            entry.known = False
        if action == "article.approve" and row.to_state == "approved" \
                and row.from_state != "approved":
            entry.notes.append(f"Published: readers now see revision {row.revision} as "
                               "medically reviewed.")
        if action == "article.retract":
            entry.notes.append("Withdrawn from readers: the public page shows the retraction "
                               "notice instead of the text.")
        if data.get("round_opened"):
            entry.notes.append(f"Review round {data.get('round')} opened.")
        if data.get("round_closed"):
            entry.notes.append(f"Review round {data.get('round')} closed: "
                               f"{str(data['round_closed']).replace('_', ' ')}.")
        signature = data.get("signature")
        if isinstance(signature, dict):
            entry.signature = signature
    elif action not in ("assignment.create", "assignment.respond", "assignment.cancel",
                        "conflict.declare", "comment.add"):
        entry.known = False
    skip = set(_CONSUMED)
    if action.startswith("article."):
        skip |= {"round_opened", "round_closed"}
    entry.details = [(_DETAIL_LABELS.get(k, k.replace("_", " ").capitalize()), _show(v))
                     for k, v in sorted(data.items()) if k not in skip]
    return entry


def _headline(action: str, row: Any, data: dict[str, Any]) -> str:
    if action == "article.create":
        return f"Created, with revision {row.revision}"
    if action == "article.edit":
        return f"Revision {row.revision} saved"
    if action.startswith("article."):
        spec = ACTIONS_BY_NAME.get(action[8:])
        if spec is not None:
            return f"{spec.label} (revision {row.revision})" if row.revision else spec.label
    if action == "assignment.create":
        return "Reviewer assigned"
    if action == "assignment.respond":
        return ("Assignment accepted" if data.get("state") == "accepted"
                else "Assignment declined" if data.get("state") == "declined"
                else "Assignment answered")
    if action == "assignment.cancel":
        return "Assignment cancelled"
    if action == "conflict.declare":
        return ("Conflict of interest declared" if row.comment
                else "No conflict of interest declared")
    if action == "comment.add":
        return "Comment"
    # A kind this module does not know: its name, and what the registry says of it.
    described = AUDIT_ACTIONS.get(action)
    return f"{action}: {described}" if described else action


def _fill_signatures(session: Session, article_id: int, entries: list[Entry]) -> None:
    """Signing events written before their data carried the signature: read the
    decision each wrote (same signer, revision, kind and instant). One query, if any."""
    missing = [e for e in entries if e.row.action in ("article.approve", "article.reject")
               and e.signature is None]
    if not missing:
        return
    rows = session.execute(
        select(Decision.reviewer_id, Decision.kind, Decision.revision_number,
               Decision.signed_at, Decision.printed_name, Decision.credentials,
               Decision.meaning, Decision.attestations, Decision.conflict)
        .where(Decision.article_id == article_id)
    )
    by_key = {(r.reviewer_id, f"article.{r.kind}", r.revision_number, r.signed_at): r
              for r in rows}
    for e in missing:
        r = by_key.get((e.row.actor_id, e.row.action, e.row.revision, e.row.at))
        if r is not None:
            e.signature = {"printed_name": r.printed_name, "credentials": r.credentials,
                           "meaning": r.meaning, "attestations": r.attestations,
                           "conflict": r.conflict}


def _fill_people(session: Session, entries: list[Entry]) -> None:
    """Name the reviewer an event is about by id only (by their name today; an event
    that kept the name as it was then shows that instead). One query, if any."""
    ids = {d.get("reviewer_id") for d in (_data(e.row) for e in entries)
           if "reviewer" not in d}
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    for e in entries:
        data = _data(e.row)
        rid = data.get("reviewer_id")
        if isinstance(rid, int) and "reviewer" not in data:
            e.details.insert(0, ("Reviewer", f"{names.get(rid, 'unknown')} (person {rid})"))
