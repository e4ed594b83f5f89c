"""What the pages show, each read in a fixed, small number of queries (no N+1).

Read-only projections for the queue, "My articles", the public page and the editorial
policy. They decide nothing about the workflow; the one public-visibility rule here
(what a reader may see of an article) is documented on :func:`public_article`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from review_flow.articles import public_view, search
from review_flow.articles.models import WAITING_SQL, Article, Comment, Revision
from review_flow.articles.public_view import PENDING_STATES as PENDING_STATES
from review_flow.articles.public_view import QUEUE_STATES as QUEUE_STATES
from review_flow.articles.public_view import Approval as Approval
from review_flow.articles.public_view import PublicArticle as PublicArticle
from review_flow.audit.models import AuditEvent
from review_flow.policy import service as policy_service
from review_flow.signatures import trust
from review_flow.signatures.models import Decision
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.models import User, UserRole
from review_flow.users.roles import Role
from review_flow.web.converters import MAX_ID as MAX_ID


def _reviewer_name() -> Any:
    """Who started the latest review of the article (from the audit log)."""
    return (
        select(AuditEvent.actor_name)
        .where(AuditEvent.article_id == Article.id, AuditEvent.action == "article.start_review")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class QueueRow:
    id: int
    slug: str
    state: str
    version: int
    title: str
    revision: int
    author_name: str
    submitted_at: datetime | None
    reviewer_name: str | None
    generator: dict[str, Any] | None


@cache
def _queue_statements() -> tuple[Select, Select]:
    """Built once (building ORM expressions per request costs more than running them).

    The rows are read by keyset over the partial index ``ix_articles_waiting``
    (submitted_at, id of waiting articles): the literal ``WAITING_SQL`` term lets SQLite
    use that index (it matches a partial index's condition by its text, not its values)
    and PostgreSQL prove that it applies.
    """
    rows = (
        select(
            Article.id, Article.slug, Article.state, Article.version, Article.submitted_at,
            Revision.title, Revision.number, Revision.generator,
            User.name.label("author_name"), _reviewer_name().label("reviewer_name"),
        )
        .join(Revision, Revision.id == Article.current_revision_id)
        .join(User, User.id == Article.author_id)
        .where(text(WAITING_SQL.replace("state", "articles.state", 1)),
               # "|| ''" here too: no index serves this term, so none competes with
               # the partial index, which has the rows in queue order already.
               Article.state.concat("").in_(bindparam("states", expanding=True)),
               tuple_(Article.submitted_at, Article.id)
               > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")))
        .order_by(Article.submitted_at.asc(), Article.id.asc())
        .limit(bindparam("limit"))
    )
    counts = (
        select(Article.state, func.count()).where(Article.state.in_(QUEUE_STATES))
        .group_by(Article.state)
    )
    return rows, counts


# Before every waiting article: the first page's position in the queue.
_QUEUE_START = (datetime(1970, 1, 1, tzinfo=UTC), 0)


def review_queue(session: Session, states: tuple[str, ...], *, limit: int = 100,
                 after: tuple[datetime, int] | None = None) -> list[QueueRow]:
    """Articles waiting for review, oldest waiting first, from the position ``after``
    (submitted_at, id of the last row of the page before): one query."""
    after_at, after_id = after or _QUEUE_START
    stmt = _queue_statements()[0]
    result = session.execute(stmt, {"states": list(states), "limit": limit,
                                    "after_at": after_at, "after_id": after_id})
    return [
        QueueRow(r.id, r.slug, r.state, r.version, r.title, r.number, r.author_name,
                 r.submitted_at, r.reviewer_name, r.generator)
        for r in result
    ]


def queue_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(QUEUE_STATES, 0)
    counts.update({state: n for state, n in session.execute(_queue_statements()[1])})
    return counts


@dataclass(frozen=True)
class MyArticleRow:
    id: int
    slug: str
    state: str
    title: str
    revision: int
    updated_at: datetime
    reviewer_name: str | None
    has_approved: bool
    showing_approved: bool


def my_articles(session: Session, author_id: int, *, limit: int = 50,
                after: tuple[datetime, int] | None = None) -> list[MyArticleRow]:
    """The author's articles, most recently changed first, from the position ``after``
    (updated_at, id of the last row shown): one query, by ``ix_articles_author_updated``."""
    stmt = (
        select(
            Article.id, Article.slug, Article.state, Article.updated_at,
            Article.approved_revision_id, Article.current_revision_id,
            Revision.title, Revision.number, _reviewer_name().label("reviewer_name"),
        )
        .join(Revision, Revision.id == Article.current_revision_id)
        .where(Article.author_id == author_id)
        .order_by(Article.updated_at.desc(), Article.id.desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Article.updated_at, Article.id) < tuple_(
            literal(after[0], UTCDateTime), literal(after[1])))
    return [
        MyArticleRow(r.id, r.slug, r.state, r.title, r.number, r.updated_at, r.reviewer_name,
                     r.approved_revision_id is not None,
                     r.approved_revision_id == r.current_revision_id)
        for r in session.execute(stmt)
    ]


# --- the public page ---------------------------------------------------------------------

def _latest_retraction() -> tuple[Any, Any]:
    latest = (
        select(Comment.body, Comment.created_at)
        .where(Comment.article_id == Article.id, Comment.kind == "retract")
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(1)
    )
    return (
        latest.with_only_columns(Comment.body).scalar_subquery(),
        latest.with_only_columns(Comment.created_at).scalar_subquery(),
    )


def _approved_at() -> Any:
    """When the approved revision got its (last) approval."""
    return (
        select(func.max(Decision.signed_at))
        .where(Decision.revision_id == Article.approved_revision_id, Decision.kind == "approve")
        .scalar_subquery()
    )


@cache
def _public_statements() -> tuple[Select, Select]:
    """Built once: constructing these ORM expressions costs more than running them."""
    shown = aliased(Revision)
    reason, retracted_at = _latest_retraction()
    article = (
        select(
            Article.id, Article.slug, Article.state, Article.approved_revision_id,
            Article.review_due, shown.id.label("rev_id"), shown.number, shown.title,
            shown.body, shown.professional_body, shown.references,
            shown.content_hash, shown.generator, shown.created_at,
            reason.label("retraction_reason"), retracted_at.label("retracted_at"),
            _approved_at().label("approved_at"),
            policy_service.newest_version_query().label("policy_version"),
        )
        .join(shown, shown.id == func.coalesce(Article.approved_revision_id,
                                               Article.current_revision_id))
        .where(Article.slug == bindparam("slug"))
    )
    approvals = (
        select(Decision.printed_name, Decision.credentials, Decision.signed_at, Decision.meaning,
               Decision.id, Decision.reviewer_id, Decision.revision_number,
               Decision.content_hash, trust.chained_approval().label("chained"),
               Decision.conflict, Decision.round_id)
        .where(Decision.revision_id == bindparam("rev_id"), Decision.kind == "approve")
        .order_by(Decision.signed_at)
    )
    return article, approvals


@cache
def _validator_statement() -> Select[Any]:
    return select(Article.version, policy_service.newest_version_query(),
                  Article.review_due).where(Article.slug == bindparam("slug"))


_compiled_validators: dict[str, tuple[str, bool]] = {}


def _validator_sql(engine: Engine) -> tuple[str, bool]:
    """The validator's SQL for this dialect, compiled once; (sql, positional params?)."""
    name = engine.dialect.name
    found = _compiled_validators.get(name)
    if found is None:
        compiled = _validator_statement().compile(dialect=engine.dialect)
        found = _compiled_validators[name] = (str(compiled), bool(compiled.positiontup))
    return found


def public_validator(engine: Engine, slug: str) -> tuple[int, int | None, bool] | None:
    """(article version, policy version, past its review date?), or None when there is no
    such article.

    Everything the public page shows changes one of the first two (every workflow action
    and every edit bumps the article's version), except the notice that the text is past
    its review date, which time alone brings (no write happens when the date passes), so
    a page rendered for the same three is still right. This runs on every cached page
    view, so it skips the ORM: one precompiled statement on a pooled DBAPI connection
    (about 20 µs on SQLite instead of 200 µs).
    """
    sql, positional = _validator_sql(engine)
    conn = engine.raw_connection()
    try:
        # PostgreSQL: one statement needs no transaction; autocommit saves the BEGIN and
        # the ROLLBACK round trips. (Our SQLite connections are in autocommit already.)
        driver: Any = conn.driver_connection
        autocommit = engine.dialect.name == "postgresql" and driver is not None
        if autocommit:
            try:
                driver.autocommit = True
            except Exception:  # in a transaction already: run the statement inside it
                autocommit = False
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, (slug,) if positional else {"slug": slug})
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if autocommit:
                driver.autocommit = False
    finally:
        conn.close()  # back to the pool, which rolls back any implicit transaction
    if row is None:
        return None
    return int(row[0]), None if row[1] is None else int(row[1]), _past(row[2], utcnow())


