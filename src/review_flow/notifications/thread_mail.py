"""E-mails about comment threads: opened, answered, resolved or reopened.

Who hears of it: the article's author and everyone who wrote a revision of it, everyone
on the thread (its opener, whoever posted in it or settled it), and the reviewers who
hold an accepted place in the article's current round; never the person who acted, only
active people, and not those who turned ``thread_activity`` off (``kinds.EMAIL_KINDS``).
The rows are written by the dispatcher in the comment's own transaction, so a comment
rolled back e-mails nobody. The greeting name is the one read now; the text is plain,
stripped of control characters and cut to a length an e-mail reader takes in.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import exists, or_, select, union
from sqlalchemy.orm import Session

from review_flow.articles.models import Article, Revision
from review_flow.domain_events import ThreadActivity
from review_flow.notifications.kinds import REVIEW_PATH, SETTINGS_PATH
from review_flow.notifications.mail_queue import Mail, queue_mail
from review_flow.notifications.models import EmailOptOut
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.threads.models import CommentThread, ThreadMessage, ThreadStateChange
from review_flow.threads.participation import CLOSED_BY_ROUND
from review_flow.users.models import User

KIND = "thread_activity"
MAX_TEXT = 1_500
MAX_QUOTE = 300
SUBJECTS = {
    "open": "New comment on: {title}",
    "open_blocking": "New blocking comment on: {title}",
    "reply": "New reply on: {title}",
    "resolve": "Comment resolved on: {title}",
    "reopen": "Comment reopened on: {title}",
}


def plain(text: str | None, limit: int) -> str:
    """``text`` without control or format characters (bidi overrides, NULs, escape
    sequences), line breaks kept, cut at ``limit`` characters with an ellipsis."""
    if not text:
        return ""
    kept = "".join(
        ch
        for ch in text.replace("\r\n", "\n").replace("\r", "\n")
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    kept = "\n".join(line.rstrip() for line in kept.strip().split("\n"))
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def _where(p: dict[str, Any]) -> str:
    t = p["thread"]
    where = f"paragraph {t['paragraph']}" if t["paragraph"] else "the whole article"
    return where


def _indented(text: str, prefix: str = "    ") -> str:
    return "".join(f"{prefix}{line}\n" if line else "\n" for line in text.split("\n"))


def _body(p: dict[str, Any], base_url: str) -> str:
    a, t, actor = p["article"], p["thread"], p["actor"]
    about = f'"{a["title"]}" (revision {a["revision"]}), {_where(p)}'
    change = p["change"]
    if change == "open":
        head = f"{actor} opened a {'blocking ' if t['blocking'] else ''}comment thread on {about}"
    elif change == "reply":
        head = f"{actor} replied to a comment thread on {about}"
    elif change == "resolve":
        head = f"{actor} resolved a comment thread on {about}"
    else:
        head = f"{actor} reopened a comment thread on {about}"
    out = f"Hello {p['to_name']},\n\n{head}.\n"
    if t["quote"] and t["paragraph"]:
        out += "\nThe passage:\n\n" + _indented(t["quote"], "    > ")
    if p.get("text"):
        out += f"\n{actor} wrote:\n\n" + _indented(p["text"])
    if t["blocking"]:
        out += (
            "\nThis comment blocks approval while it is open; it is "
            f"{'open' if t['state'] == 'open' else 'resolved'} now.\n"
        )
    else:
        out += "\nThis comment does not block approval.\n"
    root = base_url.rstrip("/")
    if base_url:
        out += f"\nOpen the review: {root}{REVIEW_PATH.format(id=a['id'])}#thread-{t['id']}\n"
    return out + (
        "\nYou receive this because you take part in this article's review. You can turn "
        "this kind of e-mail off in your notification settings"
        + (f": {root}{SETTINGS_PATH}\n" if base_url else ".\n")
    )


def render(payload: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    """(subject, text) of a thread e-mail; None when the payload is another kind."""
    if payload.get("kind") != KIND:
        return None
    change = payload["change"]
    key = "open_blocking" if change == "open" and payload["thread"]["blocking"] else change
    subject = SUBJECTS[key].format(title=payload["article"]["title"])
    return " ".join(subject.split())[:200], _body(payload, base_url)


def body(payload: dict[str, Any], base_url: str) -> str:
    return _body(payload, base_url)


def _people(ev: ThreadActivity) -> Any:
    """Everyone on the article's review, as one UNION of user ids."""
    latest_round = (
        select(ReviewRound.id)
        .where(ReviewRound.article_id == ev.article_id)
        .order_by(ReviewRound.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    return union(
        select(Article.author_id).where(Article.id == ev.article_id),
        select(Revision.author_id).where(Revision.article_id == ev.article_id),
        select(CommentThread.opened_by_id).where(CommentThread.id == ev.thread_id),
        select(ThreadMessage.author_id).where(ThreadMessage.thread_id == ev.thread_id),
        select(ThreadStateChange.actor_id).where(ThreadStateChange.thread_id == ev.thread_id),
        select(Assignment.reviewer_id).where(
            Assignment.round_id == latest_round,
            or_(
                Assignment.state.in_(("accepted", "completed")),
                (Assignment.state == "cancelled")
                & Assignment.responded_at.is_not(None)
                & Assignment.reason.like(CLOSED_BY_ROUND),
            ),
        ),
    ).subquery()


def recipients(session: Session, ev: ThreadActivity) -> list[tuple[int, str, str]]:
    """(id, e-mail, name) of who hears of ``ev``: one statement."""
    people = _people(ev)
    return [
        (r.id, r.email, r.name)
        for r in session.execute(
            select(User.id, User.email, User.name)
            .where(
                User.id.in_(select(people.c[0])),
                User.id != ev.actor_id,
                User.active.is_(True),
                ~exists().where(EmailOptOut.user_id == User.id, EmailOptOut.kind == KIND),
            )
            .order_by(User.id)
        )
    ]


def queue(session: Session, ev: ThreadActivity) -> None:
    """One e-mail per person told, in the comment's transaction (one INSERT)."""
    to = recipients(session, ev)
    if not to:
        return
    base = {
        "kind": KIND,
        "change": ev.change,
        "actor": ev.actor_name,
        "article": {"id": ev.article_id, "title": ev.title, "revision": ev.revision},
        "thread": {
            "id": ev.thread_id,
            "paragraph": ev.paragraph,
            "quote": plain(ev.quote, MAX_QUOTE),
            "blocking": ev.blocking,
            "state": ev.state,
        },
        "text": plain(ev.text, MAX_TEXT),
    }
    mails = [
        Mail(uid, email, f"thread-{ev.change}-{ev.record_id}-{uid}", {**base, "to_name": name})
        for uid, email, name in to
    ]
    queue_mail(session, kind=KIND, article_id=ev.article_id, at=ev.at, mails=mails)
