"""Settings from the environment (prefix ``REVIEW_FLOW_``)."""

from __future__ import annotations

import os
import re
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
