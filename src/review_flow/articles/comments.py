"""Comments on an article: the comment text rules and adding a comment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.loading import load_article
from review_flow.articles.models import Comment
from review_flow.audit import log as audit
from review_flow.domain_events import CommentAdded
from review_flow.errors import ValidationFailed
from review_flow.threads import participation
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record
from review_flow.workflow import permissions

MAX_COMMENT = 20_000


def clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ValidationFailed("The comment must be text.", fields={"comment": "must be text"})
    comment = comment.strip()
    if "\x00" in comment:
        raise ValidationFailed(
            "The comment contains a NUL character; remove it.", fields={"comment": "contains NUL"}
        )
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            f"The comment is too long: at most {MAX_COMMENT} characters.",
            fields={"comment": "too long"},
        )
    return comment or None


def add_comment(session: Session, actor: Actor, article_id: int, body: Any) -> Comment:
    text = clean_comment(body)
    if not text:
        raise ValidationFailed("Write a comment before posting it.", fields={"comment": "required"})
    loaded = load_article(session, article_id, actor, lock=False)
    article = loaded.article
    # Who may comment at all (by role), then where the round's policy requires assignment
    # only its assigned reviewers (the rule comment threads follow, not a copy of it).
    denied = permissions.may_comment(actor, article_author_id=article.author_id) or (
        participation.refusal(session, actor, article_id=article.id,
                              article_author_id=article.author_id,
                              wrote_revision=loaded.wrote_revision))
    if denied:
        raise denied
    now = utcnow()
    item = Comment(
        article_id=article.id,
        revision_id=article.current_revision_id,
        author_id=actor.id,
        kind="comment",
        body=text,
        created_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="comment.add",
        object_type="comment",
        object_id=item.id,
        article_id=article.id,
        revision=article.current_revision.number if article.current_revision else None,
        comment=text,
        context=actor.context,
        at=now,
    )
    record(session, CommentAdded(actor, article.id, item.id, now))
    return item
