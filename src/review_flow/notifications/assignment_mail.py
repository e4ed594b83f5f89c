"""E-mails about review assignments: the invitation to review (when an editor assigns a
board member), the sweep's reminders to the reviewer, and its escalations to the editors.

They are part of a board member's and an editor's duty, not news one may turn off, so,
like account e-mails, they are kept apart from ``kinds.EMAIL_KINDS`` (the opt-out list).
Rows are written in the transaction of the change (``dispatcher.py``); the greeting name
is filled in at delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.domain_events import AssignmentAbout, AssignmentNoticed, ReviewerAssigned
from review_flow.outbox.service import enqueue_many
from review_flow.timeutil import isoformat
from review_flow.users.models import User, UserRole
from review_flow.users.roles import Role

# Where the reviewer accepts or declines, and editors reassign (``web/review.py``).
REVIEW_PATH = "/review/{id}"
ASSIGNED = "review_assigned"
# Outbox kind of each notice kind (``rounds/notices.py``).
NOTICE_MAIL = {
    "response_reminder": "response_reminder",
    "response_overdue": "response_overdue",
    "review_reminder": "review_reminder",
    "review_overdue": "review_overdue",
    "escalation": "review_escalated",
    "lapsed": "invitation_lapsed",
}
# Who hears of each notice kind.
TO_EDITORS = frozenset({"escalation", "lapsed"})
TO_REVIEWER = frozenset(NOTICE_MAIL) - {"escalation"}


def _when(value: str) -> str:
    return f"{datetime.fromisoformat(value.replace('Z', '+00:00')):%Y-%m-%d %H:%M} UTC"


def _link(p: dict[str, Any], base_url: str) -> str:
    if not base_url:
        return ""
    return f"{base_url.rstrip('/')}{REVIEW_PATH.format(id=p['assignment']['article_id'])}"


def _open(p: dict[str, Any], base_url: str, what: str) -> str:
    link = _link(p, base_url)
    return f"\n{what}:\n\n    {link}\n" if link else ""


def _article(p: dict[str, Any]) -> str:
    a = p["assignment"]
    return f'"{a["title"]}" (revision {a["revision"]})'


def _assigned(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"{p['assigned_by']} asks you to review {_article(p)} for the Medical Advisory "
        "Board.\n\n"
        f"Please accept or decline by {_when(a['response_due'])}.\n"
        f"If you accept, your review is due by {_when(a['review_due'])}.\n"
        + _open(p, base_url, "Accept or decline here (sign in first)")
    )


def _response_reminder(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"A reminder: you were asked to review {_article(p)}, and your answer is due by "
        f"{_when(a['response_due'])}.\n"
        + _open(p, base_url, "Accept or decline here")
    )


def _response_overdue(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"Your answer to the invitation to review {_article(p)} was due on "
        f"{_when(a['response_due'])}. Please accept or decline, so the editors can ask "
        "someone else if you cannot review it.\n"
        + _open(p, base_url, "Accept or decline here")
    )


def _review_reminder(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"A reminder: your review of {_article(p)} is due by {_when(a['review_due'])}.\n"
        + _open(p, base_url, "Open the review")
    )


def _review_overdue(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"Your review of {_article(p)} was due on {_when(a['review_due'])} and is not done "
        "yet. If you cannot finish it, tell the editors so they can reassign it.\n"
        + _open(p, base_url, "Open the review")
    )


def _escalated(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    return (
        f"Hello {p['to_name']},\n\n"
        f"The review of {_article(p)} by {a['reviewer_name']} was due on "
        f"{_when(a['review_due'])} and is still not done ({p['days_after']} or more days "
        "late). It is escalated to the editors: reassign it, cancel it, or agree a new "
        "date with the reviewer.\n"
        + _open(p, base_url, "Open the article's review")
    )


def _lapsed(p: dict[str, Any], base_url: str) -> str:
    a = p["assignment"]
    if p.get("to") == "editor":
        return (
            f"Hello {p['to_name']},\n\n"
            f"{a['reviewer_name']} did not answer the invitation to review {_article(p)} "
            f"within {p['days_after']} days, so it lapsed and the assignment was cancelled. "
            "Assign another board member.\n"
            + _open(p, base_url, "Open the article's review")
        )
    return (
        f"Hello {p['to_name']},\n\n"
        f"Your invitation to review {_article(p)} lapsed: it was not answered within "
        f"{p['days_after']} days. Nothing more is asked of you; the editors may invite you "
        "again.\n"
    )


_FOOTER = ("\nYou receive this because of your place in the Medical Advisory Board's "
           "review process.\n")

MAIL: dict[str, tuple[str, Callable[[dict[str, Any], str], str]]] = {
    ASSIGNED: ("Please review: {title}", _assigned),
    "response_reminder": ("Reminder, please answer: {title}", _response_reminder),
    "response_overdue": ("Your answer is overdue: {title}", _response_overdue),
    "review_reminder": ("Reminder, review due soon: {title}", _review_reminder),
    "review_overdue": ("Your review is overdue: {title}", _review_overdue),
    "review_escalated": ("Escalated, review overdue: {title}", _escalated),
    "invitation_lapsed": ("Invitation lapsed: {title}", _lapsed),
}


def render(payload: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    """(subject, text) of an assignment e-mail; None when the payload is another kind."""
    found = MAIL.get(payload.get("kind", ""))
    if found is None:
        return None
    subject, body = found
    title = " ".join(subject.format(title=payload["assignment"]["title"]).split())[:200]
    return title, body(payload, base_url) + _FOOTER


def _described(a: AssignmentAbout) -> dict[str, Any]:
    return {
        "id": a.id, "article_id": a.article_id, "title": a.title, "revision": a.revision,
        "reviewer_name": a.reviewer_name, "state": a.state,
        "response_due": isoformat(a.response_due), "review_due": isoformat(a.review_due),
    }


def queue_assigned(session: Session, ev: ReviewerAssigned) -> None:
    """The invitation to review, to the board member, in the assignment's transaction."""
    a = ev.assignment
    enqueue_many(session, [{
        "channel": "email", "kind": ASSIGNED, "recipient": a.reviewer_email,
        "user_id": a.reviewer_id, "article_id": a.article_id,
        "message_id": f"assignment-{a.id}",
        "payload": {"kind": ASSIGNED, "to_name": a.reviewer_name,
                    "assigned_by": ev.assigned_by, "assignment": _described(a)},
    }], now=ev.at)


