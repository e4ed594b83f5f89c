"""Failed signature attempts, for throttling the signature step per person.

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
