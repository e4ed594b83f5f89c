"""Expired invitation links: an account invitation (``users/invitations.py``) whose link
lapsed unused is recorded as expired (``expired_at``) with a ``user.invitation_expire``
event, so the people page and the audit log say so rather than leaving an "open" link
that merely stopped working. The link itself was already refused from its expiry on;
from the record on it is refused whatever the clock says.

The lifetime is the one the link was sent with (``REVIEW_FLOW_INVITATION_DAYS``, fixed
in ``expires_at``): a link's life is a promise made in its e-mail, not a policy that a
later change should shorten. The row is changed by a conditional UPDATE (still open), so
a person accepting the link at that moment and the sweep cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_, update
from sqlalchemy.orm import Session

from review_flow.actor import SystemActor
from review_flow.audit import log as audit
from review_flow.sweep.steps import Item
from review_flow.timeutil import UTCDateTime, isoformat
from review_flow.users.invitations import OPEN_SQL, Invitation
from review_flow.users.models import User

_START = (datetime(1, 1, 1, tzinfo=UTC), 0)
_OPEN = text(OPEN_SQL.replace("used_at", "user_invitations.used_at", 1)
             .replace("revoked_at", "user_invitations.revoked_at", 1)
             .replace("expired_at", "user_invitations.expired_at", 1))

DUE = (
    select(Invitation.id, Invitation.user_id, Invitation.expires_at)
    .where(
        _OPEN,
        Invitation.expires_at <= bindparam("now", type_=UTCDateTime),
        tuple_(Invitation.expires_at, Invitation.id)
        > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id")),
    )
    .order_by(Invitation.expires_at, Invitation.id)
    .limit(bindparam("limit"))
)


class ExpiredInvitationLinks:
    name = "expired invitation links"
    done_verb = "recorded as expired"

    def due(self, session: Session, now: datetime, *, after: tuple[Any, ...] | None,
            limit: int) -> Sequence[Item]:
        after_at, after_id = after or _START
        rows = session.execute(
            DUE, {"now": now, "after_at": after_at, "after_id": after_id, "limit": limit})
        return [Item(r.id, (r.expires_at, r.id), f"invitation {r.id} (user {r.user_id})")
                for r in rows]

    def apply(self, session: Session, actor: SystemActor, item: Item, now: datetime) -> bool:
        expired = session.execute(
            update(Invitation)
            .where(Invitation.id == item.id, _OPEN, Invitation.expires_at <= now)
            .values(expired_at=now)
            .returning(Invitation.user_id, Invitation.expires_at)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if expired is None:  # used, replaced or recorded meanwhile
            return False
        email = session.scalar(select(User.email).where(User.id == expired.user_id))
        audit.record(
            session, actor_id=None, actor_name=actor.name, action="user.invitation_expire",
            object_type="user", object_id=expired.user_id, context=actor.context,
            data={"email": email, "invitation": item.id,
                  "expires_at": isoformat(expired.expires_at), "as_of": isoformat(now)},
        )
        return True
