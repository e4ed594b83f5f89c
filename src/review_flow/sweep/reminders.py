"""Reminders, escalations and lapsed invitations: the sweep's steps over review
assignments. Each sends one notice (``rounds/notices.py``), a record unique per
assignment and kind, so it goes out once, ever.

- ``response_reminder`` / ``review_reminder``: ``reminder_days_before`` days before the
  answer (invited) or review (accepted) is due, and only before it (0 turns them off);
- ``response_overdue`` / ``review_overdue``: once, after that date has passed;
- ``escalation``: an accepted review ``escalate_days_after`` days past due, to the editors;
- ``lapsed``: an invitation unanswered ``invitation_expiry_days`` after it was sent is
  cancelled, and the reviewer and the editors are told.

The timing is the policy in force when the sweep runs: reminders are how the office
works today, while the due dates themselves were fixed on the assignment, from the
round's policy, when it was made. Each item is re-checked under locks (the article, then
the assignment, as every writer takes them; on PostgreSQL ``SKIP LOCKED``, so a second
sweep passes over what the first holds and later finds the notice recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.orm import Session

from review_flow.actor import SystemActor
from review_flow.articles.models import Article
from review_flow.policy import service as policy_service
from review_flow.policy.models import PolicySettings
from review_flow.rounds import notices
from review_flow.rounds.models import INVITED_SQL, OPEN_SQL, Assignment
from review_flow.sweep.steps import Item
from review_flow.timeutil import UTCDateTime, utcnow

_START = (datetime(1, 1, 1, tzinfo=UTC), 0)
# The partial indexes' conditions word for word, so SQLite uses them.
_INVITED = text(INVITED_SQL.replace("state", "review_assignments.state", 1))
_OPEN = text(OPEN_SQL.replace("state", "review_assignments.state", 1))
_ACCEPTED = text("review_assignments.state = 'accepted'")


class _AssignmentStep:
    """One kind of notice. Subclasses say which assignments are due for it, by one date
    column and a window [``since``, ``until``] computed from the policy and ``now``."""

    name: str
    done_verb = "sent"
    kind: str
    state: str

    def column(self) -> Any:
        raise NotImplementedError

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        """(earliest, latest) due dates that are due as of ``now``; None: the step is off.
        The earliest is exclusive, the latest inclusive."""
        raise NotImplementedError

    def days_after(self, policy: PolicySettings) -> int | None:
        return None

    def _state_terms(self) -> list[Any]:
        return [_INVITED] if self.state == "invited" else [_OPEN, _ACCEPTED]

    def due(self, session: Session, now: datetime, *, after: tuple[Any, ...] | None,
            limit: int) -> Sequence[Item]:
        _, policy = policy_service.active_policy(session)
        window = self.window(policy, now)
        if window is None:
            return []
        since, until = window
        after_at, after_id = after or _START
        col = self.column()
        rows = session.execute(
            select(Assignment.id, Assignment.article_id, col.label("due"))
            .where(*self._state_terms(), col > bindparam("since", type_=UTCDateTime),
                   col <= bindparam("until", type_=UTCDateTime),
                   tuple_(col, Assignment.id)
                   > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
                   notices.not_sent(self.kind))
            .order_by(col, Assignment.id)
            .limit(limit),
            {"since": since, "until": until, "after_at": after_at, "after_id": after_id})
        return [Item(r.id, (r.due, r.id), f"assignment {r.id} (article {r.article_id})")
                for r in rows]

    def _locked(self, session: Session, assignment_id: int) -> Assignment | None:
        """The assignment under its article's lock and its own, or None when another
        sweep (or a person) holds either: that one finishes the item."""
        article_id = session.scalar(
            select(Assignment.article_id).where(Assignment.id == assignment_id))
        if article_id is None:
            return None
        locked = session.scalar(select(Article.id).where(Article.id == article_id)
                                .with_for_update(skip_locked=True))
        if locked is None:
            return None
        return session.scalars(
            select(Assignment).where(Assignment.id == assignment_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)).one_or_none()

    def apply(self, session: Session, actor: SystemActor, item: Item, now: datetime) -> bool:
        _, policy = policy_service.active_policy(session)
        window = self.window(policy, now)
        a = self._locked(session, item.id)
        if window is None or a is None or a.state != self.state:
            return False
        due_at = self.due_of(a)
        since, until = window
        if not since < due_at <= until or notices.already_sent(session, a.id, self.kind):
            return False
        self.act(session, a)
        notices.send(session, actor, a, self.kind, due_at=due_at, as_of=now,
                     days_after=self.days_after(policy))
        return True

    def due_of(self, a: Assignment) -> datetime:
        raise NotImplementedError

    def act(self, session: Session, a: Assignment) -> None:
        """What the notice changes besides being recorded (a lapsed invitation)."""


class _ResponseDate(_AssignmentStep):
    state = "invited"

    def column(self) -> Any:
        return Assignment.response_due

    def due_of(self, a: Assignment) -> datetime:
        return a.response_due


class _ReviewDate(_AssignmentStep):
    state = "accepted"

    def column(self) -> Any:
        return Assignment.review_due

    def due_of(self, a: Assignment) -> datetime:
        return a.review_due


def _before(policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
    days = policy.reminder_days_before
    return None if days == 0 else (now, now + timedelta(days=days))


class ResponseReminder(_ResponseDate):
    name = "answer reminders"
    kind = "response_reminder"

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return _before(policy, now)


class ResponseOverdue(_ResponseDate):
    name = "answer overdue reminders"
    kind = "response_overdue"

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return (_START[0], now)


class ReviewReminder(_ReviewDate):
    name = "review reminders"
    kind = "review_reminder"

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return _before(policy, now)


class ReviewOverdue(_ReviewDate):
    name = "review overdue reminders"
    kind = "review_overdue"

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return (_START[0], now)


class Escalation(_ReviewDate):
    name = "escalations"
    done_verb = "escalated to the editors"
    kind = "escalation"

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return (_START[0], now - timedelta(days=policy.escalate_days_after))

    def days_after(self, policy: PolicySettings) -> int | None:
        return policy.escalate_days_after


class LapsedInvitation(_AssignmentStep):
    """An invitation to review nobody answered within ``invitation_expiry_days`` of its
    sending: cancelled, so the round no longer waits on it and the editors ask another."""

    name = "lapsed review invitations"
    done_verb = "cancelled"
    kind = "lapsed"
    state = "invited"

    def column(self) -> Any:
        return Assignment.created_at

    def due_of(self, a: Assignment) -> datetime:
        return a.created_at

    def window(self, policy: PolicySettings, now: datetime) -> tuple[datetime, datetime] | None:
        return (_START[0], now - timedelta(days=policy.invitation_expiry_days))

    def days_after(self, policy: PolicySettings) -> int | None:
        return policy.invitation_expiry_days

    def act(self, session: Session, a: Assignment) -> None:
        a.state, a.updated_at = "cancelled", utcnow()
        a.reason = "The invitation lapsed: no answer in time."
        session.flush()


def steps() -> list[_AssignmentStep]:
    """In order: a lapsed invitation is cancelled before it could be reminded again."""
    return [LapsedInvitation(), ResponseReminder(), ResponseOverdue(), ReviewReminder(),
            ReviewOverdue(), Escalation()]

