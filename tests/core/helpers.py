"""Small helpers for the core tests: walk an article through the workflow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from tests.conftest import PASSWORD

BODY = "Hypertension often has no symptoms [1]. Salt matters [2].\n"
REFS = [
    {"title": "ACC/AHA guideline", "doi": "10.1161/HYP.0000000000000065"},
    {"title": "MedlinePlus", "url": "https://medlineplus.gov/highbloodpressure.html"},
]


def create(db: Database, author: Actor, **kw: Any) -> int:
    with db.transaction() as s:
        return create_article(
            s,
            author,
            title=kw.get("title", "High Blood Pressure"),
            body=kw.get("body", BODY),
            references=kw.get("references", REFS),
            generator=kw.get("generator"),
        ).id


def act(db: Database, actor: Actor, article_id: int, action: str, **kw: Any) -> Any:
    if action in ("approve", "reject"):
        kw.setdefault("password", PASSWORD)
    if action in ("request_changes", "reject", "retract"):
        kw.setdefault("comment", "Please fix the dosage.")
    with db.transaction() as s:
        return perform_action(s, actor, article_id, action, **kw)


def state(db: Database, article_id: int) -> str:
    with db.reading() as s:
        return get_article(s, article_id).state


def event_count(db: Database) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def snapshot(db: Database, article_id: int) -> tuple[Any, ...]:
    """Everything a refused action must leave untouched."""
    with db.reading() as s:
        a = get_article(s, article_id)
        return (
            a.state,
            a.version,
            a.current_revision_id,
            a.approved_revision_id,
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )
