"""The one dispatcher: a transaction's domain events become outbox rows, in that
transaction, just before it commits (installed by ``Database``, see ``unit_of_work``).

A failure here fails the commit, so the state change is rolled back with it: a change
is never committed without its notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from review_flow.domain_events import (
    ActionAudited,
    ActionTaken,
    ArticleCreated,
    ArticleEdited,
    AssignmentNoticed,
    CommentAdded,
    PersonInvited,
    PolicyChanged,
    ReviewerAssigned,
    RosterChanged,
    ThreadActivity,
)
from review_flow.notifications import account_mail, assignment_mail, board, hooks, thread_mail


def dispatch(session: Session, events: Sequence[Any]) -> None:
    """Queue what each event sends, in the order the events happened."""
    for ev in events:
        if isinstance(ev, ActionTaken):
            hooks.action_mail(session, ev)
        elif isinstance(ev, ActionAudited):
            hooks.action_webhooks(session, ev)
        elif isinstance(ev, ArticleEdited):
            hooks.article_edited(session, ev)
        elif isinstance(ev, ArticleCreated):
            hooks.article_created(session, ev)
        elif isinstance(ev, PolicyChanged):
            hooks.policy_changed(session, ev)
        elif isinstance(ev, RosterChanged):
            board.roster_changed(session, ev)
        elif isinstance(ev, PersonInvited):
            account_mail.queue_invitation(session, ev)
        elif isinstance(ev, ReviewerAssigned):
            assignment_mail.queue_assigned(session, ev)
        elif isinstance(ev, AssignmentNoticed):
            assignment_mail.queue_notice(session, ev)
        elif isinstance(ev, ThreadActivity):
            thread_mail.queue(session, ev)
        elif isinstance(ev, CommentAdded):
            pass  # comments notify nobody (the author sees them on the article's page)
        else:
            raise TypeError(f"no dispatcher for domain event {type(ev).__name__}")
