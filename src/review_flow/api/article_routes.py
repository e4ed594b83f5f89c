"""``/api/v1/articles``: drafts, edits, workflow actions, history and revisions.

Edits and actions name the version they were made against (``If-Match`` or
``expected_version``); a stale one is a 409 with the current version."""

from __future__ import annotations

import re
from typing import Any

from flask import request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from review_flow.actor import Actor
from review_flow.api import document, idempotency, pagination
from review_flow.api import schemas as s
from review_flow.api.blueprint import (
    INT_ID,
    READ_ALL_ROLES,
    bp,
    page,
    read,
    responses,
    spec,
    write,
)
from review_flow.api.errors import invalid_if_match
from review_flow.articles import actions, queries, writes
from review_flow.articles.models import Article, Revision
from review_flow.audit.export import event_as_dict
from review_flow.audit.models import AuditEvent
from review_flow.errors import Conflict, NotFound
from review_flow.workflow.definition import USER_ACTIONS

_IF_MATCH = re.compile(r'^(?:W/)?"v([0-9]{1,10})"$')  # s.IF_MATCH_PATTERN, less "*"


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None or raw == "*":
        return None
    match = _IF_MATCH.match(raw)
    if not match:
        raise invalid_if_match()
    return int(match.group(1))


def _expected_version(body_value: int | None) -> int | None:
    header = _if_match()
    if header is not None and body_value is not None and header != body_value:
        raise Conflict(
            "If-Match and expected_version disagree; send one of them.",
            code="precondition_mismatch",
        )
    return header if header is not None else body_value


def _etag(version: int) -> str:
    return f'"v{version}"'


# --- visibility -----------------------------------------------------------------------


def _reads_all(actor: Actor) -> bool:
    return bool(actor.roles & READ_ALL_ROLES)


def _visible_article(session: Session, actor: Actor, article_id: int) -> Article:
    article = queries.get_article(session, article_id)
    if article.author_id != actor.id and not _reads_all(actor):
        # Drafts are not public: do not reveal whether someone else's exists.
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    return article



# --- shapes ---------------------------------------------------------------------------


def _article_detail(
    session: Session, article: Article, actor: Actor, *, actor_just_wrote: bool = False
) -> dict[str, Any]:
    data = queries.article_as_dict(session, article, actor, actor_just_wrote=actor_just_wrote)
    rev = article.current_revision
    data["content"] = (
        None
        if rev is None
        else {
            "revision": rev.number,
            "content_hash": rev.content_hash,
            "title": rev.title,
            "body": rev.body,
            "references": rev.references,
            "generator": rev.generator,
        }
    )
    return data


def _summary(article: Article) -> dict[str, Any]:
    cur, appr = article.current_revision, article.approved_revision
    return {
        "id": article.id,
        "slug": article.slug,
        "title": cur.title if cur else None,
        "state": article.state,
        "version": article.version,
        "author": {"id": article.author.id, "name": article.author.name},
        "current_revision": cur.summary() if cur else None,
        "approved_revision": appr.summary() if appr else None,
        "updated_at": article.updated_at.isoformat(),
    }




def _article_written(
    session: Session, actor: Actor, article: Article, status: int, *, new_revision: bool
) -> idempotency.Stored:
    return idempotency.Stored(
        status,
        _article_detail(session, article, actor, actor_just_wrote=new_revision),
        {
            "ETag": _etag(article.version),
            "Location": url_for("api.get_article", article_id=article.id),
        },
    )


# --- articles -------------------------------------------------------------------------


@bp.get("/articles")
@spec.validate(query=s.ArticleQuery, resp=responses(HTTP_200=s.ArticleList), tags=["articles"])
def list_articles(query: s.ArticleQuery) -> Any:
    """List articles, newest first.

    Authors see their own; reviewers, editors, auditors and admins see all. Follow
    ``next_cursor`` (pass it as ``cursor``) until it is null.
    """
    before = pagination.decode(query.cursor, "articles")

    def work(session: Session, actor: Actor) -> Any:
        stmt = (
            select(Article)
            .options(joinedload(Article.current_revision), joinedload(Article.approved_revision))
            .order_by(Article.id.desc())
            .limit(query.limit + 1)
        )
        if query.state:
            stmt = stmt.where(Article.state == query.state)
        if before is not None:
            stmt = stmt.where(Article.id < before)
        if not _reads_all(actor):
            stmt = stmt.where(Article.author_id == actor.id)
        rows, cursor = page(
            list(session.scalars(stmt).unique()), query.limit, "articles", lambda a: a.id
        )
        return {"items": [_summary(a) for a in rows], "next_cursor": cursor}

    return read(work)


