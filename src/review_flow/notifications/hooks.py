"""Called by the article service at the end of each change: decides who hears about it
and writes the outbox rows in the same transaction, so a rolled-back change notifies
nobody and a committed one is never forgotten.

No Flask, no network here: only rows. The deliverer (``outbox/deliver.py``) sends them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.models import Article, Revision
from review_flow.notifications.models import EmailOptOut
from review_flow.notifications.webhooks import subscribed
from review_flow.outbox.service import enqueue_many
from review_flow.timeutil import isoformat, utcnow
from review_flow.users.models import User, UserRole
from review_flow.users.roles import Role

if TYPE_CHECKING:
    from review_flow.articles.service import ActionResult

# Which e-mail each workflow action sends, and to whom ("author" or "reviewers").
EMAIL_ON_ACTION: dict[str, tuple[str, str]] = {
    "submit": ("review_requested", "reviewers"),
    # An approved article due for its periodic re-review waits for reviewers again.
    "request_rereview": ("review_requested", "reviewers"),
    "request_changes": ("changes_requested", "author"),
    "approve": ("approved", "author"),
    "reject": ("rejected", "author"),
}


def _signed_name(user: User) -> str:
    return f"{user.name}, {user.credentials}" if user.credentials else user.name


def _article_summary(article: Article) -> dict[str, Any]:
    rev = article.current_revision
    appr = article.approved_revision
    return {
        "id": article.id,
        "slug": article.slug,
        "title": rev.title if rev else None,
        "state": article.state,
        "version": article.version,
        "revision": rev.number if rev else None,
        "content_hash": rev.content_hash if rev else None,
        "approved_revision": appr.summary() if appr else None,
    }


def _webhooks(
    session: Session,
    event: str,
    article: Article,
    actor: Actor,
    now: datetime,
    extra: dict[str, Any],
) -> list[dict[str, Any]]:
    """Outbox rows for the endpoints that want ``event``."""
    hooks = subscribed(session, event)
    if not hooks:
        return []
    data = {
        "article": _article_summary(article),
        "actor": {"id": actor.id, "name": actor.user.name},
        **extra,
    }
    rows = []
    for hook in hooks:
        # The body carries its own id (= the outbox message id) for receivers' dedupe.
        mid = str(uuid.uuid4())
        rows.append(
            {
                "channel": "webhook",
                "kind": event,
                "recipient": hook.url,
                "webhook_id": hook.id,
                "article_id": article.id,
                "message_id": mid,
                "payload": {"id": mid, "type": event, "created_at": isoformat(now), "data": data},
            }
        )
    return rows


def _wanted_by(kind: str) -> Any:
    """SQL: the user is active and has not turned ``kind`` off."""
    opted_out = exists().where(EmailOptOut.user_id == User.id, EmailOptOut.kind == kind)
    return User.active.is_(True) & ~opted_out


def _reviewers_to_tell(session: Session, article: Article, kind: str) -> list[User]:
    """Active reviewers who may review it (wrote no revision of it) and want this kind."""
    wrote = exists().where(Revision.article_id == article.id, Revision.author_id == User.id)
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == Role.REVIEWER.value,
            User.id != article.author_id,
            ~wrote,
            _wanted_by(kind),
        )
        .order_by(User.id)
    )
    return list(session.scalars(stmt).unique())


def _author_to_tell(session: Session, article: Article, actor: Actor, kind: str) -> list[User]:
    if article.author_id == actor.id:
        return []
    return list(session.scalars(select(User).where(User.id == article.author_id, _wanted_by(kind))))


def _emails(
    kind: str, users: list[User], article: Article, actor: Actor, comment: str | None
) -> list[dict[str, Any]]:
    summary = _article_summary(article)
    return [
        {
            "channel": "email",
            "kind": kind,
            "recipient": user.email,
            "user_id": user.id,
            "article_id": article.id,
            "payload": {
                "kind": kind,
                "to": user.email,
                "to_name": user.name,
                "actor": _signed_name(actor.user),
                "article": summary,
                "comment": comment,
            },
        }
        for user in users
    ]


def article_created(session: Session, actor: Actor, article: Article) -> None:
    now = utcnow()
    enqueue_many(session, _webhooks(session, "article.create", article, actor, now, {}), now=now)


def article_edited(session: Session, actor: Actor, article: Article, revision: Revision) -> None:
    now = utcnow()
    enqueue_many(
        session,
        _webhooks(session, "article.edit", article, actor, now, {"revision": revision.number}),
        now=now,
    )


def action_taken(session: Session, actor: Actor, result: ActionResult) -> None:
    """E-mails and webhooks for one workflow action (``perform_action`` calls this last).

    Costs one query for the webhooks, one for the e-mail recipients when the action
    sends mail, and one INSERT for all resulting rows.
    """
    article, action = result.article, result.action
    now = result.event.at
    comment = result.event.comment
    rows = _webhooks(
        session,
        f"article.{action}",
        article,
        actor,
        now,
        {
            "action": action,
            "from_state": result.from_state,
            "to_state": result.to_state,
            "comment": comment,
            "audit_seq": result.event.seq,
            **(
                {"approvals": result.approvals, "required_approvals": result.required_approvals}
                if action == "approve"
                else {}
            ),
        },
    )
    rule = EMAIL_ON_ACTION.get(action)
    # Approvals short of the quorum tell nobody: the author hears once, when approved.
    if rule is not None and not (action == "approve" and result.to_state != "approved"):
        kind, to = rule
        users = (
            _reviewers_to_tell(session, article, kind)
            if to == "reviewers"
            else _author_to_tell(session, article, actor, kind)
        )
        rows += _emails(kind, users, article, actor, comment)
    enqueue_many(session, rows, now=now)
