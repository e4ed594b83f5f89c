"""Approved articles by review date: ``review-flow sweep`` finds the due ones and the
editors' "Review due" view lists them, both in due-date order, by one index
(state, review_due, id) rather than a walk over every approved article.

Revision ID: 0023
Revises: 0020
Create Date: 2026-11-30 17:00:00
"""

from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_state_review_due", "articles", ["state", "review_due", "id"])


def downgrade() -> None:
    op.drop_index("ix_articles_state_review_due", table_name="articles")
