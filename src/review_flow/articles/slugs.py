"""Slugs: a readable address from the title, unique without a table scan."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from review_flow.articles.models import Article
from review_flow.errors import Conflict


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text[:80].rstrip("-") or "article"


def _free_slug(session: Session, base: str) -> str:
    """``base``, or the first ``base-N`` not taken."""
    # base, or base-<anything>: a range on the slug index ("." sorts right after "-"), where
    # LIKE would scan the table on SQLite (case-insensitive) and on PostgreSQL (collation).
    taken = set(session.scalars(_SLUGS_LIKE, {"base": base, "lo": f"{base}-", "hi": f"{base}."}))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


_SLUGS_LIKE = select(Article.slug).where(
    or_(
        Article.slug == bindparam("base"),
        (Article.slug > bindparam("lo")) & (Article.slug < bindparam("hi")),
    )
)
_INSERT_ARTICLE = {
    dialect: insert(Article).on_conflict_do_nothing(index_elements=["slug"]).returning(Article)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def insert_with_unique_slug(session: Session, title: str, **values: Any) -> Article:
    """INSERT the article under a free slug.

    Titles are mostly new, so the plain slug is tried first and the taken ones are looked
    up only when it collides. Writers choose slugs one at a time, since the caller holds
    the audit chain's head lock (``writes._CREATE_PREAMBLE``). ``ON CONFLICT DO NOTHING`` turns
    a collision into a retry instead of a failed transaction.
    """
    stmt = _INSERT_ARTICLE[session.get_bind().dialect.name]
    base = slugify(title)
    slug = base
    for _ in range(3):
        article = session.scalars(stmt.values(slug=slug, **values)).one_or_none()
        if article is not None:
            return article
        slug = _free_slug(session, base)
    raise Conflict(f"Could not find a free slug for {title!r}; try again.", code="slug_taken")
