"""``review-flow outbox deliver``: send what is due, retry failures with backoff.

Claiming is a lease, taken in a short transaction: due rows are selected (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so deliverers running at once pick disjoint rows without
waiting on each other; SQLite's write lock serializes the claim), their ``available_at``
moves one lease into the future and a fresh ``claim_token`` is stamped on them. Sending
happens outside any transaction, so no database lock is held during network I/O. The
result is written back only if the claim is still ours.

Guarantees: at-least-once delivery (a deliverer that dies mid-send leaves the lease to
expire and the message is sent again; receivers drop duplicates by the message id), and
no message is sent by two deliverers at the same time as long as a send finishes within
the lease (a webhook exchange is cut off after 3 times its timeout, 30 s by default, and SMTP
waits are bounded by its timeout; the lease is 5 minutes).

Before claiming, due audience rows (one e-mail to the board's reviewers) are expanded into
one e-mail row per reviewer, chosen at that moment (``outbox/expand.py``).

Time comes from an injectable clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from review_flow.db import Database
from review_flow.notifications.models import Webhook
from review_flow.notifications.secret_box import KeyMissing
from review_flow.notifications.webhooks import WebhookConfig
from review_flow.outbox.expand import expand_due
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.outbox.transports import (
    Claimed,
    Outcome,
    SmtpSettings,
    SmtpTransport,
    Transport,
    WebhookTransport,
    monotonic_ms,
)
from review_flow.timeutil import utcnow
from review_flow.users.models import User

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class DeliverySettings:
    max_attempts: int = 10
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 6 * 3600.0
    lease_s: float = 300.0
    batch: int = 20
    # Audience rows expanded per transaction (one night's sweep fits in one), and how
    # long a burst of them must have been quiet first, within a maximum wait.
    expand_batch: int = 5000
    digest_quiet_s: float = 10.0
    digest_max_wait_s: float = 300.0
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    webhook_timeout_s: float = 10.0
    # Keys to open signing secrets and where deliveries may go; without it webhook
    # messages wait (retried) and say why.
    webhooks: WebhookConfig | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """From Flask config (``REVIEW_FLOW_SMTP_HOST`` → ``SMTP_HOST`` ...)."""

        def num(key: str, default: float) -> float:
            raw = config.get(key)
            return default if raw in (None, "") else float(raw)

        tls = str(config.get("SMTP_TLS") or "starttls").lower()
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"REVIEW_FLOW_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
        return cls(
            max_attempts=int(num("OUTBOX_MAX_ATTEMPTS", 10)),
            backoff_base_s=num("OUTBOX_BACKOFF_BASE", 30.0),
            backoff_cap_s=num("OUTBOX_BACKOFF_CAP", 6 * 3600.0),
            lease_s=num("OUTBOX_LEASE", 300.0),
            batch=int(num("OUTBOX_BATCH", 20)),
            expand_batch=int(num("OUTBOX_EXPAND_BATCH", 5000)),
            digest_quiet_s=num("OUTBOX_DIGEST_QUIET", 10.0),
            digest_max_wait_s=num("OUTBOX_DIGEST_MAX_WAIT", 300.0),
            webhook_timeout_s=num("WEBHOOK_TIMEOUT", 10.0),
            webhooks=WebhookConfig.from_config(config),
            smtp=SmtpSettings(
                host=str(config.get("SMTP_HOST") or "localhost"),
                port=int(num("SMTP_PORT", {"ssl": 465, "starttls": 587}.get(tls, 25))),
                tls=tls,
                username=config.get("SMTP_USERNAME") or None,
                password=config.get("SMTP_PASSWORD") or None,
                timeout=num("SMTP_TIMEOUT", 30.0),
                mail_from=str(config.get("MAIL_FROM") or "review-flow@localhost"),
                base_url=str(config.get("BASE_URL") or ""),
                ca_file=config.get("SMTP_CA_FILE") or None,
            ),
        )

    def backoff(self, attempt: int) -> timedelta:
        """Delay after the ``attempt``-th failure: base · 2^(attempt-1), capped."""
        return timedelta(
            seconds=min(self.backoff_base_s * 2 ** max(attempt - 1, 0), self.backoff_cap_s)
        )


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    cancelled: int = 0
    lost_claims: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.dead

    def add(self, other: Report) -> None:
        for f in ("sent", "retrying", "dead", "cancelled", "lost_claims"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


class Deliverer:
    def __init__(
        self,
        db: Database,
        settings: DeliverySettings | None = None,
        *,
        clock: Clock = utcnow,
        transports: Mapping[str, Transport] | None = None,
        on_claim_selected: Callable[[list[int]], None] | None = None,
        on_expand_selected: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or DeliverySettings()
        self.clock = clock
        self.transports: Mapping[str, Transport] = transports or {
            "email": SmtpTransport(self.settings.smtp, open_sealed=self._open_sealed),
            "webhook": WebhookTransport(self.settings.webhooks, self.settings.webhook_timeout_s),
        }
        # Test seam: called inside the claim transaction, rows selected but not yet taken.
        self.on_claim_selected = on_claim_selected
        # The same inside the expansion transaction (``outbox/expand.py``).
        self.on_expand_selected = on_expand_selected

    def _open_sealed(self, sealed: str) -> str:
        """Open a sealed payload value (an invitation's link) with the configured keys."""
        if self.settings.webhooks is None:
            raise KeyMissing("no key configuration given to the deliverer")
        return self.settings.webhooks.box.open(sealed)

    # --- expanding and claiming -----------------------------------------------------

    def expand(self) -> int:
        """Turn the due audience rows into e-mail rows, a batch per transaction; returns
        how many audience rows were expanded."""
        s = self.settings
        done = 0
        while True:
            n = expand_due(self.db, self.clock(), batch=s.expand_batch,
                           quiet_s=s.digest_quiet_s, max_wait_s=s.digest_max_wait_s,
                           on_selected=self.on_expand_selected)
            done += n
            if n < s.expand_batch:
                return done

    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Take up to ``limit`` due messages on a lease; commits before returning."""
        limit = limit or self.settings.batch
        now = self.clock()
        token = str(uuid.uuid4())
        with self.db.transaction() as session:
            stmt = (
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(session.scalars(stmt))
            if self.on_claim_selected is not None:
                self.on_claim_selected(ids)
            if not ids:
                return []
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(
                    available_at=now + timedelta(seconds=self.settings.lease_s),
                    claim_token=token,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(
                select(
                    OutboxMessage,
                    Webhook.secret_sealed,
                    Webhook.previous_secret_sealed,
                    Webhook.previous_secret_until,
                    Webhook.active,
                    User.name,
                )
                .outerjoin(Webhook, Webhook.id == OutboxMessage.webhook_id)
                .outerjoin(User, User.id == OutboxMessage.user_id)
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
            ).all()
            return [
                Claimed(
                    id=m.id,
                    message_id=m.message_id,
                    channel=m.channel,
                    kind=m.kind,
                    recipient=m.recipient,
                    # E-mails greet the recipient by the name they have now.
                    payload={**m.payload, "to_name": name} if name else m.payload,
                    attempt=m.attempts,
                    claim_token=token,
                    webhook_secret_sealed=secret,
                    # The rolled secret signs too while its grace period lasts.
                    webhook_previous_secret_sealed=(
                        previous if previous and until and until > now else None
                    ),
                    webhook_active=bool(active),
                )
                for m, secret, previous, until, active, name in rows
            ]

    # --- sending and recording ------------------------------------------------------

    def send(self, item: Claimed) -> Outcome | None:
        """The transport's outcome, or None when the message no longer should go out."""
        if item.channel == "webhook" and not item.webhook_active:
            return None
        transport = self.transports.get(item.channel)
        if transport is None:
            return Outcome(
                False, error=f"no transport for channel {item.channel!r}", permanent=True
            )
        return transport.send(item, int(self.clock().timestamp()))

    def finish(self, item: Claimed, outcome: Outcome | None, duration_ms: int) -> str:
        """Write the result if the claim is still ours; returns the new status."""
        now = self.clock()
        values: dict[str, Any]
        if outcome is None:
            status, values = "cancelled", {"status": "cancelled", "last_error": "webhook disabled"}
        elif outcome.ok:
            status, values = "sent", {"status": "sent", "sent_at": now, "last_error": None}
        elif outcome.permanent or item.attempt >= self.settings.max_attempts:
            status, values = "dead", {"status": "dead", "last_error": outcome.error}
        else:
            status = "retrying"
            values = {
                "available_at": now + self.settings.backoff(item.attempt),
                "last_error": outcome.error,
            }
        with self.db.transaction() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == item.id, OutboxMessage.claim_token == item.claim_token)
                .values(claim_token=None, **values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                log.warning(
                    "outbox message %s: lease lost before the result was recorded", item.message_id
                )
                return "lost"
            if outcome is not None:
                self._log_attempt(session, item, outcome, now, duration_ms)
        return status

    @staticmethod
    def _log_attempt(
        session: Session, item: Claimed, outcome: Outcome, now: datetime, duration_ms: int
    ) -> None:
        session.add(
            OutboxAttempt(
                message_id=item.id,
                attempt=item.attempt,
                at=now,
                ok=outcome.ok,
                status_code=outcome.status_code,
                response=outcome.response,
                error=outcome.error,
                duration_ms=duration_ms,
            )
        )

    def release(self, items: list[Claimed]) -> None:
        """Give back claimed messages not sent (a deliverer told to stop): due again at
        once for another deliverer, instead of waiting for the lease to run out."""
        if not items:
            return
        with self.db.transaction() as session:
            for item in items:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == item.id,
                           OutboxMessage.claim_token == item.claim_token)
                    .values(claim_token=None, available_at=self.clock(),
                            attempts=OutboxMessage.attempts - 1)
                    .execution_options(synchronize_session=False)
                )

    def run(
        self, *, max_messages: int | None = None, stop: threading.Event | None = None
    ) -> Report:
        """Deliver until nothing is due (or ``max_messages`` were handled, or ``stop`` is
        set: the message being sent is finished, the rest of the batch given back)."""
        self.expand()
        report = Report()
        handled = 0
        while max_messages is None or handled < max_messages:
            if stop is not None and stop.is_set():
                break
            want = (
                self.settings.batch
                if max_messages is None
                else min(self.settings.batch, max_messages - handled)
            )
            batch = self.claim(want)
            if not batch:
                break
            for n, item in enumerate(batch):
                if stop is not None and stop.is_set():
                    self.release(batch[n:])
                    return report
                started = monotonic_ms()
                outcome = self.send(item)
                status = self.finish(item, outcome, int(monotonic_ms() - started))
                handled += 1
                if status == "lost":
                    report.lost_claims += 1
                else:
                    setattr(report, status, getattr(report, status) + 1)
        return report
