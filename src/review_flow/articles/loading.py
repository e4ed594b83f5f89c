"""Loading an article to act on it: one query, locked for writes, and the version check.

Every write (edit, action, comment) starts here, so what an action reads about the
article, the actor and the policy comes from one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload, lazyload

from review_flow.actor import AnyActor
from review_flow.articles.models import Article, Revision
from review_flow.audit import log as audit
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.errors import Conflict, NotConfigured, NotFound
from review_flow.notifications import webhooks
from review_flow.policy import service as policy_service
from review_flow.signatures.models import Decision
from review_flow.timeutil import UTCDateTime


@dataclass
class Loaded:
    article: Article
    wrote_revision: bool
    policy_version: int
    approvals: int
    approved_by_actor: bool
    webhook_generation: str | None = webhooks.GENERATION_UNKNOWN


class NotDue(Exception):
    """``load_article(..., due_by=...)``: the article is no longer an approved article due
    for review by then, or (PostgreSQL) another transaction holds it. Not a refusal: the
    caller (the sweep) has nothing to do, and nothing was written."""


def _build_load(lock: bool, *, due: bool = False) -> Any:
    wrote = exists().where(
        Revision.article_id == Article.id, Revision.author_id == bindparam("actor_id")
    )
    on_current = (Decision.revision_id == Article.current_revision_id) & (
        Decision.kind == "approve"
    )
    approvals = select(func.count()).where(on_current).scalar_subquery()
    by_actor = exists().where(on_current, Decision.reviewer_id == bindparam("actor_id"))
    columns: list[Any] = [
        Article,
        wrote.label("wrote"),
        policy_service.newest_version_query().label("pv"),
        approvals.label("approvals"),
        by_actor.label("by_actor"),
    ]
    if lock and not due:
        # The chain head too: every action appends an event, so taking the head lock here
        # saves the statement the event would spend on it (see audit.log.seed_head).
        columns += [
            AuditChainHead.seq.label("head_seq"),
            AuditChainHead.hash.label("head_hash"),
            AuditChainHead.at.label("head_at"),
        ]
    if lock:
        # The version as this statement's snapshot saw it. On PostgreSQL a FOR UPDATE that
        # waited for another writer returns the locked row as that writer committed it,
        # but joins and subqueries still read the snapshot taken before the wait; when
        # the two versions differ, ``load_article`` reads again (see there).
        seen = aliased(Article)
        columns.append(
            select(seen.version).where(seen.id == Article.id).scalar_subquery().label("seen")
        )
        # ... and whether this process's cached webhook endpoints are still current.
        columns.append(webhooks.generation_query().label("webhooks"))
    stmt = (
        select(*columns)
        .where(Article.id == bindparam("article_id"))
        # The author's row is not needed to act (author_id is); skip the join.
        .options(joinedload(Article.current_revision), lazyload(Article.author))
        .execution_options(populate_existing=True)
    )
    if lock and due:
        # The sweep's re-check folded into the load: still approved and due, and on
        # PostgreSQL the article's row lock taken with SKIP LOCKED (a concurrent sweep that
        # holds it will move it; this one passes it over). The chain head is not locked
        # here but by the audit event, late in the transaction: the sweep's workers
        # (sweep/workers.py) then do everything but the event at the same time, and wait
        # for one another only from the event to the commit. Locks are still taken in
        # the one order every action uses, the article's before the head's.
        return stmt.where(
            Article.state == "approved",
            Article.review_due <= bindparam("due_by", type_=UTCDateTime),
        ).with_for_update(of=[Article], skip_locked=True)
    if lock:
        stmt = stmt.join(AuditChainHead, AuditChainHead.id == 1).with_for_update(
            of=[Article, AuditChainHead]
        )
    return stmt


# Built once: a statement object memoizes its cache key, so executing it again skips
# rebuilding and re-keying the query (most of an action's Python time otherwise).
LOAD = {True: _build_load(True), False: _build_load(False)}
LOAD_IF_DUE = _build_load(True, due=True)


def load_article(
    session: Session, article_id: int, actor: AnyActor, *, lock: bool,
    due_by: datetime | None = None,
) -> Loaded:
    """In one query: the article with its current revision, whether the actor wrote any
    revision of it, the policy version in force, the approvals of the current revision
    and, when locking (``FOR UPDATE`` of the article row), the audit chain's head (not
    with ``due_by``: there the event locks it, see ``_build_load``).

    ``due_by`` (with ``lock``): only an approved article whose review date is not after
    it, skipping one another transaction holds; else :class:`NotDue`."""
    params: dict[str, Any] = {"article_id": article_id, "actor_id": actor.id}
    if due_by is not None:
        assert lock, "due_by re-checks under the row lock"
        stmt = LOAD_IF_DUE
        params["due_by"] = due_by
    else:
        stmt = LOAD[lock]
    row = session.execute(stmt, params).unique().one_or_none()
    if lock and row is not None and _read_before_the_wait(row):
        # Another writer committed while this one waited for the row lock, so the current
        # revision, the approvals and the rest were read before its change. The lock is
        # held now: reading again sees everything it committed (a new statement takes a
        # new snapshot under READ COMMITTED) and nobody can change it meanwhile.
        row = session.execute(stmt, params).unique().one_or_none()
    if row is None and due_by is not None:
        raise NotDue(article_id)
    if row is None:
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    if row.pv is None:
        raise NotConfigured("No review policy is installed; run `review-flow db upgrade`.")
    loaded = Loaded(row.Article, bool(row.wrote), row.pv, row.approvals, bool(row.by_actor))
    if lock and due_by is None:
        audit.seed_head(session, row.head_seq, row.head_hash, row.head_at)
    if lock:
        loaded.webhook_generation = row.webhooks
    return loaded


def _read_before_the_wait(row: Any) -> bool:
    article: Article = row.Article
    current = article.current_revision
    return row.seen != article.version or (
        article.current_revision_id is not None
        and (current is None or current.id != article.current_revision_id)
    )


def check_version(session: Session, article: Article, expected: int | None) -> None:
    if expected is None or expected == article.version:
        return
    missed = session.execute(
        select(
            AuditEvent.action,
            AuditEvent.actor_name,
            AuditEvent.at,
            AuditEvent.to_state,
            AuditEvent.revision,
        )
        .where(AuditEvent.article_id == article.id)
        .order_by(AuditEvent.seq.desc())
        .limit(max(1, min(article.version - expected, 20)))
    ).all()
    changes = [
        {
            "action": m.action,
            "by": m.actor_name,
            "at": m.at.isoformat(),
            "to_state": m.to_state,
            "revision": m.revision,
        }
        for m in reversed(missed)
    ]
    summary = "; ".join(f"{c['action'].split('.')[-1]} by {c['by']}" for c in changes)
    raise Conflict(
        f"Article {article.id} changed since you loaded it: you had version {expected}, "
        f"it is now version {article.version} ({article.state})"
        + (f" after: {summary}." if summary else "."),
        current_version=article.version,
        expected_version=expected,
        state=article.state,
        changes=changes,
    )
