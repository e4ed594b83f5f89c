""""Audit trail reviewed" records (EU GMP Annex 11 §9: audit trails are reviewed
regularly), and the list of what has not been reviewed.

A record says who reviewed which events (an article's, or every event in a time range),
when, with a comment, and names the range of events it covered by sequence number. It is
a row of ``trail_reviews`` (append-only, for queries) and an ``audit.trail_review``
event in the chain (so it shows in the log and on the article's timeline), written in
one transaction.

"Not reviewed since": an article is listed when its newest event is at or after the
date and lies beyond every trail review that covers it (a review of that article, or a
time-range review, whose last event is at or after it), most recent activity first
(:func:`not_reviewed_since`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, func, literal, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from review_flow.articles.models import Article
from review_flow.audit.log import RequestContext, record
from review_flow.audit.models import AuditEvent
from review_flow.db import Base
from review_flow.errors import NotFound, PermissionDenied, ValidationFailed
from review_flow.timeutil import UTCDateTime, isoformat, utcnow

BIGINT = BigInteger().with_variant(Integer, "sqlite")
COMMENT_MAX = 4000
# Who may record a trail review (the web rule says the same for the page).
REVIEWER_ROLES = frozenset({"auditor", "admin"})


class TrailReview(Base):
    """One "audit trail reviewed" record. Never updated: the database refuses it."""

    __tablename__ = "trail_reviews"
    __table_args__ = (Index("ix_trail_reviews_article_last_seq", "article_id", "last_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The article reviewed; None for a time-range review (every event in since..until).
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seq: Mapped[int] = mapped_column(BIGINT)
    last_seq: Mapped[int] = mapped_column(BIGINT)
    comment: Mapped[str] = mapped_column(Text)


E = AuditEvent
# A trail review's own event names its article (so it shows on the article's log), but is
# no activity to review: the range and the list leave it out.
OWN_ACTION = "audit.trail_review"


def record_review(
    session: Session,
    user: Any,
    *,
    comment: str,
    article_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    context: RequestContext | None = None,
) -> TrailReview:
    """Record that ``user`` reviewed an article's trail (its events after its last
    review, through its newest) or every event in [since, until). Refuses, writing
    nothing, when the scope is missing or covers no event."""
    if not (set(user.roles) & REVIEWER_ROLES):
        raise PermissionDenied("Only auditors and admins record audit trail reviews.")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed("Say what you reviewed and what you found in the comment.",
                               fields=["comment"])
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(f"The comment is longer than {COMMENT_MAX} characters.",
                               fields=["comment"])
    if article_id is not None and (since is not None or until is not None):
        raise ValidationFailed("Review either one article or a time range, not both.",
                               fields=["article", "since"])
    if article_id is not None:
        first, last = _article_range(session, article_id)
    elif since is not None and until is not None:
        if until <= since:
            raise ValidationFailed(f"The range's end ({isoformat(until)}) must be later than "
                                   f"its start ({isoformat(since)}).", fields=["until"])
        first, last = _time_range(session, since, until)
    else:
        raise ValidationFailed("Name the article reviewed, or the time range (from and to).",
                               fields=["article", "since", "until"])
    now = utcnow()
    row = TrailReview(reviewer_id=user.id, reviewer_name=user.name, recorded_at=now,
                      article_id=article_id, since=since, until=until,
                      first_seq=first, last_seq=last, comment=comment)
    session.add(row)
    session.flush()
    record(session, actor_id=user.id, actor_name=user.name, action="audit.trail_review",
           object_type="trail_review", object_id=row.id, article_id=article_id,
           comment=comment, context=context,
           data={"first_seq": first, "last_seq": last,
                 "since": isoformat(since), "until": isoformat(until)})
    return row


def _article_range(session: Session, article_id: int) -> tuple[int, int]:
    """The article's events after its last trail review, through its newest event."""
    if session.get(Article, article_id) is None:
        raise NotFound(f"There is no article {article_id}.")
    last = session.scalar(select(E.seq).where(E.article_id == article_id, E.action != OWN_ACTION)
                          .order_by(E.seq.desc()).limit(1))
    if last is None:
        raise ValidationFailed(f"Article {article_id} has no events to review.",
                               fields=["article"])
    reviewed = _reviewed_through(session, article_id)
    if reviewed >= last:
        raise ValidationFailed(
            f"Every event of article {article_id} (through event {last}) is already covered "
            "by a trail review.", fields=["article"])
    first = session.scalar(select(E.seq).where(E.article_id == article_id, E.seq > reviewed,
                                               E.action != OWN_ACTION)
                           .order_by(E.seq).limit(1))
    assert first is not None
    return first, last


