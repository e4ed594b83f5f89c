"""Outbox test helpers: a controllable clock and a workflow driver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.db import Database
from tests.api.conftest import api_as, token_for  # noqa: F401 - fixtures shared with API tests

REFS = [{"title": "Hypertension guideline", "doi": "10.1000/xyz123"}]


class FakeClock:
    """Deliverer time that only moves when a test moves it."""

    def __init__(self) -> None:
        # An hour ahead of the wall clock, so rows the test writes now are already due.
        self.now = datetime.now(UTC) + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def new_article(db: Database, people: dict[str, Any]) -> Callable[..., int]:
    def make(*, title: str = "Managing high blood pressure", submit: bool = False) -> int:
        with db.transaction() as s:
            aid = create_article(
                s,
                people["author"],
                title=title,
                body="Lower salt intake helps [1].",
                references=REFS,
            ).id
        if submit:
            with db.transaction() as s:
                perform_action(s, people["author"], aid, "submit")
        return aid

    return make
