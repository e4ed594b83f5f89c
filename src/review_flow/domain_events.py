"""What happened, as the workflow says it: small frozen records a use case leaves on its
unit of work (``unit_of_work.record``) instead of notifying anyone itself.

Just before the transaction commits, one dispatcher (``notifications/dispatcher.py``)
turns them into outbox rows (e-mails, webhooks, ``page.changed``), so a change, its
audit event and its notifications still commit together or not at all. An event holds
the article as it stood when the event happened: a later step of the same transaction
(an edit, then a submit) must not change what the earlier one announces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import Actor, AnyActor
from review_flow.articles.models import Article, Revision
from review_flow.notifications.webhooks import GENERATION_UNKNOWN
from review_flow.users.models import User


@dataclass(frozen=True)
class ArticleAsOf:
    """An article at the moment of an event: what notifications say about it."""

    id: int
    slug: str
    author_id: int
    state: str
    version: int
    title: str | None
    revision: int | None
    content_hash: str | None
    approved_revision_id: int | None
    # The approved revision when the caller had it in hand (revisions never change).
    approved: Revision | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, article: Article) -> ArticleAsOf:
        """Reads only what the caller has loaded (the current revision)."""
        rev = article.current_revision
        approved = article.__dict__.get("approved_revision")  # loaded or set, else None
        if approved is None and rev is not None and rev.id == article.approved_revision_id:
            approved = rev
        return cls(
            id=article.id,
            slug=article.slug,
            author_id=article.author_id,
            state=article.state,
            version=article.version,
            title=rev.title if rev else None,
            revision=rev.number if rev else None,
            content_hash=rev.content_hash if rev else None,
            approved_revision_id=article.approved_revision_id,
            approved=approved,
        )

    def summary(self, session: Session) -> dict[str, Any]:
        """The article as webhooks and e-mails carry it. An approved revision the event
        did not hold is read only here, when someone is told."""
        appr = self.approved
        if appr is None and self.approved_revision_id is not None:
            appr = session.get(Revision, self.approved_revision_id)
        return {
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "state": self.state,
            "version": self.version,
            "revision": self.revision,
            "content_hash": self.content_hash,
            "approved_revision": appr.summary() if appr else None,
        }


@dataclass(frozen=True)
class ArticleCreated:
    actor: Actor
    article: ArticleAsOf
    at: datetime
    webhook_generation: str | None = GENERATION_UNKNOWN


@dataclass(frozen=True)
class ArticleEdited:
    actor: Actor
    article: ArticleAsOf
    revision_number: int
    at: datetime
    webhook_generation: str | None = GENERATION_UNKNOWN
    # The state before the edit: "approved" when approved text was revised (back to draft).
    from_state: str | None = None


@dataclass(frozen=True)
class ActionTaken:
    """A workflow action (``perform_action``), recorded before its audit event: the
    e-mails it sends need nothing from the event, so they are queued before the event
    locks the audit chain's head (``unit_of_work.dispatch_now``)."""

    actor: AnyActor
    article: ArticleAsOf
    action: str
    from_state: str
    to_state: str
    comment: str | None
    approvals: int
    required_approvals: int
    at: datetime
    webhook_generation: str | None = GENERATION_UNKNOWN


@dataclass(frozen=True)
class ActionAudited:
    """The action's audit event was written: webhooks announce the action with the
    event's ``audit_seq``, so a receiver can find it in the log, and its time."""

    taken: ActionTaken
    audit_seq: int
    at: datetime


@dataclass(frozen=True)
class CommentAdded:
    """A comment on an article. It notifies nobody today; recorded so that whoever
    should hear of comments is decided in the dispatcher, not in the use case."""

    actor: Actor
    article_id: int
    comment_id: int
    at: datetime


@dataclass(frozen=True)
class PolicyChanged:
    changed_by: User | None
    version: int
    at: datetime


@dataclass(frozen=True)
class RosterChanged:
    """A board member was added, changed, deactivated or activated: the editorial-policy
    page, which lists the board, may read differently."""

    changed_by: User | None
    user_id: int
    at: datetime


@dataclass(frozen=True)
class PersonInvited:
    """An invitation link was made: its e-mail goes out with the token sealed in
    ``payload`` (``users/invitations.py``)."""

    user_id: int
    email: str
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class AssignmentAbout:
    """A review assignment as its e-mails describe it, read when the event happened."""

    id: int
    article_id: int
    title: str
    revision: int
    reviewer_id: int
    reviewer_email: str
    reviewer_name: str
    state: str
    response_due: datetime
    review_due: datetime


@dataclass(frozen=True)
class ReviewerAssigned:
    """An editor asked a board member to review a round: the member is e-mailed the
    article, the dates and where to accept or decline."""

    assignment: AssignmentAbout
    assigned_by: str
    at: datetime


@dataclass(frozen=True)
class AssignmentNoticed:
    """The sweep recorded a notice about an assignment (``rounds/notices.py``): a
    reminder goes to the reviewer, an escalation to every active editor, a lapsed
    invitation to both."""

    notice_id: int
    kind: str
    assignment: AssignmentAbout
    due_at: datetime
    at: datetime
    # The policy's days after the due date, for an escalation or a lapsed invitation.
    days_after: int | None = None


@dataclass(frozen=True)
class ThreadActivity:
    """A comment thread was opened, answered, resolved or reopened (``change``): the
    others on the article's review hear of it by e-mail (``notifications/thread_mail.py``).
    What the message says is taken here, as it stood when it happened."""

    change: str
    thread_id: int
    article_id: int
    title: str
    revision: int
    paragraph: int | None
    quote: str | None
    blocking: bool
    state: str
    actor_id: int | None
    actor_name: str
    text: str | None
    # The thread record this change made (message id, or state change id): with the
    # change it makes each e-mail's id, stable for the receiver to drop repeats.
    record_id: int
    at: datetime


DomainEvent = (ArticleCreated | ArticleEdited | ActionTaken | ActionAudited | CommentAdded
               | PolicyChanged | RosterChanged | PersonInvited | ReviewerAssigned
               | AssignmentNoticed | ThreadActivity)
