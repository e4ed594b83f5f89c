"""Rate limits for ``/api/v1``: per API token and per client address (Flask-Limiter).

A runaway pipeline must not take the server down for everyone: each token may make
``REVIEW_FLOW_API_RATE_LIMIT`` requests (default 120 a minute) and each client address
``REVIEW_FLOW_API_RATE_LIMIT_PER_ADDRESS`` (default 600 a minute, whatever tokens it
sends, so guessing tokens is throttled too); ``off`` turns one off. Windows are moving
(a request counts for exactly one window length after it), so a burst across a minute
boundary gets no second allowance. Over a limit the answer is 429 ``rate_limited`` with
``Retry-After``; every limited response carries the IETF ``RateLimit-Policy`` and
``RateLimit`` fields (draft-ietf-httpapi-ratelimit-headers-09).

Counters live in ``REVIEW_FLOW_RATE_LIMIT_STORAGE``: ``memory://`` (default) counts per
process, so with several gunicorn workers or app servers each allows the full limit;
``redis://host:6379/0`` shares them (the ``limits`` library has no PostgreSQL storage).
If the storage fails, requests are let through and the failure is logged: limits protect
the service, they must not become the outage.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits import parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import storage_from_string

from review_flow.api.errors import error_response

TOKEN_SETTING = "REVIEW_FLOW_API_RATE_LIMIT"
ADDRESS_SETTING = "REVIEW_FLOW_API_RATE_LIMIT_PER_ADDRESS"
STORAGE_SETTING = "REVIEW_FLOW_RATE_LIMIT_STORAGE"
DEFAULT_TOKEN_LIMIT = "120/minute"
DEFAULT_ADDRESS_LIMIT = "600/minute"
DEFAULT_STORAGE = "memory://"
REDIS_TIMEOUT_S = 0.5
_OFF = frozenset({"off", "0", "none", "false", "no"})
# Scopes of the two shared limits: the policy names in the RateLimit fields.
TOKEN_POLICY, ADDRESS_POLICY = "token", "address"
_EXTENSION = "review_flow.limiter"
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """The configured limits (None: off) and where counters live."""

    per_token: str | None
    per_address: str | None
    storage: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """Raises ValueError naming the setting for a malformed value."""
        storage = str(config.get("RATE_LIMIT_STORAGE") or DEFAULT_STORAGE).strip()
        return cls(
            _limit(config.get("API_RATE_LIMIT", DEFAULT_TOKEN_LIMIT), TOKEN_SETTING),
            _limit(config.get("API_RATE_LIMIT_PER_ADDRESS", DEFAULT_ADDRESS_LIMIT),
                   ADDRESS_SETTING),
            storage,
        )


def _limit(value: object, setting: str) -> str | None:
    text = str(value if value is not None else "").strip()
    if text.lower() in _OFF:
        return None
    try:
        parse_many(text)
    except ValueError:
        raise ValueError(
            f"{setting}: {text!r} is not a rate limit such as '120/minute' or "
            "'20/second;1000/hour' (or 'off')"
        ) from None
    return text


def _token_key() -> str:
    """The presented token, hashed: counters never hold a usable token."""
    match = _BEARER.match(request.headers.get("Authorization", ""))
    assert match is not None  # _no_token() exempts requests without one
    return hashlib.sha256(match.group(1).encode()).hexdigest()[:32]


def _no_token() -> bool:
    return _BEARER.match(request.headers.get("Authorization", "")) is None


def _address() -> str:
    return request.remote_addr or "unknown"


def init_app(app: Flask, blueprint: Blueprint) -> None:
    """A limiter for this app's API blueprint, from the configuration (none when both
    limits are off). Raises ValueError naming the setting for a malformed one."""
    limits = Limits.from_config(app.config)
    if limits.per_token is None and limits.per_address is None:
        return
    # A Redis that stops answering must cost a request half a second, not a TCP timeout.
    options: dict[str, Any] = (
        {"socket_connect_timeout": REDIS_TIMEOUT_S, "socket_timeout": REDIS_TIMEOUT_S}
        if limits.storage.startswith(("redis://", "rediss://", "redis+"))
        else {}
    )
    try:
        storage_from_string(limits.storage, **options)  # refuse a bad URL now, by name
    except (LimitsConfigurationError, ValueError) as exc:
        raise ValueError(f"{STORAGE_SETTING}: {limits.storage!r}: {exc}") from None
    limiter = Limiter(
        key_func=_address,
        storage_uri=limits.storage,
        storage_options=options,
        strategy="moving-window",
        headers_enabled=False,  # ours follow the IETF draft (``add_headers``)
        swallow_errors=True,
        key_prefix=str(app.config.get("RATE_LIMIT_KEY_PREFIX") or "review-flow"),
    )
    if limits.per_token is not None:
        limiter.shared_limit(
            limits.per_token, scope=TOKEN_POLICY, key_func=_token_key, exempt_when=_no_token
        )(blueprint)  # Flask-Limiter reads only its name: the blueprint is not changed
    if limits.per_address is not None:
        limiter.shared_limit(limits.per_address, scope=ADDRESS_POLICY, key_func=_address)(
            blueprint
        )
    limiter.init_app(app)
    app.extensions[_EXTENSION] = limiter


def _limiter() -> Limiter | None:
    return current_app.extensions.get(_EXTENSION)


def _policy(limit: RequestLimit) -> str:
    scope = limit.request_args[-1]
    return f'"{scope}-{limit.limit.get_expiry()}s"'


def add_headers(response: Response) -> Response:
    """``RateLimit-Policy`` (quota ``q`` per window ``w`` seconds) and ``RateLimit``
    (remaining ``r``, seconds to reset ``t``) for each limit this request counted in."""
    limiter = _limiter()
    if limiter is None:
        return response
    try:
        counted = list(limiter.current_limits)
        if not counted:
            return response
        now = time.time()
        policies, states = [], []
        for lim in counted:
            name = _policy(lim)
            policies.append(f"{name};q={lim.limit.amount};w={lim.limit.get_expiry()}")
            reset, remaining = lim.window
            states.append(f"{name};r={max(0, remaining)};t={max(0, math.ceil(reset - now))}")
    except Exception:  # the storage failed: the request was let through, so is this
        current_app.logger.exception("rate limit headers could not be computed")
        return response
    response.headers["RateLimit-Policy"] = ", ".join(policies)
    response.headers["RateLimit"] = ", ".join(states)
    return response


def refused(exc: RateLimitExceeded) -> Response:
    """429 in the API's error shape, with ``Retry-After`` in seconds."""
    limiter = _limiter()
    breached = limiter.current_limit if limiter is not None else None
    retry_after = 1
    policy = None
    if breached is not None:
        retry_after = max(1, math.ceil(breached.window[0] - time.time()))
        policy = breached.request_args[-1]
    whose = {TOKEN_POLICY: "this API token", ADDRESS_POLICY: "this client address"}.get(
        policy or "", "this client"
    )
    limit = str(exc.limit.limit)
    return error_response(
        429,
        "rate_limited",
        f"Too many requests for {whose} (limit {limit}); retry after {retry_after} s.",
        {"policy": policy, "limit": limit, "retry_after": retry_after},
        {"Retry-After": str(retry_after)},
    )
