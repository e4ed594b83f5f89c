"""Indexes for the audit explorer's filters (``audit/query.py``).

The explorer lists events newest first by (time, sequence) and pages by that position
(keyset), filtered by article, actor, action or state and a time range, alone or
combined. Each filter gets an index that leads with its column and then holds the
explorer's order, so a page under any one filter, and any time range within it, is one
range of one index however deep the page: (article_id, at, seq), (actor_id, at, seq),
(action, at, seq), and for "state" (an event that left or entered the state) one index
each on from_state and to_state, read as two ranges and merged. The existing
(column, seq) indexes stay: the API and the chain walks page by sequence.

Revision ID: 0024
Revises: 0022
Create Date: 2026-11-30 17:00:00
"""

from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_events_article_at_seq": ["article_id", "at", "seq"],
    "ix_audit_events_actor_at_seq": ["actor_id", "at", "seq"],
    "ix_audit_events_action_at_seq": ["action", "at", "seq"],
    "ix_audit_events_from_state_at_seq": ["from_state", "at", "seq"],
    "ix_audit_events_to_state_at_seq": ["to_state", "at", "seq"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_events", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_events")
