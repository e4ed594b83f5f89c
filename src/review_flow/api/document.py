"""The OpenAPI document: what spectree generates, completed with what it cannot say.

spectree declares request bodies, query and header parameters, and response bodies (from
``schemas``) but not response headers, nor what a path answers to a method it does not
have. Both are added here, from the same constants and declarations the code uses:

- response headers: the rate-limit fields on every answer, ``Retry-After`` on 429,
  ``WWW-Authenticate`` on 401, ``Link`` on the pages of a list (any 200 whose schema has
  ``next_cursor``), and those a handler declares with :func:`sends` (``ETag``,
  ``Location``, ``Idempotent-Replayed``);
- 405: each path item says which methods it has, as the ``Allow`` list a 405 carries;
- optional parameters are plain typed (pydantic writes ``anyOf: [T, null]`` for
  ``T | None``; a header or query argument is absent or a T, never null), and a field
  that may be absent but not null has no ``default: null``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from review_flow.api import idempotency, ratelimit

F = TypeVar("F", bound=Callable[..., Any])

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
    "ETag": {
        "description": 'The article\'s version as an entity tag, e.g. "v3": send it back as '
        "If-Match to make an edit or action fail with 409 if the article changed meanwhile. "
        "On a 409 conflict: the current version.",
        "schema": {"type": "string", "pattern": r'^"v[0-9]+"$'},
    },
    "Location": {
        "description": "The article's URL (relative), to GET it.",
        "schema": {"type": "string", "pattern": "^/api/v1/articles/[0-9]+$"},
    },
    idempotency.REPLAYED_HEADER: {
        "description": "true when this is the stored answer to an earlier request with the "
        "same Idempotency-Key and body: nothing was done this time.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {
        "description": 'The scheme to authenticate with: Bearer realm="review-flow".',
        "schema": _TEXT,
    },
}

# operationId (the view's name) -> status -> header name -> required
_DECLARED: dict[str, dict[str, dict[str, bool]]] = {}


def sends(status: int, *required: str, optional: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare headers a handler answers ``status`` with: ``required`` always, ``optional``
    sometimes. Each must be in :data:`HEADERS`."""

    def declare(view: F) -> F:
        by_status = _DECLARED.setdefault(view.__name__, {}).setdefault(str(status), {})
        for name in (*required, *optional):
            if name not in HEADERS:
                raise KeyError(f"{name}: not a header in api/document.py HEADERS")
            by_status[name] = name in required
        return view

    return declare


def _ref(name: str, required: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"$ref": f"#/components/headers/{name}"}
    return ref if not required else {**HEADERS[name], "required": True}


def _is_page(document: dict[str, Any], response: dict[str, Any]) -> bool:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return False
    schema = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return "next_cursor" in schema.get("properties", {})


def _plain_parameter(parameter: dict[str, Any]) -> None:
    """``anyOf: [T, {type: null}]`` with ``default: null`` -> T, for an optional argument."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(options):
            del schema["anyOf"]
            schema.update(rest[0])
    if schema.get("default", 0) is None:
        del schema["default"]


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(
        o.get("type") == "null" for o in schema.get("anyOf", []) if isinstance(o, dict))


def _no_null_defaults(schemas: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null (``url: str = None``) gets no
    ``default: null``, which its own schema would refuse."""
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if prop.get("default", 0) is None and not _nullable(prop):
                del prop["default"]


_METHODS = ("get", "put", "post", "patch", "delete")


def _allow(item: dict[str, Any]) -> str:
    methods = {m.upper() for m in item if m in _METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods | {"OPTIONS"}))


def complete(generated: dict[str, Any]) -> dict[str, Any]:
    """A copy of the generated document with response headers, 405s and plain
    parameters (see the module docstring)."""
    document = copy.deepcopy(generated)
    document.setdefault("components", {})["headers"] = copy.deepcopy(HEADERS)
    _no_null_defaults(document["components"].get("schemas", {}))
    for item in document.get("paths", {}).values():
        item["description"] = (
            f"Any other method answers 405 method_not_allowed with Allow: {_allow(item)}."
        )
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for parameter in operation.get("parameters", []):
                _plain_parameter(parameter)
            declared = _DECLARED.get(operation.get("operationId", ""), {})
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["RateLimit-Policy"] = _ref("RateLimit-Policy")
                headers["RateLimit"] = _ref("RateLimit")
                if status == "429":
                    headers["Retry-After"] = _ref("Retry-After", required=True)
                elif status == "401":
                    headers["WWW-Authenticate"] = _ref("WWW-Authenticate", required=True)
                elif status == "200" and _is_page(document, response):
                    headers["Link"] = _ref("Link")
                for name, required in declared.get(status, {}).items():
                    headers[name] = _ref(name, required)
    return document
