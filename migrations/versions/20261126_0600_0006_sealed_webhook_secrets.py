"""Webhook secrets encrypted at rest.

``webhooks.secret`` (plain text) becomes ``webhooks.secret_sealed`` (Fernet, under
REVIEW_FLOW_ENCRYPTION_KEYS or a key derived from REVIEW_FLOW_SECRET_KEY; see
review_flow/notifications/secret_box.py). Existing secrets are sealed here, so an
upgrade of a database that has webhooks needs that key in its environment, the same
one the application and the deliverers run with; without one it stops and says so,
having changed nothing.

Columns are added and dropped in place (SQLite 3.35+ drops columns natively): the
webhooks table is referenced by outbox rows and is never rebuilt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:00:00
"""

import os

import sqlalchemy as sa
from alembic import op

from review_flow import config
from review_flow.notifications.secret_box import KeyMissing, SecretBox

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _box() -> SecretBox:
    settings = config.from_environment()
    if not settings.get("SECRET_KEY") and os.environ.get("REVIEW_FLOW_DEVELOPMENT"):
        from review_flow.app import DEV_SECRET

        settings["SECRET_KEY"] = DEV_SECRET  # what `make run` serves with
    try:
        return SecretBox.from_config(settings)
    except KeyMissing as exc:
        raise SystemExit(f"Cannot seal the existing webhook secrets: {exc}.") from None


def _rewrite(source: str, target: str, convert_with: str) -> None:
    """Fill ``target`` from ``source`` for every webhook, sealing or opening each secret
    (the key is needed only when there are webhooks)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {source} AS value FROM webhooks ORDER BY id")).all()
    if not rows:
        return
    convert = getattr(_box(), convert_with)
    for row in rows:
        bind.execute(
            sa.text(f"UPDATE webhooks SET {target} = :value WHERE id = :id"),
            {"value": convert(row.value), "id": row.id},
        )


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("secret_sealed", sa.Text(), nullable=False,
                                        server_default=""))
    _rewrite("secret", "secret_sealed", "seal")
    op.drop_column("webhooks", "secret")


def downgrade() -> None:
    op.add_column("webhooks", sa.Column("secret", sa.String(200), nullable=False,
                                        server_default=""))
    _rewrite("secret_sealed", "secret", "open")
    op.drop_column("webhooks", "secret_sealed")
