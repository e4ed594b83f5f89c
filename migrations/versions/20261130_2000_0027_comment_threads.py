"""Comment threads anchored to a passage of a revision, their messages and their
resolve/reopen history (issue 11, point 3). Plain comments stay as they are.

Revision ID: 0027
Revises: 0023
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None

OPEN_BLOCKING_SQL = "state = 'open' AND blocking"


def upgrade() -> None:
    op.create_table(
        "comment_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("paragraph", sa.Integer(), nullable=True),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("start_offset", sa.Integer(), nullable=True),
        sa.Column("end_offset", sa.Integer(), nullable=True),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("state IN ('open', 'resolved')",
                           name=op.f("ck_comment_threads_known_state")),
        sa.CheckConstraint(
            "(start_offset IS NULL AND end_offset IS NULL) OR "
            "(start_offset >= 0 AND end_offset > start_offset)",
            name=op.f("ck_comment_threads_offsets_in_order"),
        ),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_comment_threads_article_id_articles")),
        sa.ForeignKeyConstraint(["revision_id"], ["revisions.id"],
                                name=op.f("fk_comment_threads_revision_id_revisions")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"],
                                name=op.f("fk_comment_threads_opened_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_threads")),
    )
    op.create_index("ix_comment_threads_article_id_id", "comment_threads", ["article_id", "id"])
    op.create_index("ix_comment_threads_revision_id", "comment_threads", ["revision_id"])
    op.create_index(
        "ix_comment_threads_open_blocking", "comment_threads", ["article_id", "id"],
        sqlite_where=sa.text(OPEN_BLOCKING_SQL), postgresql_where=sa.text(OPEN_BLOCKING_SQL),
    )
    op.create_table(
        "thread_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["comment_threads.id"],
                                name=op.f("fk_thread_messages_thread_id_comment_threads")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_thread_messages_author_id_users")),
        sa.ForeignKeyConstraint(["revision_id"], ["revisions.id"],
                                name=op.f("fk_thread_messages_revision_id_revisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_messages")),
    )
    op.create_index("ix_thread_messages_thread_id_id", "thread_messages", ["thread_id", "id"])
    op.create_index("ix_thread_messages_author_id", "thread_messages", ["author_id"])
    op.create_index("ix_thread_messages_revision_id", "thread_messages", ["revision_id"])
    op.create_table(
        "thread_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("change IN ('resolve', 'reopen')",
                           name=op.f("ck_thread_state_changes_known_change")),
        sa.ForeignKeyConstraint(["thread_id"], ["comment_threads.id"],
                                name=op.f("fk_thread_state_changes_thread_id_comment_threads")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_thread_state_changes_actor_id_users")),
        sa.ForeignKeyConstraint(["revision_id"], ["revisions.id"],
                                name=op.f("fk_thread_state_changes_revision_id_revisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_state_changes")),
    )
    op.create_index("ix_thread_state_changes_thread_id_id", "thread_state_changes",
                    ["thread_id", "id"])
    op.create_index("ix_thread_state_changes_actor_id", "thread_state_changes", ["actor_id"])
    op.create_index("ix_thread_state_changes_revision_id", "thread_state_changes",
                    ["revision_id"])


def downgrade() -> None:
    op.drop_table("thread_state_changes")
    op.drop_table("thread_messages")
    op.drop_table("comment_threads")
