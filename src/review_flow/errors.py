"""Domain errors. Each carries a stable ``code``, a sentence a person can act on,
and ``details`` for machines; the web, API and CLI adapters only translate them."""

from __future__ import annotations

from typing import Any


class ReviewFlowError(Exception):
    """Base of every error the service layer raises on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(ReviewFlowError):
    """Input is malformed or incomplete; ``details['fields']`` names the culprits."""

    code = "validation_failed"
    status = 422


class NotFound(ReviewFlowError):
    code = "not_found"
    status = 404


class PermissionDenied(ReviewFlowError):
    """The actor may not do this; ``code`` names the rule (e.g. separation_of_duties)."""

    code = "forbidden"
    status = 403


class InvalidTransition(ReviewFlowError):
    """The action does not exist from the current state; lists what is allowed now."""

    code = "invalid_transition"
    status = 409


class GuardFailed(ReviewFlowError):
    """A workflow guard refused the action (missing comment, bad citation, ...)."""

    code = "guard_failed"
    status = 422


class SignatureRefused(ReviewFlowError):
    """An electronic signature could not be made (wrong password, token, changed text)."""

    code = "signature_refused"
    status = 403
    # A refused password attempt (``signatures.attempts.FailedSignature``): the entry point
    # records it in its own transaction after rolling the action back.
    failed_signature: Any = None


class SignatureLocked(SignatureRefused):
    """Too many wrong passwords at the signature step: signing is locked for a while."""

    code = "signature_locked"
    status = 429


class Conflict(ReviewFlowError):
    """The article changed since the caller read it (stale version)."""

    code = "conflict"
    status = 409


class NotConfigured(ReviewFlowError):
    """The database lacks something set-up provides (run ``review-flow db upgrade``)."""

    code = "not_configured"
    status = 500


class ConfigurationError(ReviewFlowError):
    """The server is missing a setting this action needs; the message names it."""

    code = "server_misconfigured"
    status = 500


def invalid(field: str, short: str, message: str, *, code: str | None = None,
            **details: Any) -> ValidationFailed:
    """One refused input. ``message`` is the sentence a person reads ("Enter a display
    name."); ``fields`` keeps the field's name and its ``short`` reason for machines, as
    before; ``problems`` ties the sentence to the field so a form shows it beside it."""
    return refused({field: (short, message)}, code=code, **details)


def refused(bad: dict[str, tuple[str, str]], *, code: str | None = None,
            **details: Any) -> ValidationFailed:
    """Several refused inputs at once: ``{field: (short reason, sentence)}``; the message
    is every sentence, in order."""
    problems = [{"code": code or ValidationFailed.code, "field": f, "message": said}
                for f, (_, said) in bad.items()]
    return ValidationFailed(" ".join(p["message"] for p in problems), code=code,
                            fields={f: short for f, (short, _) in bad.items()},
                            problems=problems, **details)


def field_messages(exc: ReviewFlowError, default_field: str) -> dict[str, str]:
    """{field: sentence} of a refusal, for a form: each problem's own sentence where the
    service gave one, else the whole message on the field it names (or ``default_field``)."""
    said: dict[str, str] = {}
    for p in exc.details.get("problems") or ():
        if isinstance(p, dict) and p.get("field"):
            field = str(p["field"])
            said[field] = f"{said[field]} {p['message']}" if field in said else str(p["message"])
    fields = exc.details.get("fields")
    named = next(iter(fields), default_field) if isinstance(fields, dict) else default_field
    return said or {str(named): exc.message}
