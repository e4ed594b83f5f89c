"""The "Review policy" page: the version in force with every key, a form that puts a
new version in force, and the earlier versions (who, when, note, what changed).

Editors and admins (``access.POLICY_EDITOR``). A thin view over ``policy.service.put_policy``,
the function ``review-flow policy set`` calls too: validation, the audit event and the
"nothing changed" rule live there. A form saved against a version that is no longer in
force is refused (409) with the typed values kept, so two editors never overwrite each
other unseen.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from review_flow.errors import Conflict, ValidationFailed
from review_flow.policy import document, history
from review_flow.policy import service as policy_service
from review_flow.policy.models import REVIEW_CHECKS
from review_flow.web import read_models
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import PlainForm

bp = Blueprint("policy", __name__)

HISTORY_PAGE = 20

# What each key is called on the page, and a hint on how to fill it in.
LABELS: dict[str, tuple[str, str]] = {
    "name": ("Policy name", "Shown on the editorial-policy page."),
    "required_approvals": ("Approvals required",
                           "Distinct board members who must approve a revision (1 to 10)."),
    "required_specialties": ("Approvals required by specialty",
                             "One per line, like “cardiology: 1”. Counted within the "
                             "approvals required."),
    "rereview_months": ("Re-review interval (months)",
                        "Calendar months from approval until the article is due for "
                        "review again (1 to 120)."),
    "review_checks": ("Review checks", "What approval needs on record: every reference "
                      "checked by the signer on the review page (references_verified), "
                      "the checklist answered (checklist), a conflict-of-interest "
                      "declaration (conflict_of_interest)."),
    "checklist": ("Checklist items", "One item per line; each approval answers every item."),
    "conflicts": ("Conflicts of interest",
                  "What happens when a reviewer declares a conflict."),
    "require_assignment": ("Assignment required",
                           "Only a reviewer an editor assigned (and who accepted) acts on "
                           "a review."),
    "allow_claiming": ("Reviewers may claim unassigned articles", ""),
    "require_verified_credentials": (
        "Only reviewers with verified credentials sign",
        "A reviewer whose credentials were never verified, or whose verification lapsed, "
        "cannot approve or reject; the editorial-policy page lists verified members only."),
    "show_pending_publicly": ("Show articles pending review to readers",
                              "With the notice that content is pending human review."),
    "response_due_days": ("Response due (days)",
                          "Days a reviewer has to accept or decline an invitation (1 to 90)."),
    "review_due_days": ("Review due (days)",
                        "Days from acceptance until the review is due (1 to 180)."),
    "reminder_days_before": ("Reminder (days before due)",
                             "Days before a due date that a reminder is sent (0 to 30)."),
    "escalate_days_after": ("Escalation (days after due)",
                            "Days past due before editors are told (0 to 60)."),
    "invitation_expiry_days": ("Invitation expires after (days)",
                               "An unanswered invitation lapses after this (1 to 180)."),
    "note": ("Note", "Why the policy changes; kept with the version and in the audit log."),
}
CONFLICT_CHOICES = (
    ("refuse", "Refuse the approval of a reviewer who declares a conflict"),
    ("disclose", "Allow it, and show the conflict beside the reviewer's name"),
)


def _show(key: str, value: Any) -> str:
    """A value as the page shows it in the "in force" list and the history."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key == "review_checks":
        from review_flow.web.templating import CHECK_LABELS

        return "; ".join(CHECK_LABELS.get(c, c) for c in value) or "None"
    if key == "conflicts":
        return dict(CONFLICT_CHOICES).get(value, str(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "None"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value) or "None"
    return str(value)


def _render(values: dict[str, Any], *, status: int = 200, errors: dict[str, str] | None = None,
            summary: list[str] | None = None, note: str = "",
            expected_version: int | None = None) -> ResponseReturnValue:
    session = db_session()
    version, settings = policy_service.active_policy(session)
    before = read_models.parse_cursor(request.args.get("before"), read_models.MAX_ID)
    versions, older = history.page(session, before=before, limit=HISTORY_PAGE)
    in_force, _ = history.page(session, before=version + 1, limit=1)
    return render_template(
        "policy/page.html", version=version, current=document.as_document(settings),
        in_force=in_force[0], values=values, errors=errors or {}, summary=summary or [],
        note=note, expected_version=expected_version or version, versions=versions,
        older=older, paged=before is not None, labels=LABELS, keys=document.KEYS,
        show=_show, review_checks=REVIEW_CHECKS, conflict_choices=CONFLICT_CHOICES,
        form=PlainForm(formdata=None),
    ), status


@bp.get("/policy")
def page() -> ResponseReturnValue:
    _, settings = policy_service.active_policy(db_session())
    return _render(document.form_values(settings))


def _typed() -> dict[str, Any]:
    """The form as typed, to show it again after a refusal."""
    values: dict[str, Any] = {k: request.form.get(k, "") for k in document.KEYS}
    for key in document.BOOL_KEYS:
        values[key] = key in request.form
    values["review_checks"] = request.form.getlist("review_checks")
    return values


@bp.post("/policy")
def save() -> ResponseReturnValue:
    """A new version from the form (CSRF was checked before the view, as for every POST)."""
    note = request.form.get("note", "")
    expected = read_models.parse_cursor(request.form.get("expected_version"),
                                        read_models.MAX_ID)
    actor = current_actor()
    try:
        doc = document.from_form(request.form, request.form.getlist("review_checks"))
        version = policy_service.put_policy(db_session(), actor, doc, note=note,
                                            expected_version=expected)
    except ValidationFailed as exc:
        abandon()
        fields = exc.details.get("fields")
        errors = {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}
        return _render(_typed(), status=422, errors=errors, note=note,
                       summary=[] if errors else [exc.message], expected_version=expected)
    except Conflict as exc:
        abandon()
        return _render(_typed(), status=409, note=note, summary=[
            exc.message, "Nothing was saved. Your changes are still in the form below."],
            expected_version=exc.details.get("current_version"))
    if version is None:
        flash("Nothing changed: the form says what the policy in force says. No new "
              "version was made.", "info")
    else:
        changed = policy_service.changes_of(db_session(), version)
        flash(f"Policy version {version} is in force. Changed: "
              f"{', '.join(LABELS[k][0] for k in changed)}.", "success")
    return redirect(url_for("policy.page"), 303)
