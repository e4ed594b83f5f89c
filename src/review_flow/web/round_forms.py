"""Forms of the review round: assign, reassign, cancel, and the assignee's answer. They
carry the fields only; the rules are the service's (``rounds/assignments.py``)."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Optional

from review_flow.errors import invalid


class AssignForm(FlaskForm):
    reviewer = IntegerField("Board member", validators=[Optional()])
    due = StringField("Review due (optional)")

    def due_date(self) -> date | None:
        raw = (self.due.data or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise invalid("due", "not a date", f"“{raw}” is not a date; enter the review "
                          "due date as YYYY-MM-DD.") from None

    def reviewer_id(self) -> int:
        if not self.reviewer.data:
            raise invalid("reviewer", "required", "Choose the board member to assign.")
        return int(self.reviewer.data)


class RespondForm(FlaskForm):
    answer = StringField()
    comment = TextAreaField("Reason for declining")


class CancelForm(FlaskForm):
    reason = StringField("Reason (optional)")
