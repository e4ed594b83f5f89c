"""Who hears about each domain event, as outbox rows written in the event's transaction
(called by ``notifications/dispatcher.py`` just before the commit), so a rolled-back
change notifies nobody and a committed one is never forgotten.

No Flask, no network here: only rows. The deliverer (``outbox/deliver.py``) sends them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, cast, exists, insert, literal, select
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.db import table_of
from review_flow.domain_events import (
    ActionAudited,
    ActionTaken,
    ArticleAsOf,
    ArticleCreated,
    ArticleEdited,
    PolicyChanged,
)
from review_flow.notifications import board_mail
from review_flow.notifications.models import EmailOptOut
from review_flow.notifications.webhooks import GENERATION_UNKNOWN, PAGE_CHANGED, subscribed
from review_flow.outbox.models import OutboxMessage
from review_flow.outbox.service import enqueue_many
from review_flow.timeutil import UTCDateTime, isoformat
from review_flow.users.models import User

# Which e-mail each workflow action sends, and to whom ("author", or "reviewers": the
# board, as one row chosen and split per reviewer at delivery, ``board_mail.py``).
EMAIL_ON_ACTION: dict[str, tuple[str, str]] = {
    "submit": ("review_requested", "reviewers"),
    # An approved article due for its periodic re-review waits for reviewers again.
    "request_rereview": ("review_requested", "reviewers"),
    "request_changes": ("changes_requested", "author"),
    "approve": ("approved", "author"),
    "reject": ("rejected", "author"),
}


def _webhooks(
    session: Session,
    event: str,
    article: ArticleAsOf,
    actor: AnyActor,
    now: datetime,
    extra: dict[str, Any],
    generation: str | None = GENERATION_UNKNOWN,
) -> list[dict[str, Any]]:
    """Outbox rows for the endpoints that want ``event`` (no query while the cached
    endpoints are current, see ``webhooks.subscriptions``)."""
    hooks = subscribed(session, event, generation)
    if not hooks:
        return []
    data = {
        "article": article.summary(session),
        "actor": {"id": actor.id, "name": actor.name},
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


# States whose text readers may see before any approval (when the policy shows pending
# articles); as in ``web/read_models.PENDING_STATES``.
_PENDING_STATES = frozenset({"submitted", "under_review", "changes_requested"})


def public_paths(slug: str) -> list[str]:
    """The pages a change to one article can alter: its own and the index."""
    return [f"/articles/{slug}", "/"]


def _page_changed(
    session: Session,
    article: ArticleAsOf,
    actor: AnyActor,
    now: datetime,
    cause: str,
    generation: str | None,
) -> list[dict[str, Any]]:
    """``page.changed`` rows (CDN purge notices) for the endpoints that chose them."""
    return _webhooks(
        session,
        PAGE_CHANGED,
        article,
        actor,
        now,
        {"cause": cause, "scope": "article", "paths": public_paths(article.slug)},
        generation,
    )


def policy_changed(session: Session, ev: PolicyChanged) -> None:
    """A new policy version can change every public page (what is shown while pending,
    review dates, the editorial-policy page): one site-wide ``page.changed`` per endpoint."""
    hooks = subscribed(session, PAGE_CHANGED)
    if not hooks:
        return
    now, changed_by = ev.at, ev.changed_by
    data = {
        "cause": "policy.update",
        "scope": "site",
        "paths": ["/", "/editorial-policy"],
        "prefixes": ["/articles/"],
        "policy_version": ev.version,
        "actor": {"id": changed_by.id, "name": changed_by.name} if changed_by else None,
    }
    rows: list[dict[str, Any]] = []
    for hook in hooks:
        mid = str(uuid.uuid4())
        rows.append({
            "channel": "webhook",
            "kind": PAGE_CHANGED,
            "recipient": hook.url,
            "webhook_id": hook.id,
            "message_id": mid,
            "payload": {"id": mid, "type": PAGE_CHANGED, "created_at": isoformat(now),
                        "data": data},
        })
    enqueue_many(session, rows, now=now)


def _email_insert() -> Any:
    """One INSERT ... SELECT that queues the author's e-mail unless they turned the kind
    off. Built once; the message id is the change's prefix plus the user id, stable for
    the receiver to drop duplicates by. The greeting name is read at delivery.

    The reviewers are told through one audience row instead (``board_mail.py``): who
    they are is decided at delivery, and many requests make one digest.
    """
    kind = bindparam("kind", type_=String())
    now = bindparam("now", type_=UTCDateTime())
    wanted = User.active.is_(True) & ~exists().where(
        EmailOptOut.user_id == User.id, EmailOptOut.kind == kind
    )
    columns = select(
        bindparam("prefix", type_=String()) + cast(User.id, String()),
        literal("email", String()),
        kind,
        User.email,
        User.id,
        bindparam("article_id", type_=Integer()),
        bindparam("payload", type_=JSON()),
        literal("pending", String()),
        literal(0, Integer()),
        now,
        now,
    )
    recipients = columns.where(User.id == bindparam("author_id"), wanted)
    return insert(table_of(OutboxMessage)).from_select(
        [
            "message_id",
            "channel",
            "kind",
            "recipient",
            "user_id",
            "article_id",
            "payload",
            "status",
            "attempts",
            "available_at",
            "created_at",
        ],
        recipients,
    )


_TO_AUTHOR = _email_insert()


def _queue_emails(
    session: Session,
    kind: str,
    to: str,
    article: ArticleAsOf,
    actor: AnyActor,
    comment: str | None,
    now: datetime,
    action: str | None = None,
) -> None:
    if to == "reviewers":
        board_mail.queue_request(session, article=article, actor=actor,
                                 action=action or "submit", comment=comment, now=now)
        return
    if article.author_id == actor.id:
        return  # nobody is told of their own action
    payload = {
        "kind": kind,
        "actor": actor.signed_name,
        "article": article.summary(session),
        "comment": comment,
    }
    session.execute(
        _TO_AUTHOR,
        {
            "prefix": uuid.uuid4().hex[:24] + "-",
            "kind": kind,
            "article_id": article.id,
            "author_id": article.author_id,
            "payload": payload,
            "now": now,
        },
    )


def article_created(session: Session, ev: ArticleCreated) -> None:
    rows = _webhooks(
        session, "article.create", ev.article, ev.actor, ev.at, {}, ev.webhook_generation
    )
    enqueue_many(session, rows, now=ev.at)


def article_edited(session: Session, ev: ArticleEdited) -> None:
    article, now = ev.article, ev.at
    rows = _webhooks(
        session,
        "article.edit",
        article,
        ev.actor,
        now,
        {"revision": ev.revision_number},
        ev.webhook_generation,
    )
    # Readers see the new text only where no approved text stands in front of it (a
    # pending article shown publicly); an approved page keeps its approved text.
    if article.approved_revision_id is None and article.state in _PENDING_STATES:
        rows += _page_changed(session, article, ev.actor, now, "article.edit",
                              ev.webhook_generation)
    enqueue_many(session, rows, now=now)
    # Someone other than the author (an editor) revised approved text, so the article went
    # back to draft: the author hears of it rather than find a draft they did not write.
    # Once per such revision; nobody is told of their own edit (``_queue_emails``).
    if ev.from_state == "approved":
        _queue_emails(session, "revised_by_editor", "author", article, ev.actor, None, now)


def action_mail(session: Session, ev: ActionTaken) -> None:
    """The e-mails of one workflow action, queued before its audit event (``ActionTaken``):
    one statement when the action sends mail (the author's: an INSERT ... SELECT; the
    board's: a single-row INSERT, expanded at delivery)."""
    action = ev.action
    rule = EMAIL_ON_ACTION.get(action)
    # Approvals short of the quorum tell nobody: the author hears once, when approved.
    if rule is not None and not (action == "approve" and ev.to_state != "approved"):
        kind, to = rule
        _queue_emails(session, kind, to, ev.article, ev.actor, ev.comment, ev.at, action)


def action_webhooks(session: Session, audited: ActionAudited) -> None:
    """Webhooks for one workflow action, with its audit event's seq.

    Costs one INSERT for the webhook rows when an endpoint wants the event; the endpoints
    come from a per-process cache that the action's own load query validates.
    """
    ev = audited.taken
    article, action, actor = ev.article, ev.action, ev.actor
    now = audited.at
    rows = _webhooks(
        session,
        f"article.{action}",
        article,
        actor,
        now,
        {
            "action": action,
            "from_state": ev.from_state,
            "to_state": ev.to_state,
            "comment": ev.comment,
            "audit_seq": audited.audit_seq,
            **(
                {"approvals": ev.approvals, "required_approvals": ev.required_approvals}
                if action == "approve"
                else {}
            ),
        },
        ev.webhook_generation,
    )
    # Every action moves the article's state (its stepper, its text, a retraction notice),
    # except an approval short of the quorum, which readers do not see.
    if ev.from_state != ev.to_state:
        rows += _page_changed(
            session, article, actor, now, f"article.{action}", ev.webhook_generation
        )
    enqueue_many(session, rows, now=now)
