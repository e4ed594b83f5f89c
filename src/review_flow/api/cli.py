"""CLI for the API and notifications: ``tokens``, ``webhooks``, ``notifications``,
``outbox`` and ``api`` groups (registered by ``review_flow.cli.register``).

These are also the admin operations a web admin page would call (see the services they
wrap: ``tokens.service``, ``notifications.webhooks``, ``notifications.preferences``).
Services are imported inside the commands, so listing them stays fast (see cli.py).
"""

from __future__ import annotations

import signal
import sys
import threading
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from review_flow.cli import _db, domain_errors
from review_flow.notifications.events import WEBHOOK_EVENTS
from review_flow.notifications.kinds import EMAIL_KINDS

if TYPE_CHECKING:
    from review_flow.audit.log import RequestContext
    from review_flow.notifications.webhooks import WebhookConfig


def _ctx() -> RequestContext:
    from review_flow.audit.log import RequestContext

    return RequestContext(request_id=uuid.uuid4().hex, client_addr="cli")


def _webhook_config() -> WebhookConfig:
    from review_flow.app import webhook_config

    return webhook_config(current_app)


# --- tokens ---------------------------------------------------------------------------


@click.group("tokens", help="API tokens (bearer tokens for /api/v1).")
def tokens_group() -> None:
    pass


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="A label, e.g. 'drafting pipeline'.")
@with_appcontext
@domain_errors
def tokens_create(email: str, name: str) -> None:
    """Create a token acting as EMAIL; prints the token once (only its hash is kept)."""
    from review_flow.tokens import service as tokens
    from review_flow.users import service as users

    with _db().transaction() as session:
        user = users.get_by_email(session, email)
        new = tokens.create_token(session, user, name=name, context=_ctx())
        token_id, plaintext = new.token.id, new.plaintext
    click.echo(f"Token {token_id} for {email}. Store it now; it cannot be shown again.", err=True)
    click.echo(plaintext)


@tokens_group.command("list")
@click.option("--user", "email", help="Only this user's tokens.")
@with_appcontext
@domain_errors
def tokens_list(email: str | None) -> None:
    """List tokens: id, prefix, user, name, created, last use, revoked."""
    from review_flow.timeutil import isoformat
    from review_flow.tokens import service as tokens
    from review_flow.users import service as users

    with _db().reading() as session:
        user_id = users.get_by_email(session, email).id if email else None
        for t in tokens.list_tokens(session, user_id=user_id):
            click.echo(
                "\t".join(
                    [
                        str(t.id),
                        t.prefix + "…",
                        t.user.email,
                        t.name,
                        isoformat(t.created_at) or "",
                        f"last used {isoformat(t.last_used_at)}"
                        if t.last_used_at
                        else "never used",
                        f"REVOKED {isoformat(t.revoked_at)}" if t.revoked_at else "active",
                    ]
                )
            )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
@domain_errors
def tokens_revoke(token_id: int) -> None:
    """Revoke a token; requests with it are refused from now on."""
    from review_flow.tokens import service as tokens

    with _db().transaction() as session:
        t = tokens.revoke_token(session, token_id, by=None, context=_ctx())
        click.echo(f"Token {t.id} ({t.prefix}…) revoked.")


# --- webhooks -------------------------------------------------------------------------


@click.group("webhooks", help="Webhook endpoints and their deliveries.")
def webhooks_group() -> None:
    pass


@webhooks_group.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help=f"Repeatable; one of {', '.join(WEBHOOK_EVENTS)}, or '*'.",
)
@click.option("--description")
@with_appcontext
@domain_errors
def webhooks_add(url: str, events: tuple[str, ...], description: str | None) -> None:
    """Register an endpoint; prints its id and signing secret (shown once)."""
    from review_flow.notifications import webhooks

    with _db().transaction() as session:
        made = webhooks.create_webhook(
            session, _webhook_config(), url=url, events=events,
            description=description, context=_ctx(),
        )
        hook_id, secret = made.webhook.id, made.secret
    click.echo(f"Webhook {hook_id}. Signing secret (store it now):", err=True)
    click.echo(secret)


@webhooks_group.command("list")
@with_appcontext
def webhooks_list() -> None:
    from review_flow.notifications import webhooks

    with _db().reading() as session:
        for h in webhooks.list_webhooks(session):
            click.echo(
                f"{h.id}\t{'active' if h.active else 'disabled'}\t{h.url}\t{','.join(h.events)}"
            )


