"""Review rounds, assignments and conflict-of-interest declarations as records
(DESIGN.md, "The board's review process"); decisions belong to a round.

One open round per article is a partial unique index. Articles waiting for review when
this runs get an open round under the newest policy (their decisions so far keep no
round: decisions are append-only, and the quorum counts those signed since the round
opened); an article under review gets its reviewer's claim, from the last
``start_review`` event. The one-approval rule becomes per round, so a re-review of unchanged text
can be approved again by the same board member.

Revision ID: 0020
Revises: 0024
Create Date: 2026-11-30 17:00:00
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0020"
down_revision = "0024"
branch_labels = None
depends_on = None

OPEN_SQL = "state IN ('invited', 'accepted')"
LIVE_SQL = "state IN ('invited', 'accepted', 'completed')"


def upgrade() -> None:
    op.create_table(
        "review_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('approved', 'rejected', 'changes_requested', "
            "'withdrawn')",
            name=op.f("ck_review_rounds_known_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_review_rounds_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_review_rounds_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_rounds")),
    )
    op.create_index(
        "uq_review_rounds_article_number", "review_rounds", ["article_id", "number"], unique=True
    )
    op.create_index(
        "uq_review_rounds_one_open",
        "review_rounds",
        ["article_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "review_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("response_due", UTCDateTime(), nullable=False),
        sa.Column("review_due", UTCDateTime(), nullable=False),
        sa.Column("responded_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('invited', 'accepted', 'declined', 'completed', 'cancelled')",
            name=op.f("ck_review_assignments_known_state"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["review_rounds.id"],
            name=op.f("fk_review_assignments_round_id_review_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_review_assignments_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_review_assignments_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"],
            name=op.f("fk_review_assignments_assigned_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_assignments")),
    )
    op.create_index(
        "uq_review_assignments_live",
        "review_assignments",
        ["round_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text(LIVE_SQL),
        postgresql_where=sa.text(LIVE_SQL),
    )
    op.create_index(
        "ix_review_assignments_reviewer_open",
        "review_assignments",
        ["reviewer_id", "review_due", "id"],
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )
    op.create_index(
        "ix_review_assignments_open_due",
        "review_assignments",
        ["review_due", "id"],
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )
    op.create_index(
        "ix_review_assignments_reviewer_article",
        "review_assignments",
        ["reviewer_id", "article_id"],
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )
    op.create_index(
        "ix_review_assignments_open_article",
        "review_assignments",
        ["article_id", "review_due"],
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )
    op.create_index("ix_review_assignments_round_id", "review_assignments", ["round_id"])
    op.create_index("ix_review_assignments_article_id", "review_assignments", ["article_id"])
    op.create_table(
        "conflict_declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("conflict", sa.Text(), nullable=True),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["review_rounds.id"],
            name=op.f("fk_conflict_declarations_round_id_review_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"],
            name=op.f("fk_conflict_declarations_article_id_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_conflict_declarations_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_declarations")),
    )
    op.create_index(
        "uq_conflict_declarations_round_reviewer",
        "conflict_declarations",
        ["round_id", "reviewer_id"],
        unique=True,
    )
    op.create_index(
        op.f("ix_conflict_declarations_article_id"), "conflict_declarations", ["article_id"]
    )

    # Plain ADD COLUMN on SQLite too: the table stays as it is.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE decisions ADD COLUMN round_id INTEGER "
            "CONSTRAINT fk_decisions_round_id_review_rounds REFERENCES review_rounds (id)"
        )
    else:
        op.add_column("decisions", sa.Column("round_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_decisions_round_id_review_rounds"),
            "decisions", "review_rounds", ["round_id"], ["id"],
        )
    op.add_column("decisions", sa.Column("conflict", sa.Text(), nullable=True))
    op.drop_index("uq_decisions_one_approval", table_name="decisions")
    op.create_index(
        "uq_decisions_one_approval",
        "decisions",
        ["revision_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'approve' AND round_id IS NULL"),
        postgresql_where=sa.text("kind = 'approve' AND round_id IS NULL"),
    )
    op.create_index(
        "uq_decisions_one_approval_per_round",
        "decisions",
        ["round_id", "revision_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'approve' AND round_id IS NOT NULL"),
        postgresql_where=sa.text("kind = 'approve' AND round_id IS NOT NULL"),
    )

    # Articles waiting for review now: an open round each, under the newest policy.
    op.execute(
        "INSERT INTO review_rounds (article_id, number, revision_id, policy_version, opened_at) "
        "SELECT a.id, 1, a.current_revision_id, "
        "(SELECT max(version) FROM policy_versions), coalesce(a.submitted_at, a.updated_at) "
        "FROM articles a WHERE a.state IN ('submitted', 'under_review') "
        "AND EXISTS (SELECT 1 FROM policy_versions)"
    )
    _backfill_claims()


def _backfill_claims() -> None:
    """An article under review was taken by whoever last started its review (until now
    only the ``start_review`` audit event said so). Today that is a claim: an accepted
    assignment of that reviewer, completed if they already approved the current revision
    since the round opened. Without it the article would show as "Unassigned" while
    being reviewed, and under a policy requiring assignment its reviewer could not go
    on. Due dates as a claim made at that moment gets them (the newest policy's periods).
    """
    bind = op.get_bind()
    rounds = sa.table("review_rounds", sa.column("id", sa.Integer()),
                      sa.column("article_id", sa.Integer()),
                      sa.column("revision_id", sa.Integer()),
                      sa.column("policy_version", sa.Integer()),
                      sa.column("opened_at", UTCDateTime()))
    articles = sa.table("articles", sa.column("id", sa.Integer()), sa.column("state", sa.String()))
    events = sa.table("audit_events", sa.column("seq", sa.Integer()),
                      sa.column("article_id", sa.Integer()), sa.column("action", sa.String()),
                      sa.column("actor_id", sa.Integer()), sa.column("at", UTCDateTime()))
    policies = sa.table("policy_versions", sa.column("version", sa.Integer()),
                        sa.column("settings", sa.JSON()))
    decisions = sa.table("decisions", sa.column("article_id", sa.Integer()),
                         sa.column("revision_id", sa.Integer()),
                         sa.column("reviewer_id", sa.Integer()), sa.column("kind", sa.String()),
                         sa.column("signed_at", UTCDateTime()))
    assignments = sa.table(
        "review_assignments", *(sa.column(c, sa.Integer()) for c in (
            "round_id", "article_id", "reviewer_id", "assigned_by_id")),
        sa.column("state", sa.String()),
        *(sa.column(c, UTCDateTime()) for c in (
            "response_due", "review_due", "responded_at", "created_at", "updated_at")))
    starts = events.alias("starts")
    latest_start = (
        sa.select(sa.func.max(starts.c.seq))
        .where(starts.c.article_id == articles.c.id, starts.c.action == "article.start_review")
        .correlate(articles)
        .scalar_subquery())
    rows = bind.execute(
        sa.select(rounds.c.id, rounds.c.article_id, rounds.c.revision_id,
                  rounds.c.policy_version, rounds.c.opened_at, events.c.actor_id, events.c.at)
        .join(articles, articles.c.id == rounds.c.article_id)
        .join(events, events.c.seq == latest_start)
        .where(articles.c.state == "under_review", events.c.actor_id.is_not(None))).all()
    settings: dict[int, dict[str, int]] = {}
    for r in rows:
        if r.policy_version not in settings:
            raw = bind.scalar(sa.select(policies.c.settings)
                              .where(policies.c.version == r.policy_version))
            settings[r.policy_version] = raw if isinstance(raw, dict) else {}
        policy = settings[r.policy_version]
        review_due = r.at + timedelta(days=int(policy.get("review_due_days", 14)))
        response_due = min(r.at + timedelta(days=int(policy.get("response_due_days", 7))),
                           review_due)
        approved = bind.scalar(sa.select(sa.func.count()).select_from(decisions).where(
            decisions.c.article_id == r.article_id, decisions.c.revision_id == r.revision_id,
            decisions.c.reviewer_id == r.actor_id, decisions.c.kind == "approve",
            decisions.c.signed_at >= r.opened_at))
        bind.execute(sa.insert(assignments).values(
            round_id=r.id, article_id=r.article_id, reviewer_id=r.actor_id,
            assigned_by_id=r.actor_id, state="completed" if approved else "accepted",
            response_due=response_due, review_due=review_due, responded_at=r.at,
            created_at=r.at, updated_at=r.at))


def downgrade() -> None:
    op.drop_index("uq_decisions_one_approval_per_round", table_name="decisions")
    op.drop_index("uq_decisions_one_approval", table_name="decisions")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite will not drop a column that a foreign key names: copy the table without
        # both columns (nothing refers to decisions, and it carries no triggers).
        with op.batch_alter_table("decisions", recreate="always") as batch:
            batch.drop_column("round_id")
            batch.drop_column("conflict")
    else:
        op.drop_constraint(
            op.f("fk_decisions_round_id_review_rounds"), "decisions", type_="foreignkey"
        )
        op.drop_column("decisions", "round_id")
        op.drop_column("decisions", "conflict")
    op.create_index(
        "uq_decisions_one_approval",
        "decisions",
        ["revision_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'approve'"),
        postgresql_where=sa.text("kind = 'approve'"),
    )
    op.drop_table("conflict_declarations")
    op.drop_table("review_assignments")
    op.drop_table("review_rounds")
