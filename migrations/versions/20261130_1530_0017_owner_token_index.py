"""A person's API tokens in id order: (user_id, id) in place of (user_id).

``GET /api/v1/tokens`` shows anyone but an admin their own tokens a page at a time,
keyset on the id; with only (user_id), PostgreSQL walked every token by the primary key
to find one person's. The new index serves the foreign key's lookups as the old one did.

Revision ID: 0017
Revises: 0013
Create Date: 2026-11-30 15:30:00
"""

from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_api_tokens_user_id_id", "api_tokens", ["user_id", "id"])
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")


def downgrade() -> None:
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.drop_index("ix_api_tokens_user_id_id", table_name="api_tokens")
