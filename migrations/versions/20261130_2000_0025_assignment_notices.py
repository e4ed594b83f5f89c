"""The sweep's records: each reminder and escalation about a review assignment is a row
(unique per assignment and kind, so no sweep, nor two at once, sends one twice); an
invitation link the sweep found lapsed records when (``expired_at``). Partial indexes let
the sweep walk only the rows that can fall due: invitations still waiting for an answer
(by answer date and by invitation date) and links still open (by expiry).

Revision ID: 0025
Revises: 0023
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None

NOTICE_KINDS = ("response_reminder", "response_overdue", "review_reminder", "review_overdue",
                "escalation", "lapsed")
INVITED = "state = 'invited'"
OPEN_LINK = "used_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "assignment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in NOTICE_KINDS) + ")",
                           name=op.f("ck_assignment_notices_known_kind")),
        sa.ForeignKeyConstraint(["assignment_id"], ["review_assignments.id"],
                                name=op.f("fk_assignment_notices_assignment_id_review_assignments")),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_assignment_notices_article_id_articles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_notices")),
    )
    op.create_index("uq_assignment_notices_assignment_kind", "assignment_notices",
                    ["assignment_id", "kind"], unique=True)
    op.create_index("ix_assignment_notices_article_id", "assignment_notices", ["article_id"])
    op.create_index("ix_review_assignments_invited_response_due", "review_assignments",
                    ["response_due", "id"], sqlite_where=sa.text(INVITED),
                    postgresql_where=sa.text(INVITED))
    op.create_index("ix_review_assignments_invited_created", "review_assignments",
                    ["created_at", "id"], sqlite_where=sa.text(INVITED),
                    postgresql_where=sa.text(INVITED))
    op.add_column("user_invitations", sa.Column("expired_at", UTCDateTime(), nullable=True))
    op.create_index("ix_user_invitations_open_expires", "user_invitations",
                    ["expires_at", "id"], sqlite_where=sa.text(OPEN_LINK),
                    postgresql_where=sa.text(OPEN_LINK))


def downgrade() -> None:
    op.drop_index("ix_user_invitations_open_expires", table_name="user_invitations")
    op.drop_column("user_invitations", "expired_at")
    op.drop_index("ix_review_assignments_invited_created", table_name="review_assignments")
    op.drop_index("ix_review_assignments_invited_response_due", table_name="review_assignments")
    op.drop_index("ix_assignment_notices_article_id", table_name="assignment_notices")
    op.drop_index("uq_assignment_notices_assignment_kind", table_name="assignment_notices")
    op.drop_table("assignment_notices")
