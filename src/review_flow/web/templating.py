"""Template helpers: dates, state names and badges, who an article is waiting on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from review_flow.web import access

STATE_LABELS = {
    "draft": "Draft",
    "submitted": "Submitted",
    "under_review": "Under review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "retracted": "Retracted",
}

COMMENT_KINDS = {
    "comment": "Comment",
    "request_changes": "Change request",
    "reject": "Rejection",
    "retract": "Retraction",
    "approve": "Approval note",
}

CHECK_LABELS = {
    "checklist": "Review checklist completed",
    "references_verified": "Every reference verified",
    "conflict_of_interest": "Conflict of interest declared",
}


def waiting_on(state: str, reviewer_name: str | None = None) -> str:
    """Who has to act next, in words (display only: the workflow decides who may)."""
    return {
        "draft": "You: finish the draft and submit it",
        "submitted": "A reviewer: to start the review",
        "under_review": f"{reviewer_name or 'A reviewer'}: reviewing",
        "changes_requested": "You: revise and resubmit",
        "approved": "Nobody: published",
        "rejected": "An editor: may reopen it",
        "retracted": "An editor: may reopen it",
    }.get(state, "")


def fmt_date(value: datetime | None) -> str:
    return value.strftime("%B %-d, %Y") if value else ""


def fmt_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def short_hash(value: str | None) -> str:
    return (value or "").removeprefix("sha256:")[:12]


def attested(attestations: dict[str, Any] | None) -> list[str]:
    """What a signer attested, one sentence per review check, in the policy's order as
    the signature recorded them (``Decision.attestations``)."""
    out = []
    for key, value in (attestations or {}).items():
        label = CHECK_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "conflict_of_interest":
            out.append(f"Conflict of interest: {value}" if value else
                       "Conflict of interest: not declared")
        elif isinstance(value, bool) or value is None:
            out.append(label if value else f"{label}: not confirmed")
        else:
            out.append(f"{label}: {value}")
    return out


def register_template_helpers(app: Flask) -> None:
    from review_flow.web.review import waited

    app.jinja_env.filters.update(
        date=fmt_date, datetime=fmt_datetime, short_hash=short_hash,
        state_label=lambda s: STATE_LABELS.get(s, s), attested=attested,
    )
    globals_: dict[str, Any] = {
        "can_write": access.can_write,
        "can_review": access.can_review,
        "can_see_review_due": access.can_see_review_due,
        "can_manage_reviews": access.can_manage_reviews,
        "can_read_audit_log": access.can_read_audit_log,
        "can_audit": access.can_audit,
        "can_administer": access.can_administer,
        "can_set_policy": access.can_set_policy,
        "waiting_on": waiting_on,
        "waited": waited,
        "STATE_LABELS": STATE_LABELS,
        "COMMENT_KINDS": COMMENT_KINDS,
        "CHECK_LABELS": CHECK_LABELS,
    }
    app.jinja_env.globals.update(globals_)
