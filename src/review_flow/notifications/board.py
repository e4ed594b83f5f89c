"""The board roster on the editorial-policy page: tell the CDN when it may read differently.

The page is rendered fresh for each request (its ETag is the hash of what it shows), so
the app itself keeps no stale copy; a CDN in front may keep one for ``s-maxage``. A
change to a board member (added, renamed, credentials, specialties, verification,
deactivated) therefore records a ``RosterChanged`` event, which the dispatcher turns
into one ``page.changed`` for ``/editorial-policy`` to each endpoint that chose that
event, in the transaction of the change.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from review_flow.domain_events import RosterChanged
from review_flow.notifications.webhooks import PAGE_CHANGED, subscribed
from review_flow.outbox.service import enqueue_many
from review_flow.timeutil import isoformat, utcnow
from review_flow.unit_of_work import record
from review_flow.users.models import User

BOARD_PATHS = ["/editorial-policy"]


def record_change(session: Session, changed_by: User | None, user_id: int) -> None:
    """Note that board member ``user_id`` changed; the purge is queued before the commit."""
    record(session, RosterChanged(changed_by, user_id, utcnow()))


def roster_changed(session: Session, ev: RosterChanged) -> None:
    """One ``page.changed`` per subscribed endpoint naming the editorial-policy page."""
    hooks = subscribed(session, PAGE_CHANGED)
    if not hooks:
        return
    now = ev.at
    data = {
        "cause": "user.update",
        "scope": "site",
        "paths": BOARD_PATHS,
        "user_id": ev.user_id,
        "actor": {"id": ev.changed_by.id, "name": ev.changed_by.name} if ev.changed_by
        else None,
    }
    rows = []
    for hook in hooks:
        mid = str(uuid.uuid4())
        rows.append({
            "channel": "webhook", "kind": PAGE_CHANGED, "recipient": hook.url,
            "webhook_id": hook.id, "message_id": mid,
            "payload": {"id": mid, "type": PAGE_CHANGED, "created_at": isoformat(now),
                        "data": data},
        })
    enqueue_many(session, rows, now=now)
