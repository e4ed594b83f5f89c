"""The outbox row of a notice e-mail, said once for every kind that sends one.

Assignment invitations, the sweep's notices and thread activity all write one e-mail row
per person told, in the transaction of the change, with a message id the receiver can
drop repeats by; each kind fills in who, the message id and the payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from review_flow.outbox.service import enqueue_many


class Mail(NamedTuple):
    """One e-mail: to whom (user id and address), under which message id, saying what."""

    user_id: int
    email: str
    message_id: str
    payload: dict[str, Any]


def queue_mail(
    session: Session, *, kind: str, article_id: int, at: datetime, mails: Iterable[Mail]
) -> None:
    """Queue ``mails`` of one ``kind`` about one article, all in one INSERT."""
    enqueue_many(
        session,
        [
            {
                "channel": "email",
                "kind": kind,
                "recipient": m.email,
                "user_id": m.user_id,
                "article_id": article_id,
                "message_id": m.message_id,
                "payload": m.payload,
            }
            for m in mails
        ],
        now=at,
    )
