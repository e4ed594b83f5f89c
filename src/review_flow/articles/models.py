"""Articles and their immutable revisions.

An article's ``state`` is assigned only by the workflow engine: the validator below
refuses any other assignment, so a stray ``article.state = "approved"`` fails loudly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow
from review_flow.users.models import User
from review_flow.workflow import guard as state_guard
from review_flow.workflow.definition import INITIAL_STATE

# The review queue's states, in the partial index that serves it; written as an
# expression no other index serves (see migration 0013).
WAITING_SQL = "(state || '') IN ('submitted', 'under_review')"


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_state_updated", "state", "updated_at"),
        # One index per list, walked in the list's order (migration 0013).
        Index("ix_articles_published", "published_at", "id",
              sqlite_where=text("published_at IS NOT NULL"),
              postgresql_where=text("published_at IS NOT NULL")),
        Index("ix_articles_author_updated", "author_id", "updated_at", "id"),
        Index("ix_articles_author_state_id", "author_id", "state", "id"),
        Index("ix_articles_author_id_id", "author_id", "id"),
        Index("ix_articles_state_id", "state", "id"),
        Index("ix_articles_waiting", "submitted_at", "id",
              sqlite_where=text(WAITING_SQL), postgresql_where=text(WAITING_SQL)),
        Index("ix_articles_approved_revision_id", "approved_revision_id"),
        # Approved articles by review date: the sweep's due list and the "Review due"
        # view walk it in order (migration 0023).
        Index("ix_articles_state_review_due", "state", "review_due", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(32), default=INITIAL_STATE)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True)
    )
    approved_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True)
    )
    review_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the approved text readers see was approved; None while no approved text is
    # public (never approved, or retracted since). The home page lists by it.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    current_revision: Mapped[Revision | None] = relationship(foreign_keys=[current_revision_id])
    approved_revision: Mapped[Revision | None] = relationship(foreign_keys=[approved_revision_id])

    # Optimistic locking: every UPDATE says "WHERE version = <what we read>"; the workflow
    # bumps the number itself, once per action or edit.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @validates("state")
    def _only_the_workflow(self, _key: str, value: str) -> str:
        state_guard.check_assignment(value)
        return value

    def __repr__(self) -> str:
        return f"<Article {self.id} {self.slug!r} {self.state} v{self.version}>"


class Revision(Base):
    """One saved text of an article. Never updated: the database refuses it."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("article_id", "number", name="uq_revisions_article_number"),
        # "Did this user write any revision of this article?" is asked on every action
        # (separation of duties) and when choosing reviewers to notify: one index probe,
        # where the author index alone walks all of a prolific author's revisions.
        Index("ix_revisions_article_author", "article_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # The text for healthcare professionals; None when the revision has one text, for
    # everyone (then it is left out of the content hash, see articles/content_hash.py).
    professional_body: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(71), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    generator: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()

    def summary(self) -> dict[str, Any]:
        return {"number": self.number, "content_hash": self.content_hash}


class Comment(Base):
    """A reviewer's or author's remark; change requests and rejections carry one too."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32), default="comment")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
    revision: Mapped[Revision | None] = relationship()
