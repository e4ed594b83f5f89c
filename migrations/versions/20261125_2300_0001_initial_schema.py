"""Initial schema: users, articles, revisions, decisions, comments, policy, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 23:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime, utcnow

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

DEFAULT_POLICY = {
    "name": "Default editorial policy",
    "required_approvals": 1,
    "rereview_months": 12,
    "review_checks": [],
    "show_pending_publicly": True,
}

APPEND_ONLY = ("audit_events", "decisions")

PG_TRIGGERS = """
CREATE FUNCTION review_flow_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION review_flow_revision_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'revisions are immutable: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION review_flow_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash varchar(64);
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;
  IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
    RAISE EXCEPTION 'audit chain: event % does not follow the head (seq %)', NEW.seq, head_seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION review_flow_audit_chain();
CREATE TRIGGER revisions_immutable BEFORE DELETE OR UPDATE OF article_id, number, title, body,
  "references", content_hash, author_id, generator, created_at ON revisions
  FOR EACH ROW EXECUTE FUNCTION review_flow_revision_immutable();
CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON revisions
  FOR EACH STATEMENT EXECUTE FUNCTION review_flow_revision_immutable();
"""

PG_APPEND_ONLY = """
CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
  FOR EACH ROW EXECUTE FUNCTION review_flow_append_only();
CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
  FOR EACH STATEMENT EXECUTE FUNCTION review_flow_append_only();
"""

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
    WHEN NEW.seq <> (SELECT seq FROM audit_chain_head WHERE id = 1) + 1
      OR NEW.prev_hash <> (SELECT hash FROM audit_chain_head WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'audit chain: event does not follow the head'); END""",
    """CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    BEGIN UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END""",
    """CREATE TRIGGER revisions_immutable BEFORE UPDATE OF article_id, number, title, body,
    "references", content_hash, author_id, generator, created_at ON revisions
    BEGIN SELECT RAISE(ABORT, 'revisions are immutable: UPDATE refused'); END""",
    """CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
    BEGIN SELECT RAISE(ABORT, 'revisions are immutable: DELETE refused'); END""",
]

SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
    BEGIN SELECT RAISE(ABORT, '{t} is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
    BEGIN SELECT RAISE(ABORT, '{t} is append-only: DELETE refused'); END""",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.String(200), nullable=True),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_key", name=op.f("uq_users_email_key")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.CheckConstraint(
            "role IN ('author', 'reviewer', 'editor', 'auditor', 'admin')",
            name=op.f("ck_user_roles_known_role"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_policy_versions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_versions")),
    )
    # articles <-> revisions refer to each other. SQLite accepts the forward reference in
    # CREATE TABLE; PostgreSQL gets the two foreign keys once revisions exists.
    article_rev_fks = (
        [
            sa.ForeignKeyConstraint(
                ["current_revision_id"],
                ["revisions.id"],
                name=op.f("fk_articles_current_revision_id_revisions"),
            ),
            sa.ForeignKeyConstraint(
                ["approved_revision_id"],
                ["revisions.id"],
                name=op.f("fk_articles_approved_revision_id_revisions"),
            ),
        ]
        if sqlite
        else []
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("current_revision_id", sa.Integer(), nullable=True),
        sa.Column("approved_revision_id", sa.Integer(), nullable=True),
        sa.Column("review_due", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_articles_author_id_users")
        ),
        *article_rev_fks,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_articles_slug")),
    )
    op.create_index(op.f("ix_articles_author_id"), "articles", ["author_id"])
    op.create_index("ix_articles_state_updated", "articles", ["state", "updated_at"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("generator", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_revisions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_revisions_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("article_id", "number", name="uq_revisions_article_number"),
    )
    op.create_index(op.f("ix_revisions_author_id"), "revisions", ["author_id"])
    op.create_index(op.f("ix_revisions_content_hash"), "revisions", ["content_hash"])
    if not sqlite:
        op.create_foreign_key(
            op.f("fk_articles_current_revision_id_revisions"),
            "articles",
            "revisions",
            ["current_revision_id"],
            ["id"],
        )
        op.create_foreign_key(
            op.f("fk_articles_approved_revision_id_revisions"),
            "articles",
            "revisions",
            ["approved_revision_id"],
            ["id"],
        )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_comments_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_comments_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(op.f("ix_comments_article_id"), "comments", ["article_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.String(200), nullable=True),
        sa.Column("meaning", sa.String(300), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("attestations", sa.JSON(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('approve', 'reject')", name=op.f("ck_decisions_known_kind")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_decisions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_decisions_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_decisions_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_article_id"), "decisions", ["article_id"])
    op.create_index(op.f("ix_decisions_reviewer_id"), "decisions", ["reviewer_id"])
    op.create_index(op.f("ix_decisions_revision_id"), "decisions", ["revision_id"])
    op.create_index(
        "uq_decisions_one_approval",
        "decisions",
        ["revision_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'approve'"),
        postgresql_where=sa.text("kind = 'approve'"),
    )
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", BIGINT, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", BIGINT, autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(300), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(71), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("workflow_version", sa.String(32), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("client_addr", sa.String(64), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index("ix_audit_events_article_seq", "audit_events", ["article_id", "seq"])
    op.create_index("ix_audit_events_actor_seq", "audit_events", ["actor_id", "seq"])
    op.create_index("ix_audit_events_action_seq", "audit_events", ["action", "seq"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])

    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :h)").bindparams(
            h="0" * 64
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO policy_versions (version, settings, created_at, note) "
            "VALUES (1, :s, :at, 'installed by db upgrade')"
        ).bindparams(
            sa.bindparam("s", DEFAULT_POLICY, type_=sa.JSON),
            sa.bindparam("at", utcnow(), type_=UTCDateTime()),
        )
    )

    if sqlite:
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)
        for table in APPEND_ONLY:
            for stmt in SQLITE_APPEND_ONLY:
                op.execute(stmt.format(t=table))
    else:
        op.execute(PG_TRIGGERS)
        for table in APPEND_ONLY:
            op.execute(PG_APPEND_ONLY.format(t=table))


def downgrade() -> None:
    raise NotImplementedError("the audit log is append-only; there is no way back from 0001")
