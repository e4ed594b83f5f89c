"""A rolled webhook secret keeps signing for a grace period.

After an admin gives an endpoint a new secret, deliveries carry two signatures (new and
previous) until ``previous_secret_until``, so the receiver can switch at its own pace
without refusing a single delivery.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("previous_secret_sealed", sa.Text(), nullable=True))
    op.add_column("webhooks", sa.Column("previous_secret_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhooks", "previous_secret_until")
    op.drop_column("webhooks", "previous_secret_sealed")