def _editors(session: Session) -> list[tuple[int, str, str]]:
    return [(r.id, r.email, r.name) for r in session.execute(
        select(User.id, User.email, User.name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.EDITOR.value, User.active.is_(True))
        .order_by(User.id))]


def queue_notice(session: Session, ev: AssignmentNoticed) -> None:
    """A reminder to the reviewer; an escalation to every active editor; a lapsed
    invitation to both. Message ids are the notice's, so receivers can drop repeats."""
    kind = NOTICE_MAIL[ev.kind]
    a = ev.assignment
    base = {"kind": kind, "assignment": _described(a), "notice": ev.notice_id,
            "days_after": ev.days_after}
    to: list[tuple[int, str, str, str]] = []
    if ev.kind in TO_REVIEWER:
        to.append((a.reviewer_id, a.reviewer_email, a.reviewer_name, "reviewer"))
    if ev.kind in TO_EDITORS:
        to += [(uid, email, name, "editor") for uid, email, name in _editors(session)]
    enqueue_many(session, [{
        "channel": "email", "kind": kind, "recipient": email, "user_id": uid,
        "article_id": a.article_id, "message_id": f"notice-{ev.notice_id}-{uid}",
        "payload": {**base, "to": role, "to_name": name},
    } for uid, email, name, role in to], now=ev.at)
