"""Settings from the environment (prefix ``REVIEW_FLOW_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV_PREFIX = "REVIEW_FLOW_"


def default_database_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'review-flow.sqlite3'}"


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys from ``REVIEW_FLOW_*`` variables (``REVIEW_FLOW_DATABASE_URL`` →
    ``DATABASE_URL``)."""
    env = os.environ if environ is None else environ
    return {k.removeprefix(ENV_PREFIX): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
