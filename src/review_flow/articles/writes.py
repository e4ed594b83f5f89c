"""Writing an article's text: create a draft, edit into a new revision.

No Flask here. Every function takes the caller's session and only flushes; the entry
point commits, so the change, its audit event and its notifications (domain events,
queued just before the commit) land together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.content import (
    clean_content,
    content_hash,
    parse_generator,
)
from review_flow.articles.loading import check_version, load_article
from review_flow.articles.models import Article, Revision
from review_flow.articles.queries import allowed_actions
from review_flow.articles.slugs import insert_with_unique_slug
from review_flow.audit import log as audit
from review_flow.audit.models import AuditChainHead
from review_flow.domain_events import ArticleAsOf, ArticleCreated, ArticleEdited
from review_flow.errors import GuardFailed, InvalidTransition
from review_flow.notifications import webhooks
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record
from review_flow.workflow import engine, permissions
from review_flow.workflow.definition import (
    ACTIONS_BY_NAME,
    EDITABLE_STATES,
    INITIAL_STATE,
    WORKFLOW_VERSION,
)

# What a create reads first, as an action's load does: the audit chain's head, locked
# (every create appends an event, and holding the lock from here on makes choosing a
# slug race-free), and whether this process's cached webhook endpoints are current.
_CREATE_PREAMBLE = (
    select(
        AuditChainHead.seq,
        AuditChainHead.hash,
        AuditChainHead.at,
        webhooks.generation_query().label("webhooks"),
    )
    .where(AuditChainHead.id == 1)
    .with_for_update(of=AuditChainHead)
)


def create_article(
    session: Session,
    actor: Actor,
    *,
    title: Any,
    body: Any,
    references: Any = None,
    generator: Any = None,
) -> Article:
    """A new draft with its first revision."""
    denied = permissions.may_create(actor)
    if denied:
        raise denied
    title, body, refs = clean_content(title, body, references)
    gen = parse_generator(generator)
    now = utcnow()
    first = session.execute(_CREATE_PREAMBLE).one()
    audit.seed_head(session, first.seq, first.hash, first.at)
    article = insert_with_unique_slug(
        session,
        title,
        author_id=actor.id,
        created_at=now,
        updated_at=now,
        state=INITIAL_STATE,
        version=1,
    )
    revision = Revision(
        article_id=article.id,
        number=1,
        title=title,
        body=body,
        references=refs,
        content_hash=content_hash(title, body, refs),
        author_id=actor.id,
        generator=gen,
        created_at=now,
    )
    session.add(revision)
    session.flush()
    article.current_revision = revision
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="article.create",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        to_state=article.state,
        revision=1,
        content_hash=revision.content_hash,
        workflow_version=WORKFLOW_VERSION,
        context=actor.context,
        data={"version": article.version, "generator": gen} if gen else {"version": 1},
        at=now,
    )
    session.flush()
    record(session, ArticleCreated(actor, ArticleAsOf.of(article), utcnow(), first.webhooks))
    return article


def edit_article(
    session: Session,
    actor: Actor,
    article_id: int,
    *,
    title: Any,
    body: Any,
    references: Any = None,
    generator: Any = None,
    expected_version: int | None = None,
) -> tuple[Article, Revision | None]:
    """Save new text as a new revision. Returns the revision, or None if nothing changed.

    Editing approved text moves the article back to draft (through the workflow's
    ``revise`` transition); the approved revision stays what readers see.
    """
    loaded = load_article(session, article_id, actor, lock=True)
    article = loaded.article
    check_version(session, article, expected_version)
    denied = permissions.may_edit(actor, article_author_id=article.author_id)
    if denied:
        raise denied
    if article.state not in EDITABLE_STATES:
        raise InvalidTransition(
            f"Article {article.id} is {article.state}: its text cannot be edited now"
            + (" (withdraw it first)." if article.state in ("submitted", "under_review") else "."),
            code="not_editable",
            state=article.state,
            allowed_actions=allowed_actions(
                session,
                actor,
                article,
                wrote_revision=loaded.wrote_revision,
                approved_by_actor=loaded.approved_by_actor,
            ),
        )
    title, body, refs = clean_content(title, body, references)
    gen = parse_generator(generator)
    current = article.current_revision
    new_hash = content_hash(title, body, refs)
    if (
        current is not None
        and current.content_hash == new_hash
        and (gen or None) == current.generator
    ):
        return article, None
    now = utcnow()
    revision = Revision(
        article_id=article.id,
        number=(current.number if current else 0) + 1,
        title=title,
        body=body,
        references=refs,
        content_hash=new_hash,
        author_id=actor.id,
        generator=gen,
        created_at=now,
    )
    session.add(revision)
    session.flush()
    from_state = article.state
    if from_state == "approved":
        ctx = engine.TransitionContext(action=ACTIONS_BY_NAME["revise"])
        if not engine.fire(article, "revise", ctx):  # pragma: no cover - revise has no guards
            raise GuardFailed(ctx.problems[0].message, code=ctx.problems[0].code)
    article.current_revision = revision
    article.version += 1
    article.updated_at = now
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="article.edit",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        from_state=from_state,
        to_state=article.state,
        revision=revision.number,
        content_hash=new_hash,
        workflow_version=WORKFLOW_VERSION,
        policy_version=loaded.policy_version,
        context=actor.context,
        data={"version": article.version, **({"generator": gen} if gen else {})},
        at=now,
    )
    session.flush()
    record(
        session,
        ArticleEdited(actor, ArticleAsOf.of(article), revision.number, utcnow(),
                      loaded.webhook_generation, from_state=from_state),
    )
    return article, revision
