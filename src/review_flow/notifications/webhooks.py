"""Webhook endpoints: registering them, and signing what is sent to them.

Deliveries follow the Standard Webhooks specification (standardwebhooks.com), so a
receiver verifies them with any of its libraries: headers ``webhook-id`` (the outbox
message id, the same on every retry: receivers drop duplicates by it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature: v1,<base64>``, the
HMAC-SHA256 of ``"<id>.<timestamp>.<body>"`` keyed with the base64-decoded part of the
``whsec_...`` secret. After an admin gives an endpoint a new secret, the header carries
one signature per secret in force, space-separated, newest first, until the old
secret's grace period ends.

The headers before the standard ones (``X-Review-Flow-Id``, ``-Timestamp`` and
``-Signature: v1=<hex HMAC-SHA256(whole secret text, "<timestamp>.<body>")>``,
comma-separated during a roll) are still sent beside them while
``REVIEW_FLOW_WEBHOOK_LEGACY_HEADERS`` is on (the default), so receivers written for
them keep working; secrets generated before the standard ones (``whsec_`` + url-safe
text, or typed by an admin) are not Standard Webhooks keys and sign only those legacy
headers until the endpoint is given a new secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.audit.models import AuditEvent
from review_flow.errors import NotFound, invalid
from review_flow.notifications.egress import EgressPolicy
from review_flow.notifications.events import PAGE_CHANGED, WEBHOOK_EVENTS
from review_flow.notifications.models import Webhook
from review_flow.notifications.secret_box import KeyMissing, SecretBox
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.timeutil import isoformat, utcnow
from review_flow.users.models import User

# Standard Webhooks.
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# The specification's bounds for the decoded key; we generate 32 bytes.
KEY_BYTES_MIN, KEY_BYTES_MAX, KEY_BYTES_NEW = 24, 64, 32
SECRET_RULE = (
    "a Standard Webhooks secret: whsec_ followed by the base64 of 24 to 64 random bytes "
    "(leave it out to have one generated)"
)
# Before Standard Webhooks; sent beside the standard headers while the setting is on.
LEGACY_HEADERS_SETTING = "REVIEW_FLOW_WEBHOOK_LEGACY_HEADERS"
SIGNATURE_HEADER = "X-Review-Flow-Signature"
TIMESTAMP_HEADER = "X-Review-Flow-Timestamp"
ID_HEADER = "X-Review-Flow-Id"
SIGNATURE_VERSION = "v1"
# Sent with every delivery: lets a receiver route before parsing the body.
EVENT_HEADER = "X-Review-Flow-Event"
# How long a rolled secret keeps signing beside the new one, by default and at most.
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES_NEW)).decode()


def standard_key(secret: str) -> bytes | None:
    """The HMAC key of a Standard Webhooks secret (its base64 part, decoded), or None
    for a secret that is not one (made before them, or typed free-form)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if KEY_BYTES_MIN <= len(key) <= KEY_BYTES_MAX else None


def sign_standard(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``webhook-signature`` entry: ``v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac.digest()).decode()}"


