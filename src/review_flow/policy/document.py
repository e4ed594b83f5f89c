"""A policy as a document: the JSON file ``review-flow policy set`` reads, the browser
form's fields, and what changed between two versions.

A policy file is the JSON of one policy version (DESIGN.md): keys left out keep their
defaults, a key it does not know is refused by name. Every refusal names the key, so a
board secretary can find the line to fix; nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from review_flow.errors import ValidationFailed
from review_flow.policy.models import REVIEW_CHECKS, PolicySettings

# Every key, in the order the form and ``policy show`` list them.
KEYS: tuple[str, ...] = tuple(PolicySettings.model_fields)
INT_KEYS: tuple[str, ...] = tuple(
    k for k, f in PolicySettings.model_fields.items() if f.annotation is int
)
BOOL_KEYS: tuple[str, ...] = tuple(
    k for k, f in PolicySettings.model_fields.items() if f.annotation is bool
)
MAX_FILE = 64_000


def _refuse(fields: dict[str, str]) -> ValidationFailed:
    text = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ValidationFailed(f"policy: {text}", fields=fields)


def validated(document: Mapping[str, Any]) -> PolicySettings:
    """The settings a document describes, or ValidationFailed naming each bad key."""
    unknown = [k for k in document if k not in KEYS]
    if unknown:
        raise _refuse({k: f"unknown key (known keys: {', '.join(KEYS)})" for k in unknown})
    name = document.get("name")
    if isinstance(name, str) and not name.strip():
        raise _refuse({"name": "must not be empty (readers see it on the editorial-policy page)"})
    try:
        return PolicySettings.model_validate(dict(document))
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            message = str(error["msg"]).removeprefix("Value error, ")
            key = loc[0] if loc else _key_named_in(message)
            message = message.removeprefix(f"{key}: ")
            where = ".".join(loc[1:])
            fields.setdefault(key, f"{where}: {message}" if where else message)
        raise _refuse(fields) from None
    except ValueError as exc:  # a rule across keys, raised outside pydantic's wrapping
        key = _key_named_in(str(exc))
        raise _refuse({key: str(exc).removeprefix(f"{key}: ")}) from None


def _key_named_in(message: str) -> str:
    """The key a rule across keys is about (``model_post_init`` errors carry no location)."""
    if "review check" in message:
        return "review_checks"
    return next((k for k in KEYS if message.startswith(k)), "policy")


def parse_file(text: str) -> dict[str, Any]:
    """A policy file's JSON object; refused (naming the problem) unless it is one."""
    if len(text) > MAX_FILE:
        raise ValidationFailed(f"policy file: larger than {MAX_FILE} characters",
                               fields={"file": "too large"})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"policy file: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            fields={"file": "not JSON"},
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(
            "policy file: must be a JSON object of policy keys, e.g. "
            '{"required_approvals": 2}', fields={"file": "not an object"})
    return data


def as_document(settings: PolicySettings) -> dict[str, Any]:
    """The JSON of one version: what ``policy show --json`` prints and ``set`` reads."""
    return settings.model_dump(mode="json")


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """The keys whose value differs, with the new value (all of them when no ``before``)."""
    if before is None:
        return dict(after)
    return {k: v for k, v in after.items() if before.get(k) != v}


# --- the browser form -------------------------------------------------------------------


def form_values(settings: PolicySettings) -> dict[str, Any]:
    """The form's initial values: text for text inputs, lines for lists."""
    doc = as_document(settings)
    return {
        **doc,
        "checklist": "\n".join(doc["checklist"]),
        "required_specialties": "\n".join(
            f"{name}: {count}" for name, count in doc["required_specialties"].items()),
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def from_form(form: Mapping[str, str], review_checks: list[str]) -> dict[str, Any]:
    """A document from the form's fields (text as typed, checkboxes present or not).

    Field-level problems (a number that is not one, a specialty line without a count)
    are collected and refused together, each under its key.
    """
    problems: dict[str, str] = {}
    doc: dict[str, Any] = {"name": (form.get("name") or "").strip()}
    for key in INT_KEYS:
        raw = (form.get(key) or "").strip()
        try:
            doc[key] = int(raw)
        except ValueError:
            problems[key] = f"must be a whole number, not {raw!r}" if raw else "is required"
    for key in BOOL_KEYS:
        doc[key] = form.get(key) in ("y", "on", "true", "1")
    unknown = [c for c in review_checks if c not in REVIEW_CHECKS]
    if unknown:
        problems["review_checks"] = f"unknown check(s): {', '.join(unknown)}"
    doc["review_checks"] = [c for c in REVIEW_CHECKS if c in review_checks]
    doc["conflicts"] = form.get("conflicts") or ""
    doc["checklist"] = _lines(form.get("checklist") or "")
    specialties: dict[str, int] = {}
    for number, line in enumerate((form.get("required_specialties") or "").splitlines(), 1):
        if not line.strip():
            continue
        name, sep, count = line.rpartition(":")
        if not sep or not name.strip() or not count.strip().isdigit():
            problems.setdefault(
                "required_specialties",
                f"line {number} ({line.strip()!r}) should read 'specialty: count', "
                "e.g. 'cardiology: 1'")
            continue
        key = name.strip().lower()
        if key in specialties:
            problems.setdefault("required_specialties",
                                f"line {number}: {key!r} is listed twice")
        specialties[key] = int(count)
    doc["required_specialties"] = specialties
    if problems:
        raise _refuse(problems)
    return doc
