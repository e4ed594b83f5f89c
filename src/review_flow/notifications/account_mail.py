"""E-mails about a person's own account (an invitation). They are not notifications a
person can turn off, so they are kept apart from ``kinds.EMAIL_KINDS`` (the settings
page lists those).

An invitation's payload carries its link's token sealed (``users/invitations.py``):
rendering it needs ``open_sealed``, which the deliverer gives from its configured keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from review_flow.domain_events import PersonInvited
from review_flow.errors import ConfigurationError
from review_flow.outbox.service import enqueue
from review_flow.users.invitations import EMAIL_KIND, LINK_PATH

Opener = Callable[[str], str]

ROLE_WORDS = {
    "author": "write articles",
    "reviewer": "review and sign articles as a member of the Medical Advisory Board",
    "editor": "manage the editorial workflow",
    "auditor": "read the audit trail",
    "admin": "administer people, tokens and webhooks",
}


def _invitation(p: dict[str, Any], base_url: str, open_sealed: Opener | None) -> str:
    if open_sealed is None:
        raise ConfigurationError("an invitation e-mail needs the key that sealed its link")
    link = f"{base_url.rstrip('/')}{LINK_PATH.format(token=open_sealed(p['token_sealed']))}"
    expires = datetime.fromisoformat(p["expires_at"])
    roles = [ROLE_WORDS.get(r, r) for r in p.get("roles") or []]
    return (
        f"Hello {p['to_name']},\n\n"
        f"{p['invited_by']} invited you to Review Flow"
        + (f", where you will {'; '.join(roles)}" if roles else "") + ".\n\n"
        "Choose your password here (the link works once):\n\n"
        f"    {link}\n\n"
        f"The link expires on {expires:%Y-%m-%d at %H:%M} UTC. If you did not expect this "
        "invitation, ignore this e-mail: nothing happens until the link is used.\n"
    )


ACCOUNT_KINDS: dict[str, tuple[str, Callable[[dict[str, Any], str, Opener | None], str]]] = {
    EMAIL_KIND: ("You are invited to Review Flow", _invitation),
}


def render(payload: dict[str, Any], base_url: str,
           open_sealed: Opener | None) -> tuple[str, str] | None:
    """(subject, text) of an account e-mail; None when the payload is another kind."""
    found = ACCOUNT_KINDS.get(payload.get("kind", ""))
    if found is None:
        return None
    subject, body = found
    return subject, body(payload, base_url, open_sealed)


def queue_invitation(session: Session, ev: PersonInvited) -> None:
    """The invitation e-mail, in the transaction that made the link."""
    enqueue(session, channel="email", kind=EMAIL_KIND, recipient=ev.email,
            user_id=ev.user_id, now=ev.at, payload=ev.payload)