@webhooks_group.command("disable")
@click.argument("webhook_id", type=int)
@with_appcontext
@domain_errors
def webhooks_disable(webhook_id: int) -> None:
    """Stop sending to an endpoint (pending messages to it are cancelled)."""
    from review_flow.notifications import webhooks

    with _db().transaction() as session:
        webhooks.update_webhook(
            session, _webhook_config(), webhook_id, active=False, context=_ctx()
        )
    click.echo(f"Webhook {webhook_id} disabled.")


@webhooks_group.command("enable")
@click.argument("webhook_id", type=int)
@with_appcontext
@domain_errors
def webhooks_enable(webhook_id: int) -> None:
    from review_flow.notifications import webhooks

    with _db().transaction() as session:
        webhooks.update_webhook(
            session, _webhook_config(), webhook_id, active=True, context=_ctx()
        )
    click.echo(f"Webhook {webhook_id} enabled.")


@webhooks_group.command("roll-secret")
@click.argument("webhook_id", type=int)
@click.option(
    "--grace-hours",
    default=24,
    show_default=True,
    type=click.IntRange(0, 168),
    help="Hours the old secret keeps signing beside the new one (0 after a leak).",
)
@with_appcontext
@domain_errors
def webhooks_roll_secret(webhook_id: int, grace_hours: int) -> None:
    """Give an endpoint a new signing secret; prints it (shown once)."""
    from datetime import timedelta

    from review_flow.notifications import webhooks
    from review_flow.timeutil import isoformat

    with _db().transaction() as session:
        made = webhooks.roll_secret(session, _webhook_config(), webhook_id,
                                    grace=timedelta(hours=grace_hours), context=_ctx())
        secret, until = made.secret, made.webhook.previous_secret_until
    click.echo(f"Webhook {webhook_id}. New signing secret (store it now):", err=True)
    if until is not None:
        click.echo(f"The old secret also signs until {isoformat(until)}.", err=True)
    click.echo(secret)


@webhooks_group.command("reseal")
@with_appcontext
@domain_errors
def webhooks_reseal() -> None:
    """Re-encrypt every signing secret under the first of REVIEW_FLOW_ENCRYPTION_KEYS.

    Rotating the key: put a new key first in the list (keep the old one after it), run
    this, then remove the old key."""
    from review_flow.notifications import webhooks

    with _db().transaction() as session:
        count = webhooks.reseal_secrets(session, _webhook_config())
    click.echo(f"Resealed {count} webhook secret{'s' if count != 1 else ''}.")


@webhooks_group.command("deliveries")
@click.argument("webhook_id", type=int)
@click.option("--limit", default=20, show_default=True)
@with_appcontext
@domain_errors
def webhooks_deliveries(webhook_id: int, limit: int) -> None:
    """Recent deliveries with every attempt and what the receiver answered."""
    from review_flow.notifications import webhooks
    from review_flow.timeutil import isoformat

    with _db().reading() as session:
        for msg, attempts in webhooks.deliveries(session, webhook_id, limit=limit):
            click.echo(f"{msg.message_id}\t{msg.kind}\t{msg.status}\t{isoformat(msg.created_at)}")
            for a in attempts:
                click.echo(
                    f"  #{a.attempt} {isoformat(a.at)} "
                    f"{'ok' if a.ok else 'FAILED'} {a.status_code or ''} "
                    f"{a.error or ''} {(a.response or '')[:80]!r} {a.duration_ms}ms"
                )


# --- notifications --------------------------------------------------------------------


@click.group("notifications", help="Per-user e-mail notification settings.")
def notifications_group() -> None:
    pass


@notifications_group.command("show")
@click.argument("email")
@with_appcontext
@domain_errors
def notifications_show(email: str) -> None:
    from review_flow.notifications import preferences
    from review_flow.users import service as users

    with _db().reading() as session:
        user = users.get_by_email(session, email)
        for kind, on in preferences.email_preferences(session, user.id).items():
            click.echo(f"{kind}\t{'on' if on else 'off'}\t{EMAIL_KINDS[kind].label}")


@notifications_group.command("set")
@click.argument("email")
@click.argument("kind", type=click.Choice(list(EMAIL_KINDS)))
@click.argument("state", type=click.Choice(["on", "off"]))
@with_appcontext
@domain_errors
def notifications_set(email: str, kind: str, state: str) -> None:
    """Turn one e-mail kind on or off for a user."""
    from review_flow.notifications import preferences
    from review_flow.users import service as users

    with _db().transaction() as session:
        user = users.get_by_email(session, email)
        preferences.set_email_preferences(session, user, {kind: state == "on"}, context=_ctx())
    click.echo(f"{email}: {kind} {state}")


# --- outbox ---------------------------------------------------------------------------


@click.group("outbox", help="Pending e-mail and webhook deliveries.")
def outbox_group() -> None:
    pass


