"""Changing a person's details: display name, credentials, specialties, the date their
credentials are verified until, and roles. One audited change naming every field that
changed (old → new), or a refusal naming every bad field and writing nothing.

The web admin page and ``review-flow users update`` both call :func:`update_person`, so
the rules (and the lockout guard: nobody removes their own admin role) live here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.errors import ValidationFailed, refused
from review_flow.notifications import board
from review_flow.users import service as users
from review_flow.users.models import User, UserRole
from review_flow.users.roles import ROLE_NAMES, Role

EMAIL_MAX = 320
NAME_MAX = 200
CREDENTIALS_MAX = 200
SPECIALTY_MAX = 100
SPECIALTIES_MAX = 20
# A verification is a check of licences that expire: a date further ahead is a typo.
VERIFIED_YEARS_MAX = 5


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Change:
    old: Any
    new: Any


def clean_specialties(values: Iterable[str]) -> tuple[list[str], tuple[str, str] | None]:
    """Specialties as entered (trimmed, blanks dropped, repeats dropped ignoring case),
    and the problem with them, if any (short reason, sentence)."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in values:
        value = " ".join(str(raw).split())
        if not value or value.lower() in seen:
            continue
        if len(value) > SPECIALTY_MAX:
            return out, (f"a specialty has at most {SPECIALTY_MAX} characters",
                         f"A specialty has at most {SPECIALTY_MAX} characters.")
        seen.add(value.lower())
        out.append(value)
    if len(out) > SPECIALTIES_MAX:
        return out, (f"at most {SPECIALTIES_MAX} specialties",
                     f"Enter at most {SPECIALTIES_MAX} specialties.")
    return out, None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _clean(
    user: User | None,
    *,
    changed_by: User | None,
    today: date,
    name: Any,
    credentials: Any,
    specialties: Any,
    credentials_verified_until: Any,
    roles: Any,
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """(cleaned values of the given fields, {field: (short reason, sentence)}) for a new
    or known person: ``fields`` carries the short reason, a person reads the sentence."""
    errors: dict[str, tuple[str, str]] = {}
    wanted: dict[str, Any] = {}
    if name is not UNSET:
        cleaned = " ".join(str(name or "").split())
        if not cleaned:
            errors["name"] = ("required", "Enter a display name.")
        elif len(cleaned) > NAME_MAX:
            errors["name"] = (f"at most {NAME_MAX} characters",
                              f"A display name has at most {NAME_MAX} characters.")
        wanted["name"] = cleaned
    if credentials is not UNSET:
        cleaned_creds = " ".join(str(credentials or "").split()) or None
        if cleaned_creds and len(cleaned_creds) > CREDENTIALS_MAX:
            errors["credentials"] = (f"at most {CREDENTIALS_MAX} characters",
                                     f"Credentials have at most {CREDENTIALS_MAX} characters.")
        wanted["credentials"] = cleaned_creds
    if specialties is not UNSET:
        cleaned_specs, problem = clean_specialties(specialties or ())
        if problem:
            errors["specialties"] = problem
        wanted["specialties"] = cleaned_specs
    if credentials_verified_until is not UNSET:
        until = credentials_verified_until
        if until is not None and not isinstance(until, date):
            errors["credentials_verified_until"] = (
                "must be a date (YYYY-MM-DD)",
                "Enter the date the credentials are verified until as YYYY-MM-DD.")
        elif until is not None and until > today + timedelta(days=366 * VERIFIED_YEARS_MAX):
            errors["credentials_verified_until"] = (
                f"at most {VERIFIED_YEARS_MAX} years ahead; verify again then",
                f"Credentials can be verified at most {VERIFIED_YEARS_MAX} years ahead; "
                "verify them again then.")
        wanted["credentials_verified_until"] = until
    if roles is not UNSET:
        chosen = sorted({str(r).strip() for r in roles or () if str(r).strip()})
        unknown = [r for r in chosen if r not in ROLE_NAMES]
        if not chosen:
            errors["roles"] = ("at least one role is required", "Choose at least one role.")
        elif unknown:
            errors["roles"] = (
                f"unknown role {unknown[0]!r}; roles are {', '.join(ROLE_NAMES)}",
                f"“{unknown[0]}” is not a role; choose from {', '.join(ROLE_NAMES)}.")
        elif (user is not None and changed_by is not None and changed_by.id == user.id
              and Role.ADMIN in user.roles and Role.ADMIN not in chosen):
            errors["roles"] = (
                "you cannot remove your own admin role; another admin can, so nobody locks "
                "the site's administration out by mistake",
                "You cannot remove your own admin role; another admin can, so nobody locks "
                "the site's administration out by mistake.")
        wanted["roles"] = chosen
    return wanted, errors


def _refuse(errors: dict[str, tuple[str, str]]) -> ValidationFailed:
    """Every bad field at once, each in a sentence (``fields`` keeps the short reasons)."""
    return refused(errors)


def add_person(
    session: Session,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    credentials: str | None,
    specialties: Iterable[str],
    credentials_verified_until: Any,
    created_by: User | None,
    today: date,
    context: RequestContext | None = None,
) -> User:
    """A new person without a password (they choose it through an invitation). Every
    bad field is named at once; nothing is written then. ``credentials_verified_until``
    is a date, None, or whatever was typed that is not a date (refused, named)."""
    wanted, errors = _clean(None, changed_by=created_by, today=today, name=name,
                            credentials=credentials, specialties=list(specialties),
                            credentials_verified_until=credentials_verified_until,
                            roles=list(roles))
    email = (email or "").strip()
    if not users.EMAIL_PATTERN.match(email) or len(email) > EMAIL_MAX:
        errors = {"email": ("not an e-mail address",
                            "Enter an e-mail address such as name@example.org."), **errors}
    elif session.scalar(select(User.id).where(User.email_key == users.email_key(email))):
        errors = {"email": (f"{email} already belongs to someone",
                            f"The e-mail address {email} already belongs to someone."), **errors}
    if errors:
        raise _refuse(errors)
    return users.add_user(
        session, email=email, name=wanted["name"], roles=wanted["roles"], password=None,
        credentials=wanted["credentials"], specialties=wanted["specialties"],
        credentials_verified_until=wanted["credentials_verified_until"],
        created_by=created_by, context=context)


def update_person(
    session: Session,
    user: User,
    *,
    changed_by: User | None,
    today: date,
    name: Any = UNSET,
    credentials: Any = UNSET,
    specialties: Any = UNSET,
    credentials_verified_until: Any = UNSET,
    roles: Any = UNSET,
    context: RequestContext | None = None,
) -> dict[str, Change]:
    """Apply the given fields (UNSET: leave as is); the changes made, {} when none.

    Every bad field is named in ``ValidationFailed.details['fields']`` and nothing is
    written. ``changed_by`` may not take away their own admin role.
    """
    was_on_board = Role.REVIEWER in user.roles
    wanted, errors = _clean(user, changed_by=changed_by, today=today, name=name,
                            credentials=credentials, specialties=specialties,
                            credentials_verified_until=credentials_verified_until, roles=roles)
    if errors:
        raise _refuse(errors)

    changes: dict[str, Change] = {}
    for field in ("name", "credentials", "specialties", "credentials_verified_until"):
        if field in wanted and getattr(user, field) != wanted[field]:
            changes[field] = Change(getattr(user, field), wanted[field])
            setattr(user, field, wanted[field])
    if "roles" in wanted and sorted(user.roles) != wanted["roles"]:
        old_roles = sorted(user.roles)
        keep = [row for row in user.role_rows if row.role in wanted["roles"]]
        user.role_rows = keep + [UserRole(role=r) for r in wanted["roles"]
                                 if r not in {row.role for row in keep}]
        changes["roles"] = Change(old_roles, wanted["roles"])
    if not changes:
        return {}
    session.flush()
    if was_on_board or Role.REVIEWER in user.roles:
        board.record_change(session, changed_by, user.id)
    audit.record(
        session, **audit.actor_of(changed_by), action="user.update", object_type="user",
        object_id=user.id, context=context,
        data={"email": user.email,
              "changes": {field: {"old": _jsonable(c.old), "new": _jsonable(c.new)}
                          for field, c in changes.items()}},
    )
    return changes


def _jsonable(value: Any) -> Any:
    return _iso(value) if isinstance(value, date) else value
