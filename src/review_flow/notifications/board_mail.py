"""The board's "review requested" e-mail: one outbox row per change, split per reviewer
at delivery, as a digest when several articles wait for the same reviewer.

Why: the nightly sweep can send thousands of approved articles back into review in one
night. One row per reviewer per article, written in each change's transaction, made the
outbox most of the sweep's cost and sent every reviewer one e-mail per article. Now a
change writes a single audience row (so the change, its audit event and its notice still
commit together), and the deliverer (``outbox/expand.py``) chooses the recipients when it
sends: an opt-out or a deactivation made in between is respected, and what waits for one
reviewer goes out as one e-mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.models import Article, Revision
from review_flow.domain_events import ArticleAsOf
from review_flow.notifications.kinds import REVIEW_PATH, SETTINGS_PATH
from review_flow.notifications.models import EmailOptOut
from review_flow.outbox.models import TO_EXPAND
from review_flow.outbox.service import enqueue_many
from review_flow.users.models import User, UserRole
from review_flow.users.roles import Role

KIND = "review_requested"
AUDIENCE = "reviewers"
# What admins read in the recipient column of the audience row.
LABEL = "board reviewers (resolved at delivery)"
# Payload keys only the expansion reads; the e-mails do not carry them.
_ROUTING = ("audience", "article_id", "author_id")
# A digest lists this many articles, then "and N more" and the review queue.
DIGEST_LINES = 25
QUEUE_PATH = "/review"
# Message ids of expanded e-mails are derived (uuid5) from the requests and the
# recipient: unique, and the same should a row ever be expanded twice.
_IDS = uuid.UUID("6f1d2c56-31a4-4d0e-9a55-0b3f7e5c2a91")


def queue_request(
    session: Session,
    *,
    article: ArticleAsOf,
    actor: AnyActor,
    action: str,
    comment: str | None,
    now: datetime,
) -> None:
    """The one audience row of a submit or re-review: a single-row INSERT."""
    payload = {
        "kind": KIND,
        "actor": actor.signed_name,
        "article": article.summary(session),
        "comment": comment,
        "action": action,
        "system": actor.is_system,
        "audience": AUDIENCE,
        "article_id": article.id,
        "author_id": article.author_id,
    }
    enqueue_many(session, [{
        "channel": "email", "kind": KIND, "recipient": LABEL, "article_id": article.id,
        "payload": payload,
    }], now=now, status=TO_EXPAND)


def _chunks(ids: Sequence[int], n: int = 900) -> Iterable[Sequence[int]]:
    return (ids[i:i + n] for i in range(0, len(ids), n))


def _eligible_reviewers(session: Session) -> list[tuple[int, str]]:
    """Active reviewers who have not turned "review requested" off, as of now."""
    return [(uid, email) for uid, email in session.execute(
        select(User.id, User.email)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == Role.REVIEWER.value,
            User.active.is_(True),
            ~exists().where(EmailOptOut.user_id == User.id, EmailOptOut.kind == KIND),
        )
        .order_by(User.id)
    )]


def _revision_writers(session: Session, article_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(article, user) for everyone who wrote a revision of these articles: they may not
    review them."""
    found: set[tuple[int, int]] = set()
    for part in _chunks(article_ids):
        found.update(session.execute(
            select(Revision.article_id, Revision.author_id)
            .where(Revision.article_id.in_(part))
            .distinct()
        ))
    return found


def _still_waiting(session: Session, article_ids: Sequence[int]) -> set[int]:
    """Those of these articles still waiting for a reviewer to start (``submitted``): one
    taken up, withdrawn or decided before the delivery is not announced, as the e-mail
    would say it waits when it does not."""
    found: set[int] = set()
    for part in _chunks(article_ids):
        found.update(session.scalars(
            select(Article.id).where(Article.id.in_(part), Article.state == "submitted")))
    return found


def _line(p: dict[str, Any]) -> dict[str, Any]:
    a = p["article"]
    return {"id": a["id"], "slug": a["slug"], "title": a["title"], "revision": a["revision"],
            "actor": p["actor"], "system": p.get("system", False), "action": p.get("action")}


def expand(
    session: Session, requests: Sequence[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One e-mail row per eligible reviewer for these audience rows ((message id,
    payload), oldest first): today's e-mail when one article is due to them, else a
    digest. Rows as ``outbox.service.enqueue_many`` takes them."""
    latest: dict[int, tuple[str, dict[str, Any]]] = {}
    for mid, p in requests:  # an article asked for twice is listed once, as last asked
        latest.pop(p["article_id"], None)
        latest[p["article_id"]] = (mid, p)
    waiting = _still_waiting(session, sorted(latest))
    latest = {aid: request for aid, request in latest.items() if aid in waiting}
    if not latest:
        return []
    wrote = _revision_writers(session, sorted(latest))
    rows = []
    for uid, email in _eligible_reviewers(session):
        due = [(mid, p) for aid, (mid, p) in latest.items()
               if uid != p["author_id"] and (aid, uid) not in wrote]
        if not due:
            continue
        mid = str(uuid.uuid5(_IDS, f"{uid}:" + ",".join(m for m, _ in due)))
        if len(due) == 1:
            p = due[0][1]
            payload = {k: v for k, v in p.items() if k not in _ROUTING}
            article_id: int | None = p["article_id"]
        else:
            payload = {"kind": KIND, "count": len(due),
                       "digest": [_line(p) for _, p in due[:DIGEST_LINES]],
                       "more": max(0, len(due) - DIGEST_LINES)}
            article_id = None
        rows.append({"channel": "email", "kind": KIND, "recipient": email, "user_id": uid,
                     "article_id": article_id, "message_id": mid, "payload": payload})
    return rows


def requested(line: dict[str, Any]) -> str:
    """Who asked for the review of one article, in a sentence's words."""
    what = f'"{line["title"]}" (revision {line["revision"]})'
    if line.get("system"):
        return f"{what} is due for its periodic re-review"
    if line.get("action") == "request_rereview":
        return f"{line['actor']} asked for a periodic re-review of {what}"
    return f"{line['actor']} submitted {what} for review"


def _url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}" if base_url else ""


def render(payload: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    """(subject, text) of a digest; None for any other payload."""
    if "digest" not in payload:
        return None
    lines = []
    for line in payload["digest"]:
        link = _url(base_url, REVIEW_PATH.format(id=line["id"], slug=line["slug"]))
        lines.append(f"  - {requested(line)}.\n" + (f"    {link}\n" if link else ""))
    more = payload.get("more", 0)
    queue = _url(base_url, QUEUE_PATH)
    settings = _url(base_url, SETTINGS_PATH)
    text = (
        f"Hello {payload.get('to_name') or ''},\n\n"
        f"{payload['count']} articles wait for a member of the Medical Advisory Board to "
        "start the review:\n\n"
        + "".join(lines)
        + (f"  ... and {more} more.\n" if more else "")
        + (f"\nThe review queue lists them all: {queue}\n" if queue else "")
        + "\nYou receive this because of your role in the editorial review. "
        "You can turn this kind of e-mail off in your notification settings"
        + (f": {settings}\n" if settings else ".\n")
    )
    return f"Review requested: {payload['count']} articles", text
