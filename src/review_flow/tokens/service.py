"""Creating, checking and revoking API tokens.

A token is 32 random bytes (``rf_`` + URL-safe base64). Being high-entropy, a plain
SHA-256 is the right storage hash: it makes a lookup one indexed query, where a
password hash (argon2) would cost tens of milliseconds on every API request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from review_flow.audit import log as audit
from review_flow.audit.log import RequestContext
from review_flow.errors import NotFound, PermissionDenied, ValidationFailed, invalid
from review_flow.timeutil import utcnow
from review_flow.tokens.models import ApiToken
from review_flow.users.models import User
from review_flow.users.roles import Role

TOKEN_PREFIX = "rf_"
# Recording each use would turn every read into a write; once a minute is enough to
# tell an admin which tokens are alive.
LAST_USE_RESOLUTION = timedelta(seconds=60)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown once; never stored


def create_token(
    session: Session,
    user: User,
    *,
    name: str = "",
    created_by: User | None = None,
    context: RequestContext | None = None,
) -> NewToken:
    """A new token acting as ``user``; the caller shows ``plaintext`` once."""
    if not user.active:
        raise ValidationFailed(
            f"The account {user.email} is deactivated; no token can act for it.",
            fields={"user": "inactive"},
        )
    name = " ".join((name or "").split()) or "API token"
    if len(name) > 100:
        raise invalid("name", "too long", "A token's name has at most 100 characters.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plaintext[:10],
        token_hash=hash_token(plaintext),
        created_at=utcnow(),
        created_by_id=created_by.id if created_by else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        **audit.actor_of(created_by),
        action="token.create",
        object_type="token",
        object_id=token.id,
        context=context,
        data={"user_id": user.id, "user": user.email, "name": name, "prefix": token.prefix},
    )
    return NewToken(token, plaintext)


def may_manage(actor: User, token: ApiToken) -> bool:
    """Admins manage every token; anyone may revoke their own."""
    return actor.has_role(Role.ADMIN) or token.user_id == actor.id


def revoke_token(
    session: Session, token_id: int, *, by: User | None, context: RequestContext | None = None
) -> ApiToken:
    """Refuse the token from now on. Revoking twice is harmless and audited once."""
    token = session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.", token_id=token_id)
    if by is not None and not may_manage(by, token):
        raise PermissionDenied(
            "Only an admin or the token's owner may revoke it.", code="role_required", role="admin"
        )
    if token.revoked_at is not None:
        return token
    token.revoked_at = utcnow()
    token.revoked_by_id = by.id if by else None
    audit.record(
        session,
        **audit.actor_of(by),
        action="token.revoke",
        object_type="token",
        object_id=token.id,
        context=context,
        data={"user_id": token.user_id, "prefix": token.prefix},
    )
    session.flush()
    return token


def list_tokens(
    session: Session, *, user_id: int | None = None, after_id: int | None = None,
    limit: int | None = None,
) -> list[ApiToken]:
    """Tokens oldest first, from the one after ``after_id``: a page of the API's list
    (keyset on the id, so a page never repeats or skips a token created meanwhile)."""
    stmt = select(ApiToken).order_by(ApiToken.id).limit(limit)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    if after_id is not None:
        stmt = stmt.where(ApiToken.id > after_id)
    return list(session.scalars(stmt))


def newest_tokens(session: Session, *, before_id: int | None = None, limit: int
                  ) -> list[ApiToken]:
    """Up to ``limit`` tokens newest first, those older than ``before_id`` when given: a
    page of the admin's list (the owner is joined eagerly: one query a page)."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(ApiToken.id < before_id)
    return list(session.scalars(stmt))


def find_active(session: Session, plaintext: str) -> ApiToken | None:
    """The live token for this secret (its user active), or None. One indexed query."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_token(plaintext)
    # Token, user and roles in one query: this runs on every API request.
    token = (
        session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == digest)
            .options(joinedload(ApiToken.user).joinedload(User.role_rows))
        )
        .unique()
        .one_or_none()
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    # The lookup was by hash; compare again in constant time for good measure.
    if not hmac.compare_digest(token.token_hash, digest):  # pragma: no cover
        return None
    return token


def needs_touch(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION


def touch(session: Session, token_id: int, *, now: datetime, client_addr: str | None) -> None:
    """Record a use (at most once per ``LAST_USE_RESOLUTION``; a conditional UPDATE)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USE_RESOLUTION
            ),
        )
        .values(last_used_at=now, last_used_addr=(client_addr or "")[:64] or None)
        .execution_options(synchronize_session=False)
    )
