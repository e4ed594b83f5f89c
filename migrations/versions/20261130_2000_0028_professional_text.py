"""A revision's text for healthcare professionals, beside the text for patients.

``revisions.professional_body`` is optional (NULL: the revision has one text, for
everyone). It is part of the content hash when present (``articles/content_hash.py``),
so it is as immutable as the body: the triggers that refuse an UPDATE of a revision's
text are rebuilt to name the new column too.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None

_COLUMNS = (
    'article_id, number, title, body, "references", content_hash, author_id, generator, '
    "created_at"
)


def _immutable(columns: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS revisions_immutable")
        op.execute(
            f"CREATE TRIGGER revisions_immutable BEFORE UPDATE OF {columns} ON revisions "
            "BEGIN SELECT RAISE(ABORT, 'revisions are immutable: UPDATE refused'); END"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS revisions_immutable ON revisions")
        op.execute(
            f"CREATE TRIGGER revisions_immutable BEFORE DELETE OR UPDATE OF {columns} "
            "ON revisions FOR EACH ROW EXECUTE FUNCTION review_flow_revision_immutable()"
        )


def upgrade() -> None:
    op.add_column("revisions", sa.Column("professional_body", sa.Text(), nullable=True))
    _immutable(_COLUMNS + ", professional_body")


def downgrade() -> None:
    # The trigger first: SQLite refuses to drop a column a trigger names.
    _immutable(_COLUMNS)
    op.drop_column("revisions", "professional_body")
