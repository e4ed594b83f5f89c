"""Running Alembic from code: ``review-flow db upgrade`` and the test fixtures."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from review_flow import resources


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option(
        "file_template",
        "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s",
    )
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    cfg = alembic_config("sqlite://")
    return ScriptDirectory.from_config(cfg).get_current_head()


# Made by migration 0013 for title search and not described by the models: SQLite's FTS5
# table (with the shadow tables FTS5 keeps beside it) and PostgreSQL's generated tsvector
# column of revisions with its GIN index (one database's only: the models serve both).
SEARCH_OBJECTS = ("article_titles", "ix_revisions_title_search", "title_search")


def described_by_models(name: str | None, type_: str, parent_names: object = None) -> bool:
    """Alembic's ``include_name`` hook: leave the search machinery out of comparisons."""
    return not (name or "").startswith(SEARCH_OBJECTS)
