"""Integrity runs, trail-review records, and the signatures report's indexes.

``integrity_runs``: one row per run of the integrity check started from the web page
(who, when, progress, result). At most one run is "running" at a time: a partial unique
index on the status says so to the database, not to hope.

``trail_reviews``: an auditor's "audit trail reviewed" records (an article or a time
range, the events it covered, a comment). Append-only, like the log they describe.

``decisions`` gets (signed_at, id) and (reviewer_id, signed_at, id): the signatures
report pages newest first by that position, with or without a signer.

Revision ID: 0030
Revises: 0023
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_APPEND_ONLY = """
CREATE TRIGGER trail_reviews_append_only BEFORE UPDATE OR DELETE ON trail_reviews
  FOR EACH ROW EXECUTE FUNCTION review_flow_append_only();
"""

SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER trail_reviews_no_update BEFORE UPDATE ON trail_reviews
    BEGIN SELECT RAISE(ABORT, 'trail_reviews is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER trail_reviews_no_delete BEFORE DELETE ON trail_reviews
    BEGIN SELECT RAISE(ABORT, 'trail_reviews is append-only: DELETE refused'); END""",
]

DECISION_INDEXES = {
    "ix_decisions_signed_at_id": ["signed_at", "id"],
    "ix_decisions_reviewer_signed_at_id": ["reviewer_id", "signed_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "integrity_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_by_name", sa.String(300), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("total", BIGINT, nullable=False),
        sa.Column("progress", BIGINT, nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("events", BIGINT, nullable=True),
        sa.Column("head_hash", sa.String(64), nullable=True),
        sa.Column("bad_seq", BIGINT, nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'ok', 'failed', 'interrupted')",
            name=op.f("ck_integrity_runs_known_status"),
        ),
        sa.ForeignKeyConstraint(["started_by_id"], ["users.id"],
                                name=op.f("fk_integrity_runs_started_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_runs")),
    )
    op.create_index(
        "uq_integrity_runs_one_running", "integrity_runs", ["status"], unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "trail_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_name", sa.String(300), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("first_seq", BIGINT, nullable=False),
        sa.Column("last_seq", BIGINT, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"],
                                name=op.f("fk_trail_reviews_reviewer_id_users")),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_trail_reviews_article_id_articles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trail_reviews")),
    )
    op.create_index("ix_trail_reviews_article_last_seq", "trail_reviews",
                    ["article_id", "last_seq"])
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_APPEND_ONLY:
            op.execute(stmt)
    else:
        op.execute(PG_APPEND_ONLY)
    for name, columns in DECISION_INDEXES.items():
        op.create_index(name, "decisions", columns)


def downgrade() -> None:
    for name in DECISION_INDEXES:
        op.drop_index(name, table_name="decisions")
    op.drop_table("trail_reviews")  # its triggers go with it
    op.drop_index("uq_integrity_runs_one_running", table_name="integrity_runs")
    op.drop_table("integrity_runs")
