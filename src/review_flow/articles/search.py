"""Title search over public articles: what a reader typed, turned into an indexed match.

The reader's text is never handed to the database's query language (FTS5 and tsquery
both have a syntax a stray quote or bracket breaks): it is cut into words of letters and
digits, and each word becomes a prefix term, all of them required. So "heart fail"
finds "Heart failure: what to expect", and no input can make the query fail.

SQLite searches the FTS5 table ``article_titles`` (one row per article with public
approved text, kept by triggers); PostgreSQL the GIN index over the stored
``revisions.title_search`` (``to_tsvector('simple', title)``, migration 0013). Both use
the ``simple`` configuration: no stemming, no stop words, so a title is found by any
word in it; case does not count, accents do (on both: PostgreSQL's built-in search does
not fold them).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from review_flow.articles.models import Article, Revision
from review_flow.errors import ValidationFailed

MAX_QUERY = 200
MAX_TERMS = 8
# Words shorter than this are whole words, not prefixes: "a*" matches nearly every title.
MIN_PREFIX = 3
# A search page first tests the titles of this many articles in the list's order; when
# they hold fewer matches than a page, the matches are read through the search index.
WALK_FIRST = 1000
_WORD = re.compile(r"[^\W_]+")

_TITLES = table("article_titles", column("rowid"))
_SIMPLE: Any = literal_column("'simple'::regconfig")


def terms(text: str) -> list[str]:
    """The words to look for, lower-cased; a clear error for text that has none or is
    too long. Control characters (NUL included) separate words like any other symbol."""
    if len(text) > MAX_QUERY:
        raise ValidationFailed(
            f"Search: at most {MAX_QUERY} characters, please (this was {len(text)}).",
            code="search_too_long", fields={"q": "too long"},
        )
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        raise ValidationFailed(
            "Search: type at least one word of letters or digits.",
            code="search_without_words", fields={"q": "no words"},
        )
    if len(words) > MAX_TERMS:
        raise ValidationFailed(
            f"Search: at most {MAX_TERMS} words, please (this was {len(words)}).",
            code="search_too_many_words", fields={"q": "too many words"},
        )
    return words


def title_matches(dialect: str, words: list[str], article_id: Any, title: Any
                  ) -> ColumnElement[bool]:
    """A condition on the listed article (``article_id``) and its shown ``title`` column
    that holds when the title has a word starting with each of ``words`` (short words:
    that word)."""
    if dialect == "sqlite":
        return article_id.in_(_fts_rows(words))  # type: ignore[no-any-return]
    return _tsvector(title).op("@@")(_tsquery(words))  # type: ignore[no-any-return]


def _fts_rows(words: list[str]) -> Any:
    # Each word quoted, as a string: the words hold no quote (see terms()).
    query = " ".join(f'"{w}"' + ("*" if len(w) >= MIN_PREFIX else "") for w in words)
    return select(_TITLES.c.rowid).where(
        literal_column("article_titles").op("MATCH")(bindparam("search", query)))


def _tsvector(title: Any) -> Any:
    """PostgreSQL's stored ``revisions.title_search`` (migration 0013) for the title
    column of revisions or that column itself, else the same expression computed."""
    if title is Revision.title:
        return literal_column("revisions.title_search")
    if getattr(title, "name", None) == "title_search":
        return title
    return func.to_tsvector(_SIMPLE, title)


def _tsquery(words: list[str]) -> Any:
    query = " & ".join(w + (":*" if len(w) >= MIN_PREFIX else "") for w in words)
    return func.to_tsquery(_SIMPLE, bindparam("search", query))


def matching_ids(session: Session, words: list[str]) -> list[int]:
    """Ids of every listed article whose title matches, read through the search index:
    for a search whose matches are too few to meet by walking the list in order."""
    if session.get_bind().dialect.name == "sqlite":
        return list(session.scalars(_fts_rows(words)))
    # Every revision with a matching title (drafts too), then the listed articles showing one.
    revisions = list(session.scalars(
        select(Revision.id).where(_tsvector(Revision.title).op("@@")(_tsquery(words)))))
    if not revisions:
        return []
    return list(session.scalars(
        select(Article.id).where(
            Article.approved_revision_id == any_(bindparam("revisions", revisions,
                                                           type_=ARRAY(Integer))),
            Article.published_at.is_not(None))))
