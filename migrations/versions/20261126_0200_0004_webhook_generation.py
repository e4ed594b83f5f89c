"""Webhooks remember the audit event that last changed them.

``changed_seq`` lets each process cache the active endpoints and check the cache with
one scalar in a query it runs anyway (``max(changed_seq)`` moves whenever an endpoint
is registered or changed), instead of looking endpoints up on every change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column(
                "changed_seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
    # Endpoints registered before this revision: the last audit event about each.
    op.execute(
        """UPDATE webhooks SET changed_seq = COALESCE((
             SELECT MAX(seq) FROM audit_events
             WHERE object_type = 'webhook' AND object_id = CAST(webhooks.id AS VARCHAR(20))
           ), 0)"""
    )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("changed_seq")
