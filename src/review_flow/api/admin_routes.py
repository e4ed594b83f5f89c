"""``/api/v1/me``, ``/tokens`` and ``/webhooks``: a person's own settings and the admin
operations the web admin pages offer too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from flask import current_app
from pydantic import BaseModel
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api import document, idempotency, pagination
from review_flow.api import schemas as s
from review_flow.api.blueprint import (
    INT_ID,
    bp,
    page,
    read,
    require,
    responses,
    spec,
    write,
)
from review_flow.app import webhook_config
from review_flow.notifications import preferences, webhooks
from review_flow.outbox import service as outbox
from review_flow.timeutil import isoformat, utcnow
from review_flow.tokens import service as tokens
from review_flow.tokens.models import ApiToken
from review_flow.users import service as users
from review_flow.users.roles import Role

# --- me, tokens, webhooks (admin operations a web admin page calls too) ---------------


@bp.get("/me")
@spec.validate(resp=responses(HTTP_200=s.Me), tags=["account"])
def get_me() -> Any:
    """Who the token acts as, and their e-mail notification settings."""

    def work(session: Session, actor: Actor) -> Any:
        return _me(session, actor)

    return read(work)


def _me(session: Session, actor: Actor) -> dict[str, Any]:
    u = actor.user
    return {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "roles": sorted(u.roles),
        "via_token": actor.via_token,
        "notifications": {"email": preferences.email_preferences(session, u.id)},
    }


@bp.put("/me/notifications")
@spec.validate(json=s.NotificationSettings, resp=responses(HTTP_200=s.Me), tags=["account"])
def set_notifications(json: s.NotificationSettings) -> Any:
    """Turn e-mail kinds on or off, e.g. ``{"email": {"review_requested": false}}``."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        changes = cast(BaseModel, json.email).model_dump(exclude_unset=True)
        preferences.set_email_preferences(session, actor.user, changes, context=actor.context)
        return idempotency.Stored(200, _me(session, actor), {})

    return write(work)


def _token_dict(t: ApiToken, plaintext: str | None = None) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "user": {"id": t.user.id, "name": t.user.name},
        "created_at": isoformat(t.created_at),
        "last_used_at": isoformat(t.last_used_at),
        "revoked_at": isoformat(t.revoked_at),
        "token": plaintext,
    }


@bp.get("/tokens")
@spec.validate(query=s.TokenQuery, resp=responses(HTTP_200=s.TokenList), tags=["admin"])
def list_tokens(query: s.TokenQuery) -> Any:
    """Tokens, oldest first, a page at a time: an admin sees all, anyone else their own.
    Secrets are never shown again."""
    after = pagination.decode(query.cursor, "tokens")

    def work(session: Session, actor: Actor) -> Any:
        owner = None if actor.has_role(Role.ADMIN) else actor.id
        rows = tokens.list_tokens(session, user_id=owner, after_id=after,
                                  limit=query.limit + 1)
        rows, cursor = page(rows, query.limit, "tokens", lambda t: t.id)
        return {"items": [_token_dict(t) for t in rows], "next_cursor": cursor}

    return read(work)


