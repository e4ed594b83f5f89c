"""Indexes for two lookups that walked more rows than they return.

"Did this user write any revision of this article?": every action asks it (separation
of duties), and so does choosing the reviewers to notify. With only the author index,
it walked all of an author's revisions: a writing pipeline with thousands of drafts
under one account made each action slower. And an endpoint's deliveries, newest first
a page at a time (the admin page), by (webhook_id, id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 02:30:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_revisions_article_author", "revisions", ["article_id", "author_id"])
    op.create_index(
        "ix_outbox_messages_webhook_id_id", "outbox_messages", ["webhook_id", "id"]
    )
    # Its first column serves every lookup the single-column index did.
    op.drop_index("ix_outbox_messages_webhook_id", table_name="outbox_messages")


def downgrade() -> None:
    op.create_index("ix_outbox_messages_webhook_id", "outbox_messages", ["webhook_id"])
    op.drop_index("ix_outbox_messages_webhook_id_id", table_name="outbox_messages")
    op.drop_index("ix_revisions_article_author", table_name="revisions")
