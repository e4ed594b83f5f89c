"""Reading articles: by id or slug, what an actor may do now, approvals, the JSON shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload

from review_flow.actor import Actor, AnyActor
from review_flow.articles.models import Article, Revision
from review_flow.errors import NotFound
from review_flow.rounds import acting as round_acting
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow
from review_flow.workflow import engine, permissions
from review_flow.workflow.definition import ACTIONS_BY_NAME, USER_ACTIONS


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id, options=[joinedload(Article.current_revision)])
    if article is None:
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    return article


def get_by_slug(session: Session, slug: str) -> Article:
    article = session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound(f"No article at {slug!r}.", slug=slug)
    return article


def allowed_actions(
    session: Session,
    actor: AnyActor,
    article: Article,
    *,
    wrote_revision: bool | None = None,
    approved_by_actor: bool | None = None,
) -> list[str]:
    """The actions ``actor`` may take on ``article`` now (what the UI offers as buttons).

    ``approved_by_actor``: whether the actor approved the current revision in any round,
    when the caller already knows; ``False`` spares the round's query, ``True`` does not
    (an approval in an earlier round does not count in a re-review).
    """
    candidates = [n for n in USER_ACTIONS if engine.can_fire(n, article.state)]
    if not candidates:
        return []
    if wrote_revision is None:
        wrote_revision = bool(
            session.scalar(
                select(
                    exists().where(
                        Revision.article_id == article.id, Revision.author_id == actor.id
                    )
                )
            )
        )
    out = []
    for name in candidates:
        spec = ACTIONS_BY_NAME[name]
        if permissions.refusal(
            spec, actor, article_author_id=article.author_id, wrote_revision=wrote_revision
        ):
            continue
        if spec.needs_signature and actor.via_token:
            continue
        if name == "request_rereview" and (
            article.review_due is None or utcnow() < article.review_due
        ):
            continue
        out.append(name)
    # Whether the actor already approved is a question about the open round (one
    # approval per reviewer per round), so the round's rules answer it.
    return round_acting.offered(
        session, actor, article, out, approved_revision=approved_by_actor
    )


def approvals_for(session: Session, revision_id: int) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.revision_id == revision_id, Decision.kind == "approve")
            .order_by(Decision.signed_at)
        )
    )


def article_as_dict(
    session: Session,
    article: Article,
    actor: Actor | None = None,
    *,
    actor_just_wrote: bool = False,
) -> dict[str, Any]:
    """The stable JSON shape of ``articles show --json`` and the API.

    ``actor_just_wrote``: the current revision was made by ``actor`` in this transaction,
    so it has no approvals yet and the actor is one of its writers (two queries saved on
    every API create and edit).
    """
    current = article.current_revision
    approved = article.approved_revision
    out: dict[str, Any] = {
        "id": article.id,
        "slug": article.slug,
        "title": current.title if current else None,
        "state": article.state,
        "version": article.version,
        "author": {"id": article.author.id, "name": article.author.name},
        "current_revision": current.summary() if current else None,
        "approved_revision": approved.summary() if approved else None,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "review_due": article.review_due.isoformat() if article.review_due else None,
    }
    if current is not None:
        out["approvals"] = [
            {
                "reviewer": d.signed_by,
                "signed_at": d.signed_at.isoformat(),
                "content_hash": d.content_hash,
                "meaning": d.meaning,
            }
            for d in ([] if actor_just_wrote else approvals_for(session, current.id))
        ]
    out["allowed_actions"] = (
        allowed_actions(
            session,
            actor,
            article,
            wrote_revision=True if actor_just_wrote else None,
            approved_by_actor=False if actor_just_wrote else None,
        )
        if actor
        else []
    )
    return out


def count_by_state(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Article.state, func.count()).group_by(Article.state)).all())
