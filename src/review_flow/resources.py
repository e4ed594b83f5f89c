"""Where the templates and migrations are: inside the installed package, or the checkout.

A wheel carries them as ``review_flow/_templates`` and ``review_flow/_migrations`` (copied
by the build hook in setup.py); a checkout, editable install included, keeps them at the
top level beside ``src/``. The packaged copy wins, so an installed program never reads a
folder that merely happens to sit two levels up.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parents[1]


def _find(packaged: str, checkout: str, marker: str) -> Path:
    for folder in (PACKAGE / packaged, CHECKOUT / checkout):
        if (folder / marker).exists():
            return folder
    raise FileNotFoundError(
        f"neither {PACKAGE / packaged} nor {CHECKOUT / checkout} holds {marker}: "
        "reinstall review-flow (pip install .) or run from a complete checkout"
    )


def templates_dir() -> Path:
    """The Jinja templates (``templates/``)."""
    return _find("_templates", "templates", "base.html")


def migrations_dir() -> Path:
    """The Alembic scripts (``migrations/``)."""
    return _find("_migrations", "migrations", "env.py")
