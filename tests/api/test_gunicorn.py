"""The API under gunicorn: concurrent retries from separate processes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from review_flow.articles.models import Article
from tests.api.conftest import draft
from tests.support.servers import gunicorn


def test_concurrent_retries_through_gunicorn_create_one_article(
    backend: str, db_url: str, db: Any, people: Any, token_for: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrency between transactions is exercised on PostgreSQL")
    token = token_for(people["author"])
    n = 12
    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    with gunicorn(db_url, workers=4) as base:
        # Use the token once first: its first use records "last used" with a row lock,
        # which would serialize the racing requests and hide a broken implementation.
        requests.get(
            f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).raise_for_status()
        barrier = threading.Barrier(n)

        def call() -> None:
            barrier.wait(10)
            r = requests.post(
                f"{base}/api/v1/articles",
                json=draft(),
                timeout=30,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "run-7/draft-1"},
            )
            with lock:
                results.append((r.status_code, r.json()["id"]))

        threads = [threading.Thread(target=call) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(results) == n
    assert {status for status, _ in results} == {201}
    assert len({aid for _, aid in results}) == 1
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 1
