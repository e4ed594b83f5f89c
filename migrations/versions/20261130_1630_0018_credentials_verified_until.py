"""Verified credentials: the last day an admin's check of a board member's credentials
holds (DESIGN.md, "Credentials"). Nullable: nobody has been verified yet.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("credentials_verified_until", sa.Date(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (a batch copy of users would trip the foreign
    # keys that point at it).
    op.drop_column("users", "credentials_verified_until")