def standard_signature_header(
    secrets_in_force: list[str], msg_id: str, timestamp: int, body: bytes
) -> str | None:
    """The ``webhook-signature`` value: one entry per standard secret in force, newest
    first, space-separated; None when none of them is a Standard Webhooks secret."""
    keys = [k for k in map(standard_key, secrets_in_force) if k is not None]
    if not keys:
        return None
    return " ".join(sign_standard(k, msg_id, timestamp, body) for k in keys)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy signature: ``v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>``, keyed with
    the whole secret text."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: datetime | None = None,
    tolerance_s: int = 300,
) -> bool:
    """What a receiver of the legacy headers does (new receivers use a Standard Webhooks
    library instead; the tests check both independently).

    The header holds one signature, or two separated by a comma while a rolled secret
    is still in its grace period: accept the delivery when any of them matches."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    now_ts = int((now or utcnow()).timestamp())
    if abs(now_ts - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


def signature_header(secrets_in_force: list[str], timestamp: int, body: bytes) -> str:
    """The legacy header value: a signature per secret in force, newest first."""
    return ",".join(sign(s, timestamp, body) for s in secrets_in_force)


@dataclass(frozen=True)
class WebhookConfig:
    """What registering and delivering need from the configuration: where deliveries
    may go, and the keys that seal signing secrets (built lazily: a command that
    never touches a secret runs without one)."""

    egress: EgressPolicy
    _box: SecretBox | None = None
    _box_missing: str = "no key configured"
    # Send the pre-standard X-Review-Flow-* signature headers too (receivers migrating).
    legacy_headers: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookConfig:
        """Raises ValueError for a malformed setting; a missing key waits for its use."""
        egress = EgressPolicy.from_config(config)
        legacy = _flag(config.get("WEBHOOK_LEGACY_HEADERS", True), LEGACY_HEADERS_SETTING)
        try:
            return cls(egress, SecretBox.from_config(config), legacy_headers=legacy)
        except KeyMissing as exc:
            return cls(egress, None, str(exc), legacy_headers=legacy)

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            raise KeyMissing(self._box_missing)
        return self._box


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{name}: expected 1 or 0 (on or off), not {value!r}")


def _clean_url(url: str, egress: EgressPolicy) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise invalid("url", "must be an http(s) URL",
                      "Enter the webhook's address as an http:// or https:// URL.")
    egress.check_url(url)
    return url


def _clean_secret(secret: str | None) -> str:
    """The given secret, checked to be a Standard Webhooks one, or a new random one."""
    if not secret:
        return new_secret()
    if standard_key(secret) is None:
        raise invalid("secret", f"must be {SECRET_RULE}",
                      f"The signing secret must be {SECRET_RULE}.")
    return secret


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen:
        raise invalid("events", "required", "Choose at least one event kind.")
    unknown = [e for e in chosen if e not in WEBHOOK_EVENTS and e != "*"]
    if unknown:
        raise invalid("events", f"unknown: {', '.join(unknown)}",
                      f"“{unknown[0]}” is not an event kind; choose from "
                      f"{', '.join(WEBHOOK_EVENTS)}, or * for all of them.")
    return ["*"] if "*" in chosen else chosen


@dataclass(frozen=True)
class Registered:
    """A new endpoint and its secret in plain text: to show once, never to store."""

    webhook: Webhook
    secret: str


def create_webhook(
    session: Session,
    config: WebhookConfig,
    *,
    url: str,
    events: Iterable[str],
    description: str | None = None,
    secret: str | None = None,
    created_by: User | None = None,
    context: RequestContext | None = None,
) -> Registered:
    """Register an endpoint. The secret is generated unless given; show it once."""
    url = _clean_url(url, config.egress)
    chosen = _clean_events(events)
    secret = _clean_secret(secret)
    hook = Webhook(
        url=url,
        events=chosen,
        description=(description or "").strip()[:200] or None,
        secret_sealed=config.box.seal(secret),
        active=True,
        created_at=utcnow(),
        created_by_id=created_by.id if created_by else None,
    )
    session.add(hook)
    session.flush()
    event = audit.record(
        session,
        **audit.actor_of(created_by),
        action="webhook.create",
        object_type="webhook",
        object_id=hook.id,
        context=context,
        data={"url": url, "events": chosen},
    )
    hook.changed_seq = event.seq
    session.flush()
    return Registered(hook, secret)


def update_webhook(
    session: Session,
    config: WebhookConfig,
    webhook_id: int,
    *,
    active: bool | None = None,
    events: Iterable[str] | None = None,
    url: str | None = None,
    by: User | None = None,
    context: RequestContext | None = None,
) -> Webhook:
    hook = get_webhook(session, webhook_id)
    changes: dict[str, object] = {}
    if active is not None and active != hook.active:
        hook.active = active
        changes["active"] = active
    if events is not None:
        chosen = _clean_events(events)
        if chosen != hook.events:
            hook.events = chosen
            changes["events"] = chosen
    if url is not None:
        cleaned = _clean_url(url, config.egress)
        if cleaned != hook.url:
            hook.url = cleaned
            changes["url"] = cleaned
    if changes:
        _record_change(session, hook, changes, by=by, context=context)
    return hook


def _record_change(
    session: Session,
    hook: Webhook,
    changes: dict[str, object],
    *,
    by: User | None,
    context: RequestContext | None,
) -> None:
    """The ``webhook.update`` event; its seq marks the endpoint changed (``changed_seq``),
    which tells every process its cached endpoints are stale."""
    hook.changed_seq = audit.record(
        session,
        **audit.actor_of(by),
        action="webhook.update",
        object_type="webhook",
        object_id=hook.id,
        context=context,
        data=changes,
    ).seq
    session.flush()


def roll_secret(
    session: Session,
    config: WebhookConfig,
    webhook_id: int,
    *,
    secret: str | None = None,
    grace: timedelta = DEFAULT_GRACE,
    by: User | None = None,
    context: RequestContext | None = None,
) -> Registered:
    """Give an endpoint a new signing secret (routine rotation, or a leak): generated
    unless given, shown once. For ``grace`` the old secret signs too (each delivery
    carries both signatures), so the receiver switches without refusing anything;
    after a leak, pass no grace and the old secret stops at once."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        limit = f"0 to {MAX_GRACE // timedelta(hours=1)} hours"
        raise invalid("grace_hours", limit, f"The old secret can keep signing for {limit}, "
                      "no more.")
    hook = get_webhook(session, webhook_id)
    secret = _clean_secret(secret)
    now = utcnow()
    if grace:
        hook.previous_secret_sealed = hook.secret_sealed
        hook.previous_secret_until = now + grace
    else:
        hook.previous_secret_sealed = hook.previous_secret_until = None
    hook.secret_sealed = config.box.seal(secret)
    changes: dict[str, object] = {
        "secret": "replaced", "previous_signs_until": isoformat(hook.previous_secret_until)
    }
    _record_change(session, hook, changes, by=by, context=context)
    return Registered(hook, secret)


def reseal_secrets(session: Session, config: WebhookConfig) -> int:
    """Re-encrypt every stored secret under the first configured key (key rotation);
    returns how many. One transaction: a secret that cannot be opened stops it all."""
    hooks = list(session.scalars(select(Webhook).order_by(Webhook.id)))
    for hook in hooks:
        hook.secret_sealed = config.box.reseal(hook.secret_sealed)
        if hook.previous_secret_sealed:
            hook.previous_secret_sealed = config.box.reseal(hook.previous_secret_sealed)
    session.flush()
    return len(hooks)


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(f"Webhook {webhook_id} does not exist.", webhook_id=webhook_id)
    return hook


def list_webhooks(session: Session, *, after_id: int | None = None, limit: int | None = None
                  ) -> list[Webhook]:
    """Endpoints oldest first, from the one after ``after_id`` (a page, keyset on the id)."""
    stmt = select(Webhook).order_by(Webhook.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Webhook.id > after_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Subscription:
    """What the notifier needs of an active endpoint (the secret is read at delivery)."""

    id: int
    url: str
    events: frozenset[str]

    def wants(self, event: str) -> bool:
        return event in self.events or ("*" in self.events and event != PAGE_CHANGED)


# Per process and database URL: (generation, active endpoints). The generation is the
# hash of the audit event that last registered or changed an endpoint: unique to that
# change even across databases restored or recreated under one URL (tests do that).
_cache: dict[str, tuple[str | None, tuple[Subscription, ...]]] = {}
# "Not read by the caller": look the endpoints up.
GENERATION_UNKNOWN = "unknown"


def generation_query() -> Any:
    """A scalar subquery for a statement that runs anyway: it changes whenever an
    endpoint is registered or changed (NULL while there are none), so it validates
    ``subscriptions``' cache at no extra statement."""
    last = select(func.max(Webhook.changed_seq)).scalar_subquery()
    return select(AuditEvent.hash).where(AuditEvent.seq == last).scalar_subquery()


_ALL_HOOKS = select(
    Webhook.id, Webhook.url, Webhook.events, Webhook.active, generation_query().label("gen")
)


def subscriptions(
    session: Session, generation: str | None = GENERATION_UNKNOWN
) -> tuple[Subscription, ...]:
    """The active endpoints: from the cache when ``generation`` (read in the caller's
    transaction with ``generation_query``) says it is current, else in one query that
    refreshes the cache."""
    key = str(session.get_bind().engine.url)
    cached = _cache.get(key)
    if generation != GENERATION_UNKNOWN and cached is not None and cached[0] == generation:
        return cached[1]
    rows = session.execute(_ALL_HOOKS).all()
    subs = tuple(Subscription(r.id, r.url, frozenset(r.events)) for r in rows if r.active)
    _cache[key] = (rows[0].gen if rows else None, subs)
    return subs


def subscribed(
    session: Session, event: str, generation: str | None = GENERATION_UNKNOWN
) -> list[Subscription]:
    """Active endpoints that want ``event``."""
    return [h for h in subscriptions(session, generation) if h.wants(event)]


def deliveries(
    session: Session, webhook_id: int, *, limit: int = 50, before_id: int | None = None
) -> list[tuple[OutboxMessage, list[OutboxAttempt]]]:
    """The newest messages for one endpoint with every attempt and its response."""
    get_webhook(session, webhook_id)
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.webhook_id == webhook_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(OutboxMessage.id < before_id)
    messages = list(session.scalars(stmt))
    from review_flow.outbox.service import attempts_for

    attempts = attempts_for(session, [m.id for m in messages])
    return [(m, attempts[m.id]) for m in messages]
