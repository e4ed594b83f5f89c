"""Webhook endpoints and e-mail opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from review_flow.db import Base
from review_flow.timeutil import UTCDateTime, utcnow


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # Shared with the receiver to sign deliveries. It must be readable again to sign, so
    # it cannot be a hash: it is kept encrypted under a key from the configuration
    # (notifications/secret_box.py) and shown in plain text only once, at creation.
    secret_sealed: Mapped[str] = mapped_column(Text, server_default="")
    # After a new secret is given, the one before it also signs until this time, so
    # the receiver can switch without refusing a delivery.
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The seq of the audit event that last registered or changed this endpoint: the
    # largest one tells a process whether its cached endpoints are still current.
    changed_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), default=0, server_default="0"
    )


class EmailOptOut(Base):
    """A user has turned one e-mail kind off. No row means the kind is on."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