@bp.post("/tokens")
@document.sends(201, optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(
    json=s.TokenCreate,
    headers=s.IdempotentHeaders,
    resp=responses(HTTP_201=s.Token),
    tags=["admin"],
)
def create_token(json: s.TokenCreate) -> Any:
    """Create a token for a user (admins). The answer holds the secret, shown this once:
    a replay under the same Idempotency-Key answers with `token` null (it is not kept)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        require(actor, frozenset({Role.ADMIN}), "Creating tokens")
        user = users.get_by_email(session, json.user_email)
        new = tokens.create_token(
            session, user, name=json.name or "", created_by=actor.user, context=actor.context
        )
        return idempotency.Stored(
            201, _token_dict(new.token, new.plaintext), {}, shown_once=("token",)
        )

    return write(work, idempotent=True)


@bp.post(f"/tokens/<{INT_ID}:token_id>/revoke")
@spec.validate(resp=responses(HTTP_200=s.Token), tags=["admin"])
def revoke_token(token_id: int) -> Any:
    """Revoke a token (an admin, or the token's owner); it is refused from then on."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        token = tokens.revoke_token(session, token_id, by=actor.user, context=actor.context)
        return idempotency.Stored(200, _token_dict(token), {})

    return write(work)


def _webhook_dict(h: Any, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": h.id,
        "url": h.url,
        "description": h.description,
        "events": h.events,
        "active": h.active,
        "created_at": isoformat(h.created_at),
        "secret": secret,
        "previous_secret_signs_until": (
            isoformat(h.previous_secret_until)
            if h.previous_secret_until and h.previous_secret_until > utcnow()
            else None
        ),
    }


_ADMIN = frozenset({Role.ADMIN})


@bp.get("/webhooks")
@spec.validate(query=s.WebhookQuery, resp=responses(HTTP_200=s.WebhookList), tags=["admin"])
def list_webhooks(query: s.WebhookQuery) -> Any:
    """Registered webhook endpoints, oldest first, a page at a time (admins)."""
    after = pagination.decode(query.cursor, "webhooks")

    def work(session: Session, actor: Actor) -> Any:
        require(actor, _ADMIN, "Managing webhooks")
        rows = webhooks.list_webhooks(session, after_id=after, limit=query.limit + 1)
        rows, cursor = page(rows, query.limit, "webhooks", lambda h: h.id)
        return {"items": [_webhook_dict(h) for h in rows], "next_cursor": cursor}

    return read(work)


@bp.post("/webhooks")
@document.sends(201, optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(
    json=s.WebhookCreate,
    headers=s.IdempotentHeaders,
    resp=responses(HTTP_201=s.Webhook),
    tags=["admin"],
)
def create_webhook(json: s.WebhookCreate) -> Any:
    """Register an endpoint for some event kinds (admins). The answer holds the signing
    secret, shown this once: a replay under the same Idempotency-Key answers with `secret`
    null (it is not kept)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        require(actor, _ADMIN, "Managing webhooks")
        made = webhooks.create_webhook(
            session,
            webhook_config(current_app),
            url=json.url,
            events=json.events,
            description=json.description,
            secret=json.secret,
            created_by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(
            201, _webhook_dict(made.webhook, made.secret), {}, shown_once=("secret",)
        )

    return write(work, idempotent=True)


@bp.put(f"/webhooks/<{INT_ID}:webhook_id>")
@spec.validate(json=s.WebhookUpdate, resp=responses(HTTP_200=s.Webhook), tags=["admin"])
def update_webhook(webhook_id: int, json: s.WebhookUpdate) -> Any:
    """Change an endpoint's URL or events, or switch it off and on (admins)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        require(actor, _ADMIN, "Managing webhooks")
        hook = webhooks.update_webhook(
            session,
            webhook_config(current_app),
            webhook_id,
            active=json.active,
            events=json.events,
            url=json.url,
            by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(200, _webhook_dict(hook), {})

    return write(work)


@bp.post(f"/webhooks/<{INT_ID}:webhook_id>/secret")
@document.sends(200, optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(
    json=s.SecretRoll,
    headers=s.IdempotentHeaders,
    resp=responses(HTTP_200=s.Webhook),
    tags=["admin"],
)
def roll_webhook_secret(webhook_id: int, json: s.SecretRoll) -> Any:
    """Give an endpoint a new signing secret (admins), generated unless given. The answer
    holds it, shown this once (a replay under the same Idempotency-Key answers `secret`
    null). For `grace_hours` (default 24) deliveries carry the old secret's signature
    beside the new one, so the receiver can switch without refusing any; 0 ends the old
    secret at once (after a leak)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        require(actor, _ADMIN, "Managing webhooks")
        made = webhooks.roll_secret(
            session,
            webhook_config(current_app),
            webhook_id,
            secret=json.secret,
            grace=timedelta(hours=json.grace_hours),
            by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(
            200, _webhook_dict(made.webhook, made.secret), {}, shown_once=("secret",)
        )

    return write(work, idempotent=True)


@bp.post(f"/webhooks/<{INT_ID}:webhook_id>/redrive")
@spec.validate(resp=responses(HTTP_200=s.Redriven), tags=["admin"])
def redrive_webhook(webhook_id: int) -> Any:
    """Send an endpoint's dead deliveries again, with fresh attempts, once the receiver is
    fixed (admins). Repeating it is harmless: only dead deliveries are requeued."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        require(actor, _ADMIN, "Managing webhooks")
        webhooks.get_webhook(session, webhook_id)
        done = outbox.redrive(
            session, webhook_id=webhook_id, by=actor.user, context=actor.context
        )
        return idempotency.Stored(200, {"requeued": len(done)}, {})

    return write(work)


@bp.get(f"/webhooks/<{INT_ID}:webhook_id>/deliveries")
@spec.validate(
    query=s.DeliveryQuery, resp=responses(HTTP_200=s.DeliveryList), tags=["admin"]
)
def list_webhook_deliveries(webhook_id: int, query: s.DeliveryQuery) -> Any:
    """Deliveries to one endpoint, newest first, each attempt with the response (admins)."""
    before = pagination.decode(query.cursor, "deliveries")

    def work(session: Session, actor: Actor) -> Any:
        require(actor, _ADMIN, "Managing webhooks")
        rows = webhooks.deliveries(session, webhook_id, limit=query.limit + 1, before_id=before)
        rows, cursor = page(rows, query.limit, "deliveries", lambda r: r[0].id)
        return {
            "items": [
                {
                    "message_id": m.message_id,
                    "event": m.kind,
                    "status": m.status,
                    "created_at": isoformat(m.created_at),
                    "sent_at": isoformat(m.sent_at),
                    "last_error": m.last_error,
                    "attempts": [
                        {
                            "attempt": a.attempt,
                            "at": isoformat(a.at),
                            "ok": a.ok,
                            "status_code": a.status_code,
                            "response": a.response,
                            "error": a.error,
                            "duration_ms": a.duration_ms,
                        }
                        for a in attempts
                    ],
                }
                for m, attempts in rows
            ],
            "next_cursor": cursor,
        }

    return read(work)


