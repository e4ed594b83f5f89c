"""The migrations are the only source of schema: the models must match them exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from review_flow import migrate
from review_flow.models import Base


def test_models_and_migrations_do_not_drift(db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": migrate.described_by_models})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_database_is_at_head(db):
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_upgrade_is_idempotent(db):
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()