def _past(due: datetime | str | None, now: datetime) -> bool:
    """Is a review date read by the driver (SQLite: the stored ISO text; PostgreSQL: a
    datetime) at or before ``now``?"""
    if due is None:
        return False
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    return due <= now


def public_article(session: Session, slug: str) -> PublicArticle | None:
    """The article as readers may see it, or None if they may not see it at all.

    - Approved text is public; while a new revision is in the works, readers keep
      seeing the last approved one.
    - A retraction replaces the text with a notice until a revision is approved again.
    - Never-approved text under review is public under the caution banner when the
      policy's ``show_pending_publicly`` says so; drafts and rejected text never are.

    Two queries: the article with its shown revision (and the retraction, approval time
    and policy version as sub-selects), then the approvals of an approved revision.
    """
    article_stmt, approvals_stmt = _public_statements()
    conn = session.connection()
    row = conn.execute(article_stmt, {"slug": slug}).one_or_none()
    if row is None:
        return None
    retracted = row.retracted_at is not None and (
        row.approved_at is None or row.retracted_at > row.approved_at
    )
    approved = row.approved_revision_id is not None and not retracted
    if not approved and not retracted:
        policy = policy_service.settings_for(session, row.policy_version)
        if row.state not in PENDING_STATES or not policy.show_pending_publicly:
            return None
    approvals: tuple[Approval, ...] = ()
    if approved:
        decisions = conn.execute(approvals_stmt, {"rev_id": row.rev_id})
        approvals, problem = public_view.reviewed_by(row.id, row, decisions)
        approved = problem is None  # else shown as pending review, under the banner
    return public_view.build(
        article_id=row.id, slug=row.slug, state=row.state, revision_id=row.rev_id,
        revision=row, approved=approved, approvals=approvals, retracted=retracted,
        retraction_reason=row.retraction_reason, retracted_at=row.retracted_at,
        review_due=row.review_due, now=utcnow(),
    )