@bp.post("/articles")
@document.sends(201, "ETag", "Location", optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(
    json=s.ArticleCreate,
    headers=s.IdempotentHeaders,
    resp=responses(HTTP_201=s.Article),
    tags=["articles"],
)
def create_article(json: s.ArticleCreate) -> Any:
    """Create a draft (its first revision). Honours ``Idempotency-Key``: a retry with the
    same key and body returns the first answer and creates nothing."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        article = writes.create_article(
            session,
            actor,
            title=json.title,
            body=json.body,
            references=[r.model_dump(exclude_none=True) for r in json.references],
            generator=json.generator.model_dump(exclude_none=True) if json.generator else None,
        )
        return _article_written(session, actor, article, 201, new_revision=True)

    return write(work, idempotent=True)


@bp.get(f"/articles/<{INT_ID}:article_id>")
@document.sends(200, "ETag")
@spec.validate(resp=responses(HTTP_200=s.Article), tags=["articles"])
def get_article(article_id: int) -> Any:
    """One article with its current text, provenance, approvals and the actions the
    token's user may take now. The ``ETag`` header carries the version for ``If-Match``."""

    def work(session: Session, actor: Actor) -> Any:
        article = _visible_article(session, actor, article_id)
        return _article_detail(session, article, actor), 200, {"ETag": _etag(article.version)}

    return read(work)


@bp.put(f"/articles/<{INT_ID}:article_id>")
@document.sends(200, "ETag", "Location")
@document.sends(409, optional=("ETag",))
@spec.validate(
    json=s.ArticleUpdate,
    headers=s.ConditionalHeaders,
    resp=responses(HTTP_200=s.Article),
    tags=["articles"],
)
def update_article(article_id: int, json: s.ArticleUpdate) -> Any:
    """Save new text as a new revision. Send ``If-Match`` (the ETag) or ``expected_version``:
    if the article changed meanwhile the answer is 409 with the current version."""
    expected = _expected_version(json.expected_version)

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _visible_article(session, actor, article_id)
        article, revision = writes.edit_article(
            session,
            actor,
            article_id,
            title=json.title,
            body=json.body,
            references=[r.model_dump(exclude_none=True) for r in json.references],
            generator=json.generator.model_dump(exclude_none=True) if json.generator else None,
            expected_version=expected,
        )
        return _article_written(
            session, actor, article, 200, new_revision=revision is not None
        )

    return write(work)


_ACTIONS = "any(" + ", ".join(USER_ACTIONS) + ")"


@bp.post(f"/articles/<{INT_ID}:article_id>/actions/<{_ACTIONS}:action>")
@document.sends(200, "ETag", optional=(idempotency.REPLAYED_HEADER,))
@document.sends(409, optional=("ETag",))
@spec.validate(
    json=s.ActionRequest,
    headers=s.ActionHeaders,
    resp=responses(HTTP_200=s.ActionResponse),
    tags=["articles"],
)
def act_on_article(article_id: int, action: str, json: s.ActionRequest) -> Any:
    """Take a workflow action (submit, withdraw, start_review, request_changes, ...).

    Approve and reject need an electronic signature by a person: a token gets 403
    ``token_cannot_sign``. Honours ``Idempotency-Key``, ``If-Match`` and ``expected_version``.
    """
    body = json
    expected = _expected_version(body.expected_version)

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _visible_article(session, actor, article_id)
        result = actions.perform_action(
            session, actor, article_id, action, comment=body.comment, expected_version=expected,
            conflict=body.conflict, checklist=body.checklist,
        )
        return idempotency.Stored(
            200,
            {
                "action": action,
                "from_state": result.from_state,
                "to_state": result.to_state,
                "article": _article_detail(session, result.article, actor),
            },
            {"ETag": _etag(result.article.version)},
        )

    return write(work, idempotent=True)


@bp.get(f"/articles/<{INT_ID}:article_id>/history")
@spec.validate(query=s.HistoryQuery, resp=responses(HTTP_200=s.EventList), tags=["articles"])
def article_history(article_id: int, query: s.HistoryQuery) -> Any:
    """The article's audit events, oldest first (same fields as the audit export)."""
    after = pagination.decode(query.cursor, "history")

    def work(session: Session, actor: Actor) -> Any:
        _visible_article(session, actor, article_id)
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.article_id == article_id)
            .order_by(AuditEvent.seq)
            .limit(query.limit + 1)
        )
        if after is not None:
            stmt = stmt.where(AuditEvent.seq > after)
        rows, cursor = page(list(session.scalars(stmt)), query.limit, "history", lambda e: e.seq)
        return {"items": [event_as_dict(e) for e in rows], "next_cursor": cursor}

    return read(work)


@bp.get(f"/articles/<{INT_ID}:article_id>/revisions")
@spec.validate(query=s.RevisionQuery, resp=responses(HTTP_200=s.RevisionList), tags=["articles"])
def list_revisions(article_id: int, query: s.RevisionQuery) -> Any:
    """Every saved text of the article, oldest first, with provenance (``generator``)."""
    after = pagination.decode(query.cursor, "revisions")

    def work(session: Session, actor: Actor) -> Any:
        _visible_article(session, actor, article_id)
        stmt = (
            select(Revision)
            .where(Revision.article_id == article_id)
            .options(joinedload(Revision.author))
            .order_by(Revision.number)
            .limit(query.limit + 1)
        )
        if after is not None:
            stmt = stmt.where(Revision.number > after)
        rows, cursor = page(
            list(session.scalars(stmt)), query.limit, "revisions", lambda r: r.number
        )
        return {
            "items": [
                {
                    "number": r.number,
                    "content_hash": r.content_hash,
                    "title": r.title,
                    "body": r.body,
                    "references": r.references,
                    "generator": r.generator,
                    "author": {"id": r.author.id, "name": r.author.name},
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ],
            "next_cursor": cursor,
        }

    return read(work)