@outbox_group.command("deliver")
@click.option("--limit", type=int, help="Stop after this many messages.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Deliverers in parallel (threads); safe: each claims disjoint messages.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: deliver what falls due until SIGTERM or Ctrl-C (a service "
    "instead of a cron job).",
)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="With --watch: seconds to wait when nothing is due.",
)
@with_appcontext
def outbox_deliver(limit: int | None, workers: int, watch: bool, interval: float) -> None:
    """Send what is due; failures are retried later with exponential backoff."""
    from review_flow.outbox.deliver import Deliverer, DeliverySettings, Report

    if watch and limit is not None:
        raise click.UsageError("--limit and --watch do not go together")
    try:
        settings = DeliverySettings.from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db = _db()
    total = Report()
    lock = threading.Lock()
    errors: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        deliverer = Deliverer(db, settings)
        while not stop.is_set():
            try:
                report = deliverer.run(max_messages=limit, stop=stop)
            except Exception as exc:
                if not watch:  # reported below; one failing thread stops nothing else
                    errors.append(exc)
                    return
                # A service outlives a database restart: say so, wait, try again.
                click.echo(f"Error (retrying in {interval:g} s): {exc}", err=True)
                stop.wait(interval)
                continue
            with lock:
                total.add(report)
            if not watch:
                return
            if report.attempted + report.cancelled:
                click.echo(
                    f"sent {report.sent}, retrying {report.retrying}, dead {report.dead}, "
                    f"cancelled {report.cancelled}",
                    err=True,
                )
            if not report.attempted:
                stop.wait(interval)

    if watch:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"Delivering as messages fall due (every {interval:g} s when idle); "
                   "SIGTERM or Ctrl-C stops.", err=True)
    threads = [threading.Thread(target=work) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    click.echo(
        f"sent {total.sent}, retrying {total.retrying}, dead {total.dead}, "
        f"cancelled {total.cancelled}"
    )
    if errors:
        click.echo(f"Error: {errors[0]}", err=True)
        sys.exit(1)


@outbox_group.command("status")
@with_appcontext
def outbox_status() -> None:
    """How many messages are pending, to expand (one e-mail to the board, split per
    reviewer at delivery), sent, expanded, dead or cancelled."""
    from review_flow.outbox.models import STATUSES
    from review_flow.outbox.service import counts_by_status

    with _db().reading() as session:
        counts = counts_by_status(session)
    for status in STATUSES:
        click.echo(f"{status}\t{counts.get(status, 0)}")


@outbox_group.command("redrive")
@click.option("--id", "ids", multiple=True, type=int, help="A dead message's id (repeatable).")
@click.option("--webhook", "webhook_id", type=int, help="Every dead delivery to this endpoint.")
@click.option("--all", "everything", is_flag=True, help="Every dead message.")
@with_appcontext
@domain_errors
def outbox_redrive(ids: tuple[int, ...], webhook_id: int | None, everything: bool) -> None:
    """Send dead messages again (fresh attempts) once what failed them is fixed."""
    from review_flow.notifications import webhooks
    from review_flow.outbox.service import redrive

    with _db().transaction() as session:
        if webhook_id is not None:
            webhooks.get_webhook(session, webhook_id)
        done = redrive(session, message_ids=ids, webhook_id=webhook_id, everything=everything,
                       context=_ctx())
    click.echo(f"requeued {len(done)} dead messages")


@outbox_group.command("purge")
@click.option("--older-than-days", default=90, show_default=True, type=click.IntRange(1))
@with_appcontext
def outbox_purge(older_than_days: int) -> None:
    """Delete sent, expanded, dead and cancelled messages (and their attempt log) older
    than this."""
    from review_flow.outbox.service import purge
    from review_flow.timeutil import utcnow

    with _db().transaction() as session:
        n = purge(session, older_than=utcnow() - timedelta(days=older_than_days))
    click.echo(f"purged {n} messages")


# --- api ------------------------------------------------------------------------------


@click.group("api", help="JSON API housekeeping.")
def api_group() -> None:
    pass


@api_group.command("purge-keys")
@click.option("--older-than-hours", default=24, show_default=True, type=click.IntRange(1))
@with_appcontext
def api_purge_keys(older_than_hours: int) -> None:
    """Forget Idempotency-Key answers older than this (a retry after that creates anew)."""
    from review_flow.api import idempotency
    from review_flow.timeutil import utcnow

    with _db().transaction() as session:
        n = idempotency.purge(session, utcnow() - timedelta(hours=older_than_hours))
    click.echo(f"purged {n} idempotency keys")


GROUPS = (tokens_group, webhooks_group, notifications_group, outbox_group, api_group)
