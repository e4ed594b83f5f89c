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
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.domain_events import AssignmentAbout, AssignmentNoticed, ReviewerAssigned
from review_flow.notifications.mail_queue import Mail, queue_mail
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


class _Text(NamedTuple):
    """What an assignment e-mail says after the greeting (``{article}``, ``{reviewer}``,
    ``{assigned_by}``, ``{days_after}``, ``{response_due}``, ``{review_due}`` filled in)
    and the words before the link to the review page, if it has one."""

    says: str
    link: str | None


def _body(text: _Text) -> Callable[[dict[str, Any], str], str]:
    def body(p: dict[str, Any], base_url: str) -> str:
        a = p["assignment"]
        says = text.says.format(
            article=_article(p), reviewer=a["reviewer_name"],
            assigned_by=p.get("assigned_by"), days_after=p.get("days_after"),
            response_due=_when(a["response_due"]), review_due=_when(a["review_due"]),
        )
        link = _open(p, base_url, text.link) if text.link else ""
        return f"Hello {p['to_name']},\n\n{says}{link}"

    return body


_ASSIGNED = _Text(
    "{assigned_by} asks you to review {article} for the Medical Advisory Board.\n\n"
    "Please accept or decline by {response_due}.\n"
    "If you accept, your review is due by {review_due}.\n",
    "Accept or decline here (sign in first)",
)
_RESPONSE_REMINDER = _Text(
    "A reminder: you were asked to review {article}, and your answer is due by "
    "{response_due}.\n",
    "Accept or decline here",
)
_RESPONSE_OVERDUE = _Text(
    "Your answer to the invitation to review {article} was due on {response_due}. "
    "Please accept or decline, so the editors can ask someone else if you cannot review "
    "it.\n",
    "Accept or decline here",
)
_REVIEW_REMINDER = _Text(
    "A reminder: your review of {article} is due by {review_due}.\n", "Open the review"
)
_REVIEW_OVERDUE = _Text(
    "Your review of {article} was due on {review_due} and is not done yet. If you cannot "
    "finish it, tell the editors so they can reassign it.\n",
    "Open the review",
)
_ESCALATED = _Text(
    "The review of {article} by {reviewer} was due on {review_due} and is still not done "
    "({days_after} or more days late). It is escalated to the editors: reassign it, "
    "cancel it, or agree a new date with the reviewer.\n",
    "Open the article's review",
)
_LAPSED_EDITOR = _Text(
    "{reviewer} did not answer the invitation to review {article} within {days_after} "
    "days, so it lapsed and the assignment was cancelled. Assign another board member.\n",
    "Open the article's review",
)
_LAPSED_REVIEWER = _Text(
    "Your invitation to review {article} lapsed: it was not answered within {days_after} "
    "days. Nothing more is asked of you; the editors may invite you again.\n",
    None,
)


def _lapsed(p: dict[str, Any], base_url: str) -> str:
    return _body(_LAPSED_EDITOR if p.get("to") == "editor" else _LAPSED_REVIEWER)(p, base_url)


_FOOTER = ("\nYou receive this because of your place in the Medical Advisory Board's "
           "review process.\n")

MAIL: dict[str, tuple[str, Callable[[dict[str, Any], str], str]]] = {
    ASSIGNED: ("Please review: {title}", _body(_ASSIGNED)),
    "response_reminder": ("Reminder, please answer: {title}", _body(_RESPONSE_REMINDER)),
    "response_overdue": ("Your answer is overdue: {title}", _body(_RESPONSE_OVERDUE)),
    "review_reminder": ("Reminder, review due soon: {title}", _body(_REVIEW_REMINDER)),
    "review_overdue": ("Your review is overdue: {title}", _body(_REVIEW_OVERDUE)),
    "review_escalated": ("Escalated, review overdue: {title}", _body(_ESCALATED)),
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
    payload = {"kind": ASSIGNED, "to_name": a.reviewer_name,
               "assigned_by": ev.assigned_by, "assignment": _described(a)}
    mail = Mail(a.reviewer_id, a.reviewer_email, f"assignment-{a.id}", payload)
    queue_mail(session, kind=ASSIGNED, article_id=a.article_id, at=ev.at, mails=[mail])


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
    mails = [Mail(uid, email, f"notice-{ev.notice_id}-{uid}",
                  {**base, "to": role, "to_name": name}) for uid, email, name, role in to]
    queue_mail(session, kind=kind, article_id=a.article_id, at=ev.at, mails=mails)
