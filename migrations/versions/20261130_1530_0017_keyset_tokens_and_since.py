"""Keyset pages of API tokens and of audit events since a time.

- (user_id, id) in place of (user_id) on ``api_tokens``: ``GET /api/v1/tokens`` shows
  anyone but an admin their own tokens a page at a time, keyset on the id; with only
  (user_id), PostgreSQL walked every token by the primary key to find one person's. The
  new index serves the foreign key's lookups as the old one did.
- (at, seq) in place of (at) on ``audit_events``: ``GET /api/v1/audit?since=`` may pick
  a page's events from the time index's entries alone, without reading the rows
  (``api/audit_routes._since``). SQLite's (at) index held the sequence number already
  (it is the rowid); PostgreSQL's did not.

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
    op.create_index("ix_audit_events_at_seq", "audit_events", ["at", "seq"])
    op.drop_index("ix_audit_events_at", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.drop_index("ix_audit_events_at_seq", table_name="audit_events")
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.drop_index("ix_api_tokens_user_id_id", table_name="api_tokens")