def _time_range(session: Session, since: datetime, until: datetime) -> tuple[int, int]:
    bounds = (E.at >= literal(since, UTCDateTime), E.at < literal(until, UTCDateTime))
    first = session.scalar(select(E.seq).where(*bounds).order_by(E.at, E.seq).limit(1))
    last = session.scalar(select(E.seq).where(*bounds)
                          .order_by(E.at.desc(), E.seq.desc()).limit(1))
    if first is None or last is None:
        raise ValidationFailed(
            f"No events between {isoformat(since)} and {isoformat(until)}: nothing to review.",
            fields=["since", "until"])
    return first, last


def _reviewed_through(session: Session, article_id: int) -> int:
    """The last event covered by a review of the article or by a time-range review."""
    mine = session.scalar(select(func.max(TrailReview.last_seq))
                          .where(TrailReview.article_id == article_id)) or 0
    return max(mine, _range_reviewed_through(session))


def _range_reviewed_through(session: Session) -> int:
    return session.scalar(select(func.max(TrailReview.last_seq))
                          .where(TrailReview.article_id.is_(None))) or 0


@dataclass(frozen=True)
class Unreviewed:
    article_id: int
    slug: str
    last_seq: int
    last_at: datetime
    reviewed_through: int  # 0: never reviewed


def not_reviewed_since(session: Session, since: datetime | None, *, before: int | None = None,
                       limit: int = 50) -> list[Unreviewed]:
    """Articles whose newest event is at or after ``since`` and beyond every trail review
    covering it, most recent activity first (keyset: that event's sequence number, below
    ``before``).

    Walks the chain backwards from the head (or ``before``) and keeps each article's
    newest event: one probe of (article_id, seq) for "is there a newer one", one of
    (article_id, last_seq) for the article's own reviews. The walk stops at the last event
    a time-range review covered and, with ``since``, at the first event at or after it
    (times never go back along the chain), so a page reads about as many events as the
    listed articles have since their reviews, not the whole log.
    """
    ranges = _range_reviewed_through(session)
    newer = aliased(AuditEvent)
    has_newer = (select(newer.seq).where(newer.article_id == E.article_id, newer.seq > E.seq,
                                         newer.action != OWN_ACTION).exists())
    mine = (select(TrailReview.last_seq).where(TrailReview.article_id == E.article_id)
            .order_by(TrailReview.last_seq.desc()).limit(1).scalar_subquery())
    stmt = (select(E.article_id, E.seq, E.at, Article.slug, mine.label("mine"))
            .join(Article, Article.id == E.article_id)
            .where(E.seq > ranges, E.action != OWN_ACTION, ~has_newer,
                   E.seq > func.coalesce(mine, 0))
            .order_by(E.seq.desc()).limit(limit))
    if before is not None:
        stmt = stmt.where(E.seq < before)
    if since is not None:
        first = session.scalar(select(E.seq).where(E.at >= literal(since, UTCDateTime))
                               .order_by(E.at, E.seq).limit(1))
        if first is None:
            return []
        stmt = stmt.where(E.seq >= first)
    return [Unreviewed(r.article_id, r.slug, r.seq, r.at, max(ranges, r.mine or 0))
            for r in session.execute(stmt)]


def recent(session: Session, *, before: int | None = None, limit: int = 20) -> list[TrailReview]:
    """Trail reviews, newest first (keyset on id)."""
    stmt = select(TrailReview).order_by(TrailReview.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(TrailReview.id < before)
    return list(session.scalars(stmt))