@dataclass(frozen=True)
class IndexRow:
    id: int
    slug: str
    title: str
    published_at: datetime


def public_index(session: Session, *, limit: int = 20,
                 after: tuple[datetime, int] | None = None,
                 words: list[str] | None = None) -> list[IndexRow]:
    """Articles whose approved text is public, most recently approved first, from the
    position ``after`` (published_at, id of the last row shown); only those whose title
    has a word starting with each of ``words`` when given (then up to four queries,
    see below). One query, walking ``ix_articles_published``
    (``articles.published_at`` is set by an approval and cleared by a retraction, so
    retracted articles are not listed)."""
    stmt = (
        select(Article.id, Article.slug, Article.published_at, Revision.title)
        .join(Revision, Revision.id == Article.approved_revision_id)
        .where(Article.published_at.is_not(None))
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Article.published_at, Article.id) < tuple_(
            literal(after[0], UTCDateTime), literal(after[1])))
    if words:
        dialect = session.get_bind().dialect.name
        # A common word: the next WALK_FIRST articles in order hold a page of matches.
        searched = stmt
        if dialect == "postgresql":  # test the stored tsvector, not the title
            stored: Any = literal_column("revisions.title_search").label("title_search")
            searched = stmt.add_columns(stored)
        window = searched.limit(search.WALK_FIRST).subquery()
        rows = session.execute(
            select(window.c.id, window.c.slug, window.c.published_at, window.c.title)
            .where(search.title_matches(dialect, words, window.c.id,
                                        window.c.get("title_search", window.c.title)))
            .order_by(window.c.published_at.desc(), window.c.id.desc()).limit(limit)).all()
        if len(rows) < limit:
            # A rare one: read its matches through the search index, then sort them.
            ids = search.matching_ids(session, words)
            rows = session.execute(stmt.where(Article.id.in_(ids))).all() if ids else []
        return [IndexRow(r.id, r.slug, r.title, r.published_at) for r in rows]
    return [IndexRow(r.id, r.slug, r.title, r.published_at) for r in session.execute(stmt)]


