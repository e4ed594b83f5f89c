"""Server-side sign-in sessions (revocable), and failed signature attempts per person.

``user_sessions`` holds one row per signed-in browser, keyed by the SHA-256 of the random
token its cookies carry; ``signature_failures`` one row per wrong password at the
signature step (the throttle). Existing login cookies name no row, so everyone signs in
once more after this upgrade.

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("password_tag", sa.String(16), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("client_addr", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "signature_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_signature_failures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_failures")),
    )
    op.create_index("ix_signature_failures_user_at", "signature_failures", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_signature_failures_user_at", table_name="signature_failures")
    op.drop_table("signature_failures")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
