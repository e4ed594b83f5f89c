"""The public page of an article as readers saw it at an instant, rebuilt from records.

Nothing here is guessed and no "what was public" table is kept, because every input of
the public page (``web.read_models.public_article``) is already a dated record:

- the article's state, current and approved revision, and its retraction: its chained
  audit events up to the instant, replayed by ``audit.replay.replay_events`` (the same
  replay ``audit verify`` compares the tables with);
- the text shown: the immutable revision row, checked against the content hash the chain
  recorded for it;
- the reviewers named: the approval decisions of that revision signed by then (last
  round only, as the page does), each checked against its approval event
  (``signatures.trust``, as the page does);
- whether pending text was shown at all: the policy version in force then (policy
  versions are rows with their creation time; ``show_pending_publicly``);
- "Next review due": the approving event's time plus ``rereview_months`` of the policy
  version that event records (what ``articles.actions`` stored in ``review_due``).

The one limit: an event is dated when its action ran, a moment before its transaction
committed, so for an instant inside that sub-second window the page shown is the one the
action produced, which readers saw a moment later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, null, select
from sqlalchemy.orm import Session

from review_flow.articles import public_view
from review_flow.articles.models import Article, Revision
from review_flow.articles.public_view import PENDING_STATES, Approval, PublicArticle
from review_flow.audit.models import AuditEvent
from review_flow.audit.replay import Disagreement, replay_events
from review_flow.policy import service as policy_service
from review_flow.policy.calendar import add_months
from review_flow.policy.models import PolicySettings, PolicyVersion
from review_flow.signatures import trust
from review_flow.signatures.models import Decision
from review_flow.timeutil import UTCDateTime

E = AuditEvent
# The replay's event columns (``replay.queries()["events"]``), then the policy version.
_EVENTS = (
    select(E.article_id, E.seq, E.action, E.actor_id, E.at, E.from_state, E.to_state,
           E.revision, E.content_hash, E.comment, E.object_id, E.data_json,
           null().label("version"), E.policy_version)
    # Only changes of the article: comments and other events do not move the page. All
    # of them, through the partial index of changes (migration 0029) in chain order; the
    # instant is applied as they are read (a time term here would steer SQLite to the
    # explorer's (article, at, seq) index, which holds every event of the article).
    .where(E.article_id == bindparam("aid"), E.to_state.is_not(None))
    .order_by(E.seq)
)
_ARTICLE = select(Article.id, Article.slug, Article.created_at).where(
    Article.id == bindparam("aid"))
_REVISION = select(Revision).where(Revision.article_id == bindparam("aid"),
                                   Revision.number == bindparam("number"))
_APPROVALS = (
    select(Decision.id, Decision.reviewer_id, Decision.revision_number, Decision.content_hash,
           Decision.printed_name, Decision.credentials, Decision.meaning, Decision.signed_at,
           trust.chained_approval().label("chained"), Decision.conflict, Decision.round_id)
    .where(Decision.revision_id == bindparam("rev_id"), Decision.kind == "approve",
           Decision.signed_at <= bindparam("at", type_=UTCDateTime))
    .order_by(Decision.signed_at)
)
# The policy in force at an instant: the newest version created by then (a handful of
# rows, read newest first by primary key).
_POLICY_AT = (
    select(PolicyVersion.version)
    .where(PolicyVersion.created_at <= bindparam("at", type_=UTCDateTime))
    .order_by(PolicyVersion.version.desc())
    .limit(1)
)


@dataclass(frozen=True)
class AsOf:
    """The answer for one article at one instant."""

    article_id: int
    slug: str
    at: datetime
    state: str | None  # the workflow state then (None: not created yet)
    page: PublicArticle | None  # None: readers got "not found"
    why_not_public: str | None = None
    policy_version: int | None = None  # in force at the instant
    # The record does not support what the page would have said (tampering): the page
    # then shows the text as pending review and names no one, as the live page does.
    problem: str | None = None
    events_replayed: int = 0
    last_event_seq: int | None = None


def reconstruct(session: Session, article_id: int, at: datetime) -> AsOf | None:
    """The public page of ``article_id`` at ``at`` (UTC), or None if there is no such
    article. Five to seven indexed queries, whatever the article's history."""
    conn = session.connection()
    art = conn.execute(_ARTICLE, {"aid": article_id}).one_or_none()
    if art is None:
        return None
    rows = [r for r in conn.execute(_EVENTS, {"aid": article_id}) if r.at <= at]
    base = {"article_id": art.id, "slug": art.slug, "at": at, "events_replayed": len(rows),
            "last_event_seq": rows[-1].seq if rows else None}
    policy_version = conn.execute(_POLICY_AT, {"at": at}).scalar()
    base["policy_version"] = policy_version
    replayed = replay_events(article_id, rows)
    if isinstance(replayed, Disagreement):
        return AsOf(state=None, page=None, why_not_public="the audit chain cannot be replayed",
                    problem=replayed.message, **base)
    if not replayed.created:
        return AsOf(state=None, page=None,
                    why_not_public="the article did not exist yet", **base)
    state = replayed.state
    approved_rev = replayed.approved
    approved_at = max((e[4] for e in replayed.signed
                       if e[2] == "article.approve" and approved_rev is not None
                       and e[7] == approved_rev[0]), default=None)
    retractions = [s for s in replayed.said if s[1] == "retract"]
    last_retraction = retractions[-1] if retractions else None
    retracted = last_retraction is not None and (
        approved_at is None or last_retraction[5] > approved_at)
    approved = approved_rev is not None and not retracted
    if not approved and not retracted:
        if state not in PENDING_STATES:
            return AsOf(state=state, page=None, why_not_public=(
                f"it was {state.replace('_', ' ')}: readers see no text that is not "
                "approved or under review"), **base)
        policy = _policy(session, policy_version)
        if not policy.show_pending_publicly:
            return AsOf(state=state, page=None, why_not_public=(
                f"it was {state.replace('_', ' ')} and the policy then in force "
                f"(version {policy_version}) did not show text pending review"), **base)
    number, chain_hash = approved_rev if approved_rev is not None else replayed.current
    revision = session.execute(
        _REVISION, {"aid": article_id, "number": number}).scalar_one_or_none()
    if revision is None or revision.content_hash != chain_hash:
        return AsOf(state=state, page=None, why_not_public="its revision is not on record",
                    problem=f"revision {number}: the chain says {chain_hash}, the table has "
                    f"{revision.content_hash if revision else 'no such revision'}", **base)
    approvals: tuple[Approval, ...] = ()
    problem = None
    review_due = None
    if approved:
        decisions = conn.execute(_APPROVALS, {"rev_id": revision.id, "at": at})
        approvals, problem = public_view.reviewed_by(article_id, revision, decisions)
        if problem is None:
            review_due = _review_due(session, rows, number)
        else:
            approved = False  # the live page too shows it as pending review then
    page = public_view.build(
        article_id=art.id, slug=art.slug, state=state, revision_id=revision.id,
        revision=revision, approved=approved, approvals=approvals, retracted=retracted,
        retraction_reason=last_retraction[2] if last_retraction else None,
        retracted_at=last_retraction[5] if last_retraction else None,
        review_due=review_due, now=at,
    )
    return AsOf(state=state, page=page, problem=problem, **base)


def _policy(session: Session, version: int | None) -> PolicySettings:
    return PolicySettings() if version is None else policy_service.settings_for(session, version)


def _review_due(session: Session, events: list[Any], number: int) -> datetime | None:
    """When the approved text was due for review: set by the event that approved it, from
    the re-review months of the policy version that event ran under."""
    for e in reversed(events):
        if e.to_state == "approved" and e.from_state != "approved" and e.revision == number:
            months = _policy(session, e.policy_version).rereview_months
            return add_months(e.at, months)
    return None
