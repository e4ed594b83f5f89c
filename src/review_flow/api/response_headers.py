"""Response headers in the OpenAPI document.

spectree declares request headers and response bodies but not response headers, so the
ones every client may rely on are added to the generated document here, from the same
constants the code sends: the rate-limit fields on every answer, ``Retry-After`` on 429,
and ``Link`` on the pages of a list (any 200 whose schema has ``next_cursor``)."""

from __future__ import annotations

import copy
from typing import Any

from review_flow.api import ratelimit

_INT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}

HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": {
        "description": "The rate limits this request counts against "
        "(draft-ietf-httpapi-ratelimit-headers-09): one item per limit, named "
        f'"{ratelimit.TOKEN_POLICY}-<window>s" or "{ratelimit.ADDRESS_POLICY}-<window>s", with '
        'the quota q and the window w in seconds, e.g. "token-60s";q=120;w=60. Absent when '
        "the server runs without limits.",
        "schema": _TEXT,
    },
    "RateLimit": {
        "description": "For each limit in RateLimit-Policy: the requests remaining r and the "
        'seconds until the window frees one t, e.g. "token-60s";r=117;t=42.',
        "schema": _TEXT,
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request will be accepted.",
        "schema": _INT,
    },
    "Link": {
        "description": 'The next page, as <URL>; rel="next" (RFC 8288): this request with '
        "cursor set to next_cursor. Absent on the last page.",
        "schema": _TEXT,
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _is_page(document: dict[str, Any], response: dict[str, Any]) -> bool:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return False
    schema = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return "next_cursor" in schema.get("properties", {})


def with_response_headers(generated: dict[str, Any]) -> dict[str, Any]:
    """A copy of the generated document with the response headers declared."""
    document = copy.deepcopy(generated)
    document.setdefault("components", {})["headers"] = copy.deepcopy(HEADERS)
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["RateLimit-Policy"] = _ref("RateLimit-Policy")
                headers["RateLimit"] = _ref("RateLimit")
                if status == "429":
                    headers["Retry-After"] = _ref("Retry-After")
                elif status == "200" and _is_page(document, response):
                    headers["Link"] = _ref("Link")
    return document
