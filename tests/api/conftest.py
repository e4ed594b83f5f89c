"""Helpers for API tests: bearer tokens for the ``people`` fixture and a tiny client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.actor import Actor
from review_flow.articles.models import Article, Revision
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from review_flow.outbox.models import OutboxMessage
from review_flow.tokens import service as tokens

REFS = [{"title": "Hypertension guideline", "doi": "10.1000/xyz123"}]
GENERATOR = {"name": "drafting-pipeline", "model": "medwriter-large", "version": "2026.11"}


def draft(**over: Any) -> dict[str, Any]:
    return {
        "title": "Managing high blood pressure",
        "body": "Lower salt intake helps [1].",
        "references": REFS,
        **over,
    }


class Api:
    """The Flask test client with one token's Authorization header."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.token = token

    def _h(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self._h(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(
            "/api/v1" + path, json=json, headers=self._h(kw.pop("headers", None)), **kw
        )

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(
            "/api/v1" + path, json=json, headers=self._h(kw.pop("headers", None)), **kw
        )

    def act(self, article_id: int, action: str, **body: Any) -> Any:
        headers = body.pop("headers", None)
        return self.post(f"/articles/{article_id}/actions/{action}", json=body, headers=headers)


@pytest.fixture
def token_for(db: Database) -> Callable[[Actor], str]:
    def make(actor: Actor) -> str:
        with db.transaction() as session:
            user = session.merge(actor.user, load=True)
            return tokens.create_token(session, user, name="test").plaintext

    return make


@pytest.fixture
def api_as(client: Any, token_for: Callable[[Actor], str]) -> Callable[[Actor], Api]:
    return lambda actor: Api(client, token_for(actor))


@pytest.fixture
def snapshot(db: Database) -> Callable[[], tuple[int, int, int, int]]:
    """(articles, revisions, audit events, outbox messages): to show nothing was written."""

    def counts() -> tuple[int, int, int, int]:
        with db.reading() as s:
            return tuple(  # type: ignore[return-value]
                s.scalar(select(func.count()).select_from(m))
                for m in (Article, Revision, AuditEvent, OutboxMessage)
            )

    return counts
