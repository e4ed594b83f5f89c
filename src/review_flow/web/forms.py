"""The HTML forms. Flask-WTF gives each a CSRF token; validation of content (titles,
references, comments) is the service layer's, so these forms only carry the fields."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from review_flow.notifications.webhooks import WEBHOOK_EVENTS
from review_flow.web import form_nonce

MAX_REFERENCE_ROWS = 500


class SignInForm(FlaskForm):
    email = StringField("Email")
    password = PasswordField("Password")
    remember = BooleanField("Remember me on this device", default=False)
    next = HiddenField()


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token (sign out, simple workflow buttons)."""


class ReferenceForm(Form):
    """One reference row; sub-forms carry no CSRF token of their own."""

    title = StringField("Title")
    url = StringField("URL")
    doi = StringField("DOI")
    pmid = StringField("PMID")

    def as_reference(self) -> dict[str, str] | None:
        """The row as the service expects it; None for a row left entirely blank."""
        values = {k: (getattr(self, k).data or "").strip() for k in ("title", "url", "doi", "pmid")}
        if not any(values.values()):
            return None
        return {k: v for k, v in values.items() if v or k == "title"}


class ArticleForm(FlaskForm):
    title = StringField("Title")
    body = TextAreaField("Body")
    professional_body = TextAreaField("Text for healthcare professionals (optional)")
    references = FieldList(FormField(ReferenceForm), min_entries=0,
                           max_entries=MAX_REFERENCE_ROWS)
    expected_version = IntegerField(validators=[Optional()])

    def references_data(self) -> list[dict[str, str]]:
        return [r for entry in self.references if (r := entry.form.as_reference()) is not None]

    def rows(self) -> list[dict[str, str]]:
        """Every row as typed, blank ones included (to show the form again)."""
        return [
            {k: (getattr(entry.form, k).data or "") for k in ("title", "url", "doi", "pmid")}
            for entry in self.references
        ]


def edit_rows(rows: list[dict[str, Any]], op: str) -> list[dict[str, Any]] | None:
    """Apply a no-JavaScript row operation ("add", "remove-2", "up-1", "down-0") to the
    reference rows; None when ``op`` is not a row operation."""
    rows = list(rows)
    if op == "add":
        return [*rows, {"title": "", "url": "", "doi": "", "pmid": ""}][:MAX_REFERENCE_ROWS]
    verb, _, index = op.partition("-")
    if verb not in ("remove", "up", "down") or not index.isdigit():
        return None
    i = int(index)
    if not 0 <= i < len(rows):
        return rows
    if verb == "remove":
        del rows[i]
    elif verb == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif verb == "down" and i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    return rows


class ActionForm(FlaskForm):
    """A workflow button: the version the page showed, an optional comment, where to go."""

    expected_version = IntegerField(validators=[Optional()])
    comment = TextAreaField("Comment")
    return_to = HiddenField()


class SignForm(FlaskForm):
    """The electronic-signature step (approve, reject)."""

    expected_version = IntegerField(validators=[Optional()])
    content_hash = HiddenField()
    comment = TextAreaField("Reason")
    conflict_of_interest = StringField("Conflict of interest declaration")
    password = PasswordField("Password")

    def attestations(self, required: tuple[str, ...]) -> dict[str, Any]:
        """The conflict declaration; the checklist and the references are records now
        (``web/reference_checks.py`` reads the checklist's radios)."""
        value = (self.conflict_of_interest.data or "").strip() or None
        return {"conflict_of_interest": value} if "conflict_of_interest" in required else {}


class CommentForm(FlaskForm):
    body = TextAreaField("Comment")
    return_to = HiddenField()


class OnceForm(FlaskForm):
    """A create form that may take effect only once: each rendering carries a fresh
    random ``submission_id`` (see ``web/form_nonce.py``). A POST without a well-formed one
    is refused, naming the field; the form is then shown again with a new one."""

    submission_id = HiddenField("Form submission id", default=form_nonce.new_nonce,
                                validators=[InputRequired(form_nonce.MESSAGE),
                                            Regexp(form_nonce.NONCE, message=form_nonce.MESSAGE)])

    def renew_nonce_if_refused(self) -> None:
        """After a refused nonce, render a fresh one so that submitting again works."""
        if self.submission_id.errors:
            self.submission_id.data = form_nonce.new_nonce()


class TokenForm(OnceForm):
    """Admin: a new API token acting as the person with this e-mail."""

    email = StringField("User email")
    name = StringField("Token name")


# The sizes of the ``webhooks`` columns (``notifications.models.Webhook``) and of an event
# kind (``outbox_messages.kind``). The service truncates a long description and calls a
# long URL "not an http(s) URL"; checking length here first lets the form say what is wrong.
WEBHOOK_URL_MAX = 2000
WEBHOOK_DESCRIPTION_MAX = 200
EVENT_KIND_MAX = 64

ALL_EVENTS = "*"
# (value, label) of each event-kind checkbox; the template draws them (see WebhookForm).
WEBHOOK_EVENT_CHOICES: tuple[tuple[str, str], ...] = (
    (ALL_EVENTS, "All events"),
    *((event, event) for event in WEBHOOK_EVENTS),
)


def _short_event_kinds(_form: Form, field: Field) -> None:
    """Refuse absurdly long values before the service echoes one in its error message."""
    if any(len(value) > EVENT_KIND_MAX for value in field.data or ()):
        raise ValidationError(f"An event kind has at most {EVENT_KIND_MAX} characters.")


class WebhookForm(OnceForm):
    """Admin: register a webhook endpoint.

    Only the shape is checked here (lengths); whether the URL is http(s), which event
    kinds exist and how long a secret must be are ``notifications.webhooks``' rules, and
    its errors are shown on these fields. Unknown event kinds are therefore not filtered
    out here (``validate_choice=False``): the service names them. The checkboxes are drawn
    by the template from :data:`WEBHOOK_EVENT_CHOICES` (each with its own hint), so the
    field itself carries no choices.
    """

    url = StringField("URL", validators=[Length(
        max=WEBHOOK_URL_MAX,
        message="The URL has at most %(max)d characters (this one has %(length)d).")])
    events = SelectMultipleField("Event kinds", validate_choice=False,
                                 validators=[_short_event_kinds])
    description = StringField("Description", validators=[Length(
        max=WEBHOOK_DESCRIPTION_MAX,
        message="The description has at most %(max)d characters (this one has "
                "%(length)d).")])
    # A password input: what the admin typed is never written back into a page.
    secret = PasswordField("Signing secret")


class NotificationsForm(FlaskForm):
    """A person's e-mail kinds: the ticked ones are on. Unknown names are the service's
    to refuse (it names them), so choices are not filtered here."""

    kinds = SelectMultipleField("E-mail me when", validate_choice=False)
