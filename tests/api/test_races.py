"""Racing API writers on one article (PostgreSQL, real threads and connections): each
gets a correct answer, success or a 409 saying what changed, and never a 500."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.articles.models import Revision
from review_flow.audit.verify import verify_chain
from tests.api.conftest import REFS, Api, draft


def _race(calls: list[Any]) -> list[Any]:
    """Run the calls in threads released together; each result in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def racing(app: Any, backend: str) -> Any:
    if backend != "postgresql":
        pytest.skip("row-lock races need PostgreSQL; SQLite serializes writers up front")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as in production
    return app


def test_twenty_parallel_puts_without_a_version_all_save_in_order(
        racing: Any, db: Any, people: dict[str, Any], token_for: Any) -> None:
    token = token_for(people["author"])
    aid = Api(racing.test_client(), token).post("/articles", json=draft()).json["id"]

    def put(i: int) -> Any:
        api = Api(racing.test_client(), token)  # a client per thread
        return api.put(f"/articles/{aid}", json=draft(body=f"Version {i} [1]."))

    responses = _race([lambda i=i: put(i) for i in range(20)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 20, [r.get_json() for r in responses if r.status_code != 200]
    with db.reading() as s:
        numbers = list(s.scalars(select(Revision.number).where(Revision.article_id == aid)
                                 .order_by(Revision.number)))
        assert numbers == list(range(1, 22))  # contiguous: 1 plus one per PUT
        assert verify_chain(s).ok
    assert sorted(r.json["current_revision"]["number"] for r in responses) == list(range(2, 22))


def test_an_edit_and_a_submit_racing_each_get_a_correct_answer(
        racing: Any, db: Any, people: dict[str, Any], token_for: Any) -> None:
    token = token_for(people["author"])
    for round_ in range(5):
        api = Api(racing.test_client(), token)
        created = api.post("/articles", json=draft(title=f"Race {round_}"))
        aid, version = created.json["id"], created.json["version"]

        def edit(aid: int = aid, versioned: bool = bool(round_ % 2), v: int = version) -> Any:
            body = draft(body="Edited [1].", references=REFS,
                         **({"expected_version": v} if versioned else {}))
            return Api(racing.test_client(), token).put(f"/articles/{aid}", json=body)

        def submit(aid: int = aid, versioned: bool = bool(round_ % 2), v: int = version) -> Any:
            return Api(racing.test_client(), token).act(
                aid, "submit", **({"expected_version": v} if versioned else {}))

        responses = _race([edit, submit])
        for response in responses:
            assert response.status_code in (200, 409), response.get_json()
            if response.status_code == 409:
                error = response.json["error"]
                # Stale: what changed since; or the text is no longer editable: its state.
                assert error["details"].get("changes") or (
                    error["code"] == "not_editable" and error["details"]["state"] == "submitted"
                ), error
        assert any(r.status_code == 200 for r in responses)
    with db.reading() as s:
        assert verify_chain(s).ok
