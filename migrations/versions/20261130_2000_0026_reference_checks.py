"""What the reviewer checks, as records: ``reference_checks`` (each reference verified
or a problem, per revision and reviewer, named by the reference's own hash so a check
carries over only where the reference did not change) and ``checklist_answers`` (the
policy's checklist answered with each approval). Both append-only, as decisions are.

Revision ID: 0026
Revises: 0023
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0026"
down_revision = "0029"
branch_labels = None
depends_on = None

TABLES = ("reference_checks", "checklist_answers")

# The refusal decisions have (review_flow_append_only() comes with 0001).
PG_APPEND_ONLY = """
CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
  FOR EACH ROW EXECUTE FUNCTION review_flow_append_only();
CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
  FOR EACH STATEMENT EXECUTE FUNCTION review_flow_append_only();
"""

SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
    BEGIN SELECT RAISE(ABORT, '{t} is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
    BEGIN SELECT RAISE(ABORT, '{t} is append-only: DELETE refused'); END""",
]


def upgrade() -> None:
    op.create_table(
        "reference_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("reference_number", sa.Integer(), nullable=False),
        sa.Column("reference_hash", sa.String(71), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('verified', 'problem')",
                           name=op.f("ck_reference_checks_known_status")),
        sa.CheckConstraint("status = 'verified' OR note IS NOT NULL",
                           name=op.f("ck_reference_checks_problem_has_note")),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_reference_checks_article_id_articles")),
        sa.ForeignKeyConstraint(["revision_id"], ["revisions.id"],
                                name=op.f("fk_reference_checks_revision_id_revisions")),
        sa.ForeignKeyConstraint(["round_id"], ["review_rounds.id"],
                                name=op.f("fk_reference_checks_round_id_review_rounds")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"],
                                name=op.f("fk_reference_checks_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_checks")),
    )
    op.create_index("ix_reference_checks_article_hash", "reference_checks",
                    ["article_id", "reference_hash", "id"])
    op.create_index("ix_reference_checks_revision_id", "reference_checks", ["revision_id"])
    op.create_table(
        "checklist_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.CheckConstraint("answer IN ('yes', 'no', 'not_applicable')",
                           name=op.f("ck_checklist_answers_known_answer")),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name=op.f("fk_checklist_answers_decision_id_decisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_answers")),
    )
    op.create_index("uq_checklist_answers_decision_position", "checklist_answers",
                    ["decision_id", "position"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        for t in TABLES:
            for stmt in SQLITE_APPEND_ONLY:
                op.execute(stmt.format(t=t))
    else:
        for t in TABLES:
            op.execute(PG_APPEND_ONLY.format(t=t))


def downgrade() -> None:
    # Dropping a table drops its triggers on both databases.
    op.drop_index("uq_checklist_answers_decision_position", table_name="checklist_answers")
    op.drop_table("checklist_answers")
    op.drop_index("ix_reference_checks_revision_id", table_name="reference_checks")
    op.drop_index("ix_reference_checks_article_hash", table_name="reference_checks")
    op.drop_table("reference_checks")
