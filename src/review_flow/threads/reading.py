"""Threads as the review page and the API show them: where each sits on the current
revision (or that it is outdated), its messages and its resolve/reopen history.

Three queries whatever the number of threads: the threads (with opener and the
revision they were opened on), their messages, their state changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from review_flow.articles.models import Revision
from review_flow.articles.paragraphs import paragraphs
from review_flow.threads.anchoring import Location, locate
from review_flow.threads.blocking import where_said
from review_flow.threads.models import CommentThread, ThreadMessage, ThreadStateChange
from review_flow.timeutil import isoformat
from review_flow.users.models import User


@dataclass
class MessageView:
    id: int
    author_id: int
    author_name: str
    author_credentials: str | None
    body: str
    revision: int
    created_at: datetime


@dataclass
class ChangeView:
    change: str
    actor_name: str
    revision: int
    at: datetime


@dataclass
class ThreadView:
    id: int
    article_id: int
    state: str
    blocking: bool
    opened_by_id: int
    opened_by_name: str
    opened_by_credentials: str | None
    opened_at: datetime
    revision: int  # the revision it was opened on
    paragraph: int | None  # the paragraph it was opened on
    quote: str | None
    start: int | None
    end: int | None
    location: Location | None  # where it sits on the current revision; None: outdated
    current_revision: int
    messages: list[MessageView] = field(default_factory=list)
    changes: list[ChangeView] = field(default_factory=list)

    @property
    def outdated(self) -> bool:
        return self.paragraph is not None and self.location is None

    @property
    def where(self) -> str:
        return where_said(self.paragraph, self.revision,
                          self.location.paragraph if self.location else None,
                          self.current_revision)

    def as_dict(self) -> dict[str, Any]:
        loc = self.location
        return {
            "id": self.id,
            "article_id": self.article_id,
            "state": self.state,
            "blocking": self.blocking,
            "opened_by": {"id": self.opened_by_id, "name": self.opened_by_name},
            "opened_at": isoformat(self.opened_at),
            "anchor": {"revision": self.revision, "paragraph": self.paragraph,
                       "quote": self.quote, "start": self.start, "end": self.end},
            "current": None if loc is None else {
                "revision": self.current_revision, "paragraph": loc.paragraph,
                "start": loc.start, "end": loc.end, "exact": loc.exact},
            "outdated": self.outdated,
            "messages": [{"id": m.id, "author": {"id": m.author_id, "name": m.author_name},
                          "body": m.body, "revision": m.revision,
                          "created_at": isoformat(m.created_at)} for m in self.messages],
            "history": [{"change": c.change, "by": c.actor_name, "revision": c.revision,
                         "at": isoformat(c.at)} for c in self.changes],
        }


def threads_for(session: Session, article_id: int, current: Revision, *,
                after: int | None = None, limit: int | None = None,
                thread_id: int | None = None) -> list[ThreadView]:
    """The article's threads in opening order (``after``/``limit``: a keyset page)."""
    stmt = (
        select(CommentThread, Revision.number, User.name, User.credentials)
        .join(Revision, Revision.id == CommentThread.revision_id)
        .join(User, User.id == CommentThread.opened_by_id)
        .where(CommentThread.article_id == article_id)
        .order_by(CommentThread.id)
    )
    if after is not None:
        stmt = stmt.where(CommentThread.id > after)
    if thread_id is not None:
        stmt = stmt.where(CommentThread.id == thread_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    paras = paragraphs(current.body)
    views: dict[int, ThreadView] = {}
    for t, number, name, credentials in rows:
        views[t.id] = ThreadView(
            id=t.id, article_id=t.article_id, state=t.state, blocking=t.blocking,
            opened_by_id=t.opened_by_id, opened_by_name=name, opened_by_credentials=credentials,
            opened_at=t.opened_at, revision=number, paragraph=t.paragraph, quote=t.quote,
            start=t.start_offset, end=t.end_offset,
            location=locate(t.quote, t.paragraph, t.revision_id == current.id, paras),
            current_revision=current.number)
    ids = list(views)
    said_on = aliased(Revision)
    for m, number, name, credentials in session.execute(
        select(ThreadMessage, said_on.number, User.name, User.credentials)
        .join(said_on, said_on.id == ThreadMessage.revision_id)
        .join(User, User.id == ThreadMessage.author_id)
        .where(ThreadMessage.thread_id.in_(ids))
        .order_by(ThreadMessage.thread_id, ThreadMessage.id)
    ).all():
        views[m.thread_id].messages.append(MessageView(
            m.id, m.author_id, name, credentials, m.body, number, m.created_at))
    for c, number, name in session.execute(
        select(ThreadStateChange, said_on.number, User.name)
        .join(said_on, said_on.id == ThreadStateChange.revision_id)
        .join(User, User.id == ThreadStateChange.actor_id)
        .where(ThreadStateChange.thread_id.in_(ids))
        .order_by(ThreadStateChange.thread_id, ThreadStateChange.id)
    ).all():
        views[c.thread_id].changes.append(ChangeView(c.change, name, number, c.at))
    return list(views.values())
