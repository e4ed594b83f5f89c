"""Title search over public articles: what a reader typed, turned into an indexed match.

The reader's text is never handed to the database's query language (FTS5 and tsquery
both have a syntax a stray quote or bracket breaks): it is cut into words of letters and
digits, and each word becomes a prefix term, all of them required. So "heart fail"
finds "Heart failure: what to expect", and no input can make the query fail.

SQLite searches the FTS5 table ``article_titles`` (one row per article with public
approved text, kept by triggers); PostgreSQL the GIN index over
``to_tsvector('simple', title)`` of revisions (migration 0013). Both use the ``simple``
configuration: no stemming, no stop words, so a title is found by any word in it; case
does not count, accents do (on both: PostgreSQL's built-in search does not fold them).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, bindparam, column, func, literal_column, select, table

from review_flow.errors import ValidationFailed

MAX_QUERY = 200
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")

_TITLES = table("article_titles", column("rowid"))
_SIMPLE = literal_column("'simple'::regconfig")


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
    that holds when the title has a word starting with each of ``words``."""
    if dialect == "sqlite":
        query = " ".join(f'"{w}"*' for w in words)  # words hold no quote: see terms()
        matching = select(_TITLES.c.rowid).where(
            literal_column("article_titles").op("MATCH")(bindparam("search", query))
        )
        return article_id.in_(matching)  # type: ignore[no-any-return]
    query = " & ".join(f"{w}:*" for w in words)
    return func.to_tsvector(_SIMPLE, title).op("@@")(  # type: ignore[no-any-return]
        func.to_tsquery(_SIMPLE, bindparam("search", query))
    )
