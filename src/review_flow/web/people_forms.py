"""The forms of the people pages, the invitation page and the own-password page.

Only the shape is read here; what is allowed (lengths, roles, dates, the lockout guard,
password rules) is the services' to say (``users/changes.py``, ``users/service.py``),
and their messages are shown on these fields.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectMultipleField, StringField, TextAreaField

from review_flow.users.roles import ROLE_NAMES

# (value, label) of each role checkbox; the template draws them.
ROLE_CHOICES: tuple[tuple[str, str], ...] = tuple((r, r.capitalize()) for r in ROLE_NAMES)
# A form field's name for each service field (``ValidationFailed.details['fields']``).
SERVICE_FIELDS = {"credentials_verified_until": "verified_until", "role": "roles"}


class PersonForm(FlaskForm):
    """A person's details (the add form adds ``email``)."""

    name = StringField("Display name")
    credentials = StringField("Credentials")
    specialties = TextAreaField("Specialties")
    verified_until = StringField("Credentials verified until")
    roles = SelectMultipleField("Roles", validate_choice=False)

    def specialty_list(self) -> list[str]:
        return [line for line in (self.specialties.data or "").splitlines() if line.strip()]

    def verified_until_value(self) -> date | str | None:
        """A date; None when left blank; the text as typed when it is no date (the
        service then names the field)."""
        raw = (self.verified_until.data or "").strip()
        if not raw:
            return None
        try:
            return datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            return raw

    def fill(self, *, name: str, credentials: str | None, specialties: list[str],
             verified_until: date | None, roles: list[str]) -> None:
        self.name.data = name
        self.credentials.data = credentials or ""
        self.specialties.data = "\n".join(specialties)
        self.verified_until.data = verified_until.isoformat() if verified_until else ""
        self.roles.data = roles


class AddPersonForm(PersonForm):
    email = EmailField("Email")


class AcceptInvitationForm(FlaskForm):
    password = PasswordField("New password")
    repeat = PasswordField("Repeat the new password")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password")
    password = PasswordField("New password")
    repeat = PasswordField("Repeat the new password")


def form_errors(form: FlaskForm) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error in the form's order, for the summary at
    the top of a form; an error about no one field has an empty id."""
    return [("", "", message) for message in form.form_errors] + [
        (field.id, str(field.label.text), message)
        for field in form if field.name != "csrf_token" for message in field.errors]


def show_errors(form: FlaskForm, fields: dict[str, str]) -> None:
    """Put a service's per-field sentences (``errors.field_messages``) on the form's
    fields (on the form as a whole when it has no such field). Each sentence says which
    field it is about, so the summary shows it without the label in front."""
    for name, message in fields.items():
        target = form._fields.get(SERVICE_FIELDS.get(name, name))
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]
