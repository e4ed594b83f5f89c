"""Threads, their messages and their resolve/reopen history, as records.

A thread is anchored to the revision it was opened on (paragraph number, the quoted
passage, optional character offsets in the paragraph's Markdown). Where it sits on a
later revision is derived from the quote (``anchoring.py``), never stored: revisions
never change, so the answer cannot go stale. ``state`` is the thread's current state;
``ThreadStateChange`` rows are the history that explains it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.models import User

THREAD_STATES = ("open", "resolved")
OPEN_BLOCKING_SQL = "state = 'open' AND blocking"


class CommentThread(Base):
    __tablename__ = "comment_threads"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'resolved')", name="known_state"),
        CheckConstraint(
            "(start_offset IS NULL AND end_offset IS NULL) OR "
            "(start_offset >= 0 AND end_offset > start_offset)",
            name="offsets_in_order",
        ),
        # An article's threads, a page at a time in opening order.
        Index("ix_comment_threads_article_id_id", "article_id", "id"),
        # The approve guard asks for the open blocking threads of one article.
        Index("ix_comment_threads_open_blocking", "article_id", "id",
              sqlite_where=text(OPEN_BLOCKING_SQL), postgresql_where=text(OPEN_BLOCKING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    # 1-based paragraph (top-level block) of the revision; None: about the whole article.
    paragraph: Mapped[int | None] = mapped_column(Integer)
    quote: Mapped[str | None] = mapped_column(Text)
    start_offset: Mapped[int | None] = mapped_column(Integer)
    end_offset: Mapped[int | None] = mapped_column(Integer)
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    opened_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ThreadMessage(Base):
    """One message of a thread: the opening comment is message one, then the replies."""

    __tablename__ = "thread_messages"
    __table_args__ = (Index("ix_thread_messages_thread_id_id", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("comment_threads.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The article's current revision when the message was written.
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ThreadStateChange(Base):
    """A thread resolved or reopened: who, when, on which revision."""

    __tablename__ = "thread_state_changes"
    __table_args__ = (
        CheckConstraint("change IN ('resolve', 'reopen')", name="known_change"),
        Index("ix_thread_state_changes_thread_id_id", "thread_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("comment_threads.id"))
    change: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User] = relationship(lazy="joined", innerjoin=True)
