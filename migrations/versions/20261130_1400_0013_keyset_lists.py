"""Lists that do not grow with the data: keyset indexes, the home page, title search.

Every list is read a page at a time by its sort key ("keyset"), so each list needs an
index that walks its rows in that order, filters included:

- the home page: articles whose approved text is public, newest approval first, from
  the new ``articles.published_at`` (the time the shown approved revision was approved;
  NULL while nothing approved is public, or after a retraction) and a partial index;
- "My articles": (author_id, updated_at, id);
- the review queue: (submitted_at, id) over waiting articles only (partial index);
- ``GET /api/v1/articles``: (state, id) and (author_id, state, id); (author_id, id) for
  an author's unfiltered list (PostgreSQL's author index is not in id order);
- title search on the home page: an FTS5 table on SQLite, kept by triggers on
  ``articles``; on PostgreSQL a stored generated column ``revisions.title_search``
  (``to_tsvector('simple', title)``) with a GIN index (built in, no extension to install).

Revision ID: 0013
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

# "|| ''": an expression no other index serves, so SQLite (which matches a partial
# index's condition by its text) takes this index for the queue instead of reading both
# states by the state index and sorting them (read_models._queue_statements).
WAITING = "(state || '') IN ('submitted', 'under_review')"

# What the home page lists and searches: one row per article whose approved text is public.
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE article_titles USING fts5("
    "title, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER article_titles_insert AFTER INSERT ON articles "
    "WHEN new.published_at IS NOT NULL BEGIN "
    "INSERT INTO article_titles(rowid, title) "
    "SELECT new.id, title FROM revisions WHERE id = new.approved_revision_id; END",
    "CREATE TRIGGER article_titles_update "
    "AFTER UPDATE OF published_at, approved_revision_id ON articles BEGIN "
    "DELETE FROM article_titles WHERE rowid = old.id; "
    "INSERT INTO article_titles(rowid, title) "
    "SELECT new.id, title FROM revisions "
    "WHERE id = new.approved_revision_id AND new.published_at IS NOT NULL; END",
    "CREATE TRIGGER article_titles_delete AFTER DELETE ON articles BEGIN "
    "DELETE FROM article_titles WHERE rowid = old.id; END",
    "INSERT INTO article_titles(rowid, title) "
    "SELECT a.id, r.title FROM articles a JOIN revisions r ON r.id = a.approved_revision_id "
    "WHERE a.published_at IS NOT NULL",
]


def upgrade() -> None:
    op.add_column("articles", sa.Column("published_at", UTCDateTime(), nullable=True))
    # Approved text that is public today: its last approval's time, unless a retraction
    # came after it (what the public page shows, read_models.public_article).
    op.execute(
        "UPDATE articles SET published_at = (SELECT max(d.signed_at) FROM decisions d "
        "WHERE d.revision_id = articles.approved_revision_id AND d.kind = 'approve') "
        "WHERE approved_revision_id IS NOT NULL"
    )
    op.execute(
        "UPDATE articles SET published_at = NULL WHERE published_at IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM comments c WHERE c.article_id = articles.id AND c.kind = 'retract' "
        "AND c.created_at > articles.published_at)"
    )
    op.create_index(
        "ix_articles_published", "articles", ["published_at", "id"],
        sqlite_where=sa.text("published_at IS NOT NULL"),
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("ix_articles_author_updated", "articles", ["author_id", "updated_at", "id"])
    op.create_index("ix_articles_author_state_id", "articles", ["author_id", "state", "id"])
    op.create_index("ix_articles_author_id_id", "articles", ["author_id", "id"])
    op.create_index("ix_articles_state_id", "articles", ["state", "id"])
    op.create_index(
        "ix_articles_waiting", "articles", ["submitted_at", "id"],
        sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING),
    )
    op.create_index("ix_articles_approved_revision_id", "articles", ["approved_revision_id"])
    if op.get_context().dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    else:
        # Stored, not an index over the expression: a search page that walks the list in
        # order tests each title, and computing to_tsvector per row cost 10 µs.
        op.execute(
            "ALTER TABLE revisions ADD COLUMN title_search tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, title)) STORED"
        )
        op.execute("CREATE INDEX ix_revisions_title_search ON revisions USING gin (title_search)")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in ("article_titles_insert", "article_titles_update", "article_titles_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS article_titles")
    else:
        op.execute("DROP INDEX IF EXISTS ix_revisions_title_search")
        op.execute("ALTER TABLE revisions DROP COLUMN IF EXISTS title_search")
    for name in ("ix_articles_approved_revision_id", "ix_articles_waiting", "ix_articles_state_id",
                 "ix_articles_author_id_id", "ix_articles_author_state_id",
                 "ix_articles_author_updated", "ix_articles_published"):
        op.drop_index(name, table_name="articles")
    # SQLite 3.35+ drops a column in place (a batch copy of articles would trip the
    # foreign keys that point at it).
    op.drop_column("articles", "published_at")
