"""Invitations: an admin adds a person, and the person chooses their own password
through a one-time link sent by e-mail (nobody else ever knows it).

The link's token is random (256 bits). The database keeps only its SHA-256, so a copy of
the database opens no account. The e-mail (a ``PersonInvited`` event, queued before the
commit by the notifications dispatcher) waits in the outbox with the token sealed
(``notifications/secret_box.py``, under keys kept in the configuration), and the
deliverer opens it when it writes the message. A token works once (a conditional UPDATE
marks it used, so two tabs racing cannot both set a password), expires after a set
period (``REVIEW_FLOW_INVITATION_DAYS``, default 7), and a newer invitation to the same
person revokes the older ones. ``review-flow sweep`` records each link that lapsed unused
(``expired_at`` and a ``user.invitation_expire`` event, ``sweep/invitations.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.db import Base
from review_flow.domain_events import PersonInvited
from review_flow.errors import ReviewFlowError, ValidationFailed
from review_flow.timeutil import UTCDateTime, isoformat
from review_flow.unit_of_work import record
from review_flow.users import service as users
from review_flow.users.models import User

DEFAULT_LIFETIME = timedelta(days=7)
MAX_LIFETIME_DAYS = 90
# The e-mail kind of the invitation (``notifications/account_mail.py`` writes its text).
EMAIL_KIND = "invitation"
# Where the link points (``web/invitations.py``), relative to the site's base URL.
LINK_PATH = "/invitations/{token}"
OPEN_SQL = "used_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL"
_TOKEN_MAX = 100  # longer "tokens" are not ours: refused without a query


class Invitation(Base):
    """One invitation link sent to one person."""

    __tablename__ = "user_invitations"
    __table_args__ = (
        # A person's invitations newest first (the open one, on the people page).
        Index("ix_user_invitations_user_id_id", "user_id", "id"),
        # Open links by expiry: the sweep records the lapsed ones.
        Index("ix_user_invitations_open_expires", "expires_at", "id",
              sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the sweep recorded that the link lapsed unused (``sweep/invitations.py``).
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InvitationInvalid(ReviewFlowError):
    """The link cannot be used (unknown, used, replaced, expired); the message says which
    and what to do."""

    code = "invitation_invalid"
    status = 410


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    # The token itself: in the sealed e-mail only. Returned for the caller's tests and
    # never stored or shown.
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime_from_days(raw: object) -> timedelta:
    """The configured lifetime (``REVIEW_FLOW_INVITATION_DAYS``); a bad value stops start-up."""
    if raw in (None, ""):
        return DEFAULT_LIFETIME
    try:
        days = int(str(raw))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise ValueError(
            f"REVIEW_FLOW_INVITATION_DAYS must be a whole number of days from 1 to "
            f"{MAX_LIFETIME_DAYS}, not {raw!r}")
    return timedelta(days=days)


def invite(
    session: Session,
    user: User,
    *,
    seal: Callable[[str], str],
    lifetime: timedelta,
    now: datetime,
    invited_by: User | None,
    context: RequestContext | None = None,
) -> InvitationSent:
    """A new link for ``user``, e-mailed through the outbox; earlier open links of theirs
    stop working. Refused for a deactivated person and for one who has a password."""
    if not user.active:
        raise ValidationFailed(
            f"{user.email} is deactivated: activate the account before inviting them.",
            code="user_inactive", fields={"user": "inactive"})
    if user.password_hash:
        raise ValidationFailed(
            f"{user.email} has already chosen a password and signs in with it.",
            code="already_signed_up", fields={"user": "has a password"})
    replaced = session.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None),
               Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    token = secrets.token_urlsafe(32)
    row = Invitation(user_id=user.id, token_hash=hash_token(token), created_at=now,
                     expires_at=now + lifetime,
                     created_by_id=invited_by.id if invited_by else None)
    session.add(row)
    session.flush()
    record(session, PersonInvited(
        user.id, user.email, at=now,
        payload={
            "kind": EMAIL_KIND,
            "to_name": user.name,
            "invited_by": invited_by.name if invited_by else "The site's administrators",
            "roles": sorted(user.roles),
            "expires_at": isoformat(row.expires_at),
            "token_sealed": seal(token),
        },
    ))
    audit.record(
        session, **audit.actor_of(invited_by), action="user.invite", object_type="user",
        object_id=user.id, context=context,
        data={"email": user.email, "invitation": row.id, "expires_at": isoformat(row.expires_at),
              "replaced": int(replaced or 0)},
    )
    return InvitationSent(row, token)


def _find(session: Session, token: str) -> tuple[Invitation, User] | None:
    if not token or len(token) > _TOKEN_MAX:
        return None
    found = session.execute(
        select(Invitation, User).join(User, User.id == Invitation.user_id)
        .where(Invitation.token_hash == hash_token(token))
        .options(users.with_roles())
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def _refusal(row: Invitation, user: User, now: datetime) -> InvitationInvalid | None:
    """Why this link cannot be used now, or None when it can."""
    if row.used_at is not None:
        return InvitationInvalid(
            "This invitation link was already used. Sign in with the password you chose.",
            reason="used")
    if row.revoked_at is not None:
        return InvitationInvalid(
            "This invitation link was replaced by a newer invitation: use the link in the "
            "latest e-mail.", reason="replaced")
    if row.expired_at is not None or row.expires_at <= now:
        return InvitationInvalid(
            f"This invitation link expired on {row.expires_at:%Y-%m-%d %H:%M} UTC. Ask an "
            "admin to send a new invitation.", reason="expired")
    if not user.active:
        return InvitationInvalid("This account is deactivated; ask an admin.", reason="inactive")
    return None


def check(session: Session, token: str, now: datetime) -> tuple[Invitation, User]:
    """The open invitation this token names and its person, or a named refusal."""
    found = _find(session, token)
    if found is None:
        raise InvitationInvalid(
            "This invitation link is not valid. Check that the whole link was copied, or "
            "ask an admin to send a new invitation.", reason="unknown")
    row, user = found
    refusal = _refusal(row, user, now)
    if refusal is not None:
        raise refusal
    return row, user


def accept(session: Session, token: str, password: str, *, now: datetime,
           context: RequestContext | None = None) -> User:
    """Set the invited person's password and spend the link. A bad password is refused
    before the link is spent, so the person can try again."""
    row, user = check(session, token, now)
    users.check_new_password(password)
    spent = session.execute(
        update(Invitation).where(Invitation.id == row.id, text(OPEN_SQL))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if spent != 1:
        # Another request spent it (or a sweep expired it) between the check and now: on
        # PostgreSQL this UPDATE waited for that one to commit. Say which, from the row.
        session.refresh(row)
        raise _refusal(row, user, now) or InvitationInvalid(
            "This invitation link was already used. Sign in with the password you chose.",
            reason="used")
    users.set_password(session, user, password, changed_by=user, context=context)
    audit.record(
        session, actor_id=user.id, actor_name=user.name, action="user.invitation_accept",
        object_type="user", object_id=user.id, context=context,
        data={"email": user.email, "invitation": row.id},
    )
    return user


def open_invitation(session: Session, user_id: int, now: datetime) -> Invitation | None:
    """The person's newest invitation still usable (the people page shows it)."""
    return session.scalar(
        select(Invitation)
        .where(Invitation.user_id == user_id, Invitation.used_at.is_(None),
               Invitation.revoked_at.is_(None), Invitation.expired_at.is_(None),
               Invitation.expires_at > now)
        .order_by(Invitation.id.desc()).limit(1))