@dataclass(frozen=True)
class BoardMember:
    name: str
    credentials: str | None
    specialties: list[str]


def board_members(session: Session, *, verified_on: date | None = None) -> list[BoardMember]:
    """Active reviewers by name; with ``verified_on``, only those whose credentials are
    verified through that day (the policy requires verification)."""
    stmt = (
        select(User.name, User.credentials, User.specialties)
        .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == Role.REVIEWER.value))
        .where(User.active.is_(True))
        .order_by(User.name)
    )
    if verified_on is not None:
        stmt = stmt.where(User.credentials_verified_until >= verified_on)
    return [BoardMember(r.name, r.credentials, list(r.specialties or []))
            for r in session.execute(stmt)]


def comments_for(session: Session, article_id: int) -> list[Any]:
    """Comments with their author and revision number: one query."""
    stmt = (
        select(Comment.id, Comment.kind, Comment.body, Comment.created_at,
               User.name.label("author_name"), User.credentials.label("author_credentials"),
               Revision.number.label("revision"))
        .join(User, User.id == Comment.author_id)
        .outerjoin(Revision, Revision.id == Comment.revision_id)
        .where(Comment.article_id == article_id)
        .order_by(Comment.created_at, Comment.id)
    )
    return list(session.execute(stmt))


def revision_list(session: Session, article_id: int) -> list[Any]:
    stmt = (
        select(Revision.number, Revision.created_at, Revision.content_hash,
               User.name.label("author_name"))
        .join(User, User.id == Revision.author_id)
        .where(Revision.article_id == article_id)
        .order_by(Revision.number.desc())
    )
    return list(session.execute(stmt))


def revision_by_number(session: Session, article_id: int, number: int) -> Revision | None:
    return session.scalar(
        select(Revision).where(Revision.article_id == article_id, Revision.number == number)
    )


def signatures_for(session: Session, revision_id: int) -> list[Decision]:
    return list(session.scalars(
        select(Decision).where(Decision.revision_id == revision_id).order_by(Decision.signed_at)
    ))


def audit_page(session: Session, *, before: int | None, limit: int = 50) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    return list(session.scalars(stmt))


def event_attestations(session: Session, events: list[AuditEvent]) -> dict[int, dict[str, Any]]:
    """What each signature event's signer attested, by event ``seq``: one query.

    A decision is written with its event in one action, at the same instant, by the same
    person, on the same revision; those four name it.
    """
    signed = [e for e in events if e.action in ("article.approve", "article.reject")
              and e.article_id is not None and e.actor_id is not None]
    if not signed:
        return {}
    rows = session.execute(
        select(Decision.article_id, Decision.reviewer_id, Decision.kind,
               Decision.revision_number, Decision.signed_at, Decision.attestations)
        .where(Decision.article_id.in_({e.article_id for e in signed}),
               Decision.attestations.is_not(None))
    )
    by_key = {(r.article_id, r.reviewer_id, f"article.{r.kind}", r.revision_number,
               r.signed_at): r.attestations for r in rows}
    out = {}
    for e in signed:
        found = by_key.get((e.article_id, e.actor_id, e.action, e.revision, e.at))
        if found:
            out[e.seq] = found
    return out


# Bigger "before" cursors are no row's sequence number (and SQLite cannot bind them).
MAX_CURSOR = 2**62


def parse_cursor(raw: str | None, maximum: int = MAX_CURSOR) -> int | None:
    """A pager's ``before`` query argument: an id (``maximum=MAX_ID``) or sequence number,
    or None (the first page) for anything that is not one, so a mangled link shows the
    newest rows."""
    value = _whole_number(raw)
    return value if value is not None and 0 < value <= maximum else None


# A page number past this is no page (50 rows a page: 50 million rows); refusing it keeps
# the OFFSET inside what both databases can bind.
MAX_PAGE = 1_000_000


def parse_page(raw: str | None) -> int:
    """A pager's ``page`` query argument: 1 for anything that is not a page number."""
    value = _whole_number(raw)
    return value if value is not None and 0 < value <= MAX_PAGE else 1


def _whole_number(raw: str | None) -> int | None:
    """ASCII digits only (``"²".isdigit()`` is true, but ``int("²")`` fails), 19 at most."""
    raw = raw or ""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    return int(raw)
