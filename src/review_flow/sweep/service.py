"""One sweep run: the default steps, the system actor, the instant it judges by."""

from __future__ import annotations

import uuid
from datetime import datetime

from review_flow.actor import SystemActor
from review_flow.audit.log import RequestContext
from review_flow.db import Database
from review_flow.sweep import reminders
from review_flow.sweep.invitations import ExpiredInvitationLinks
from review_flow.sweep.rereview import ReReview
from review_flow.sweep.steps import BATCH, Step, SweepReport, run
from review_flow.sweep.workers import can_share, run_shared
from review_flow.timeutil import utcnow


def default_steps() -> list[Step]:
    """The steps a plain ``review-flow sweep`` runs, in order."""
    return [ReReview(), ExpiredInvitationLinks(), *reminders.steps()]


def sweep(db: Database, now: datetime | None = None, *, client_addr: str | None = "cli",
          steps: list[Step] | None = None, batch: int = BATCH,
          workers: int = 1) -> SweepReport:
    """Run the sweep as of ``now`` (default: the real time). Every event of one run shares
    a request id, so the audit log groups them. ``workers`` > 1 shares the items among
    that many forked processes on PostgreSQL (``sweep/workers.py``); SQLite, or a system
    that cannot fork, uses one."""
    actor = SystemActor(context=RequestContext(request_id=uuid.uuid4().hex,
                                               client_addr=client_addr))
    chosen = steps if steps is not None else default_steps()
    if workers > 1 and can_share(db):
        return run_shared(db, now or utcnow(), chosen, actor, workers=workers, batch=batch)
    return run(db, now or utcnow(), chosen, actor, batch=batch)
