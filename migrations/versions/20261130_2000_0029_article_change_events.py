"""An index of the events that change an article: the "As of" page's replay.

``audit/as_of.py`` rebuilds an article's public page at an instant by replaying the
article's events that moved it (``to_state`` set: created, edited, each workflow action)
up to that instant. Read through ``ix_audit_events_article_seq``, every other event of
the article (comments, assignments, reference checks, checklist answers, threads) is
fetched from the table only to be dropped: 3,000 comments on one article cost 1,359
buffer reads and 145 ms on PostgreSQL, cold, for the 302 events the replay needs. This
partial index holds only the changes, so the replay reads those and nothing else.

Revision ID: 0029
Revises: 0023
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None

NAME = "ix_audit_events_article_changes"
WHERE = sa.text("to_state IS NOT NULL")


def upgrade() -> None:
    op.create_index(NAME, "audit_events", ["article_id", "seq"],
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index(NAME, table_name="audit_events")
