"""Invitations: a one-time link an admin sends a new person so they choose their own
password. Only the SHA-256 of the link's token is stored; a row is used once, expires,
and is revoked when a newer invitation replaces it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 17:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_user_invitations_user_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_user_invitations_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_invitations_token_hash")),
    )
    # A person's invitations newest first (the open one, on their page).
    op.create_index("ix_user_invitations_user_id_id", "user_invitations", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_invitations_user_id_id", table_name="user_invitations")
    op.drop_table("user_invitations")
