"""Settings from the environment (prefix ``REVIEW_FLOW_``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ENV_PREFIX = "REVIEW_FLOW_"


def default_database_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'review-flow.sqlite3'}"


def sqlite_file_from_environment(environ: dict[str, str] | None = None) -> str | None:
    """The SQLite file ``create_app`` would open, read from the environment alone (the same
    precedence: ``REVIEW_FLOW_DATABASE_URL``, else the file in the instance folder), so a
    command can open it before Flask and SQLAlchemy are imported. None when the database
    is not a plain SQLite file path, or when only building the app can say (a relative
    instance folder, which Flask refuses; a URL with escapes or options)."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_PREFIX + "DATABASE_URL")
    if not url:
        instance = env.get(ENV_PREFIX + "INSTANCE_PATH") or str(Path.cwd() / "instance")
        if not Path(instance).is_absolute():
            return None
        url = default_database_url(instance)
    path = url.removeprefix("sqlite:///")
    if path == url or not path or path == ":memory:" or any(c in path for c in "%?#"):
        return None
    return path


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys from ``REVIEW_FLOW_*`` variables (``REVIEW_FLOW_DATABASE_URL`` →
    ``DATABASE_URL``)."""
    env = os.environ if environ is None else environ
    return {k.removeprefix(ENV_PREFIX): v for k, v in env.items() if k.startswith(ENV_PREFIX)}


def trusted_proxies(value: Any) -> int:
    """``REVIEW_FLOW_TRUSTED_PROXIES``: how many proxies in front may be believed about the
    client's address. A bad value stops start-up, naming the setting."""
    text = str(value if value is not None else "0").strip() or "0"
    if not re.fullmatch(r"[0-9]{1,2}", text) or int(text) > 10:
        raise ValueError(
            f"REVIEW_FLOW_TRUSTED_PROXIES must be a whole number of proxies from 0 to 10 "
            f"(0 ignores X-Forwarded-For), not {value!r}"
        )
    return int(text)
