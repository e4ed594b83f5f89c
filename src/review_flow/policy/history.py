"""Earlier policy versions for the "Review policy" page: who, when, note, what changed.

Keyset-paged on the version number (newest first). Each row's changes are read off the
version before it, so a page fetches one row beyond what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.policy import document
from review_flow.policy.models import PolicyVersion
from review_flow.users.models import User


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: datetime
    by: str  # the person's name, or "system" (installed by ``db upgrade``)
    note: str | None
    changes: dict[str, Any]  # key -> new value; every key for the first version
    first: bool


def page(
    session: Session, *, before: int | None, limit: int
) -> tuple[list[VersionRow], int | None]:
    """Up to ``limit`` versions older than ``before`` (newest first) and the ``before``
    of the next page, or None when these are the oldest."""
    stmt = (
        select(PolicyVersion, User.name)
        .outerjoin(User, User.id == PolicyVersion.created_by_id)
        .order_by(PolicyVersion.version.desc())
        .limit(limit + 2)  # one more to show, one more to diff the last shown against
    )
    if before is not None:
        stmt = stmt.where(PolicyVersion.version < before)
    rows = session.execute(stmt).all()
    # Read through the settings model: a version written before a key existed says
    # that key's default, so it does not show as "changed" by the next version.
    docs = [document.as_document(version.parsed) for version, _ in rows]
    out: list[VersionRow] = []
    for i, (version, name) in enumerate(rows[:limit]):
        older = docs[i + 1] if i + 1 < len(rows) else None
        out.append(VersionRow(
            version=version.version, created_at=version.created_at, by=name or "system",
            note=version.note, changes=document.diff(older, docs[i]), first=older is None,
        ))
    more = out[-1].version if len(rows) > limit and out else None
    return out, more
