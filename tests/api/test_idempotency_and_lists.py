"""Idempotency-Key, cursors, the audit endpoint, provenance on the review page."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.app import create_app, database
from review_flow.articles.models import Article
from tests.api.conftest import GENERATOR, Api, draft


def _articles(db: Any) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Article))


def test_retry_with_the_same_key_creates_one_article(
    api_as: Any, people: Any, db: Any, snapshot: Any
) -> None:
    api = api_as(people["author"])
    key = {"Idempotency-Key": "pipeline-run-42/draft-1"}
    first = api.post("/articles", json=draft(generator=GENERATOR), headers=key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    before = snapshot()
    again = api.post("/articles", json=draft(generator=GENERATOR), headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert snapshot() == before

    # Same key, different body: refused, nothing written.
    r = api.post("/articles", json=draft(title="Another title"), headers=key)
    assert r.status_code == 422
    assert r.json["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in r.json["error"]["details"]["fields"]
    assert snapshot() == before

    # Keys belong to a user: another pipeline may use the same key string.
    other = api_as(people["editor"])
    assert other.post("/articles", json=draft(), headers=key).json["id"] != first.json["id"]
    assert _articles(db) == 2


def test_a_failed_request_is_not_remembered(api_as: Any, people: Any, db: Any) -> None:
    api = api_as(people["author"])
    key = {"Idempotency-Key": "k-1"}
    aid = api.post("/articles", json=draft()).json["id"]
    assert api.act(aid, "withdraw", headers=key).status_code == 409
    # The same key now carries a request that succeeds (the failure wrote nothing).
    r = api.act(aid, "submit", headers={"Idempotency-Key": "k-2"})
    assert r.status_code == 200
    replay = api.act(aid, "submit", headers={"Idempotency-Key": "k-2"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert api.get(f"/articles/{aid}").json["version"] == 2


def test_bad_idempotency_key(api_as: Any, people: Any) -> None:
    r = api_as(people["author"]).post(
        "/articles", json=draft(), headers={"Idempotency-Key": "has spaces"}
    )
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_requests_with_one_key_create_one_article(
    backend: str, db_url: str, db: Any, people: Any, token_for: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrency between transactions is exercised on PostgreSQL")
    token = token_for(people["author"])
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t"})
    # First use records "last used" under a row lock; do it now so the race is real.
    assert Api(app.test_client(), token).get("/me").status_code == 200
    n = 8
    barrier = threading.Barrier(n)
    results: list[Any] = []
    lock = threading.Lock()

    def call(key: str) -> None:
        api = Api(app.test_client(), token)
        barrier.wait(10)
        r = api.post("/articles", json=draft(), headers={"Idempotency-Key": key})
        with lock:
            results.append((key, r.status_code, r.json))

    threads = [threading.Thread(target=call, args=(f"key-{i % 2}",)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        database(app).dispose()
    assert len(results) == n
    assert {status for _, status, _ in results} == {201}, results
    for key in ("key-0", "key-1"):
        assert len({body["id"] for k, _, body in results if k == key}) == 1
    assert _articles(db) == 2


def test_cursor_pagination_is_complete_and_stable(api_as: Any, people: Any) -> None:
    author = api_as(people["author"])
    ids = [author.post("/articles", json=draft(title=f"Article {i}")).json["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        q = "/articles?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = author.get(q).json
        seen += [a["id"] for a in page["items"]]
        pages += 1
        if pages == 1:
            # A new article after the first page does not shift the next pages.
            author.post("/articles", json=draft(title="Late arrival"))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert pages == 3
    assert author.get("/articles?state=submitted").json["items"] == []


def test_audit_endpoint_filters_and_pages(api_as: Any, people: Any) -> None:
    author, auditor = api_as(people["author"]), api_as(people["auditor"])
    for i in range(3):
        aid = author.post("/articles", json=draft(title=f"A{i}")).json["id"]
        author.act(aid, "submit")
    everything = auditor.get("/audit?limit=100").json
    assert everything["next_cursor"] is None
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)
    submits = auditor.get("/audit?action=article.submit&limit=2").json
    assert [e["action"] for e in submits["items"]] == ["article.submit"] * 2
    rest = auditor.get(f"/audit?action=article.submit&cursor={submits['next_cursor']}").json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    mine = auditor.get(f"/audit?actor={people['author'].id}&limit=100").json["items"]
    assert {e["actor"] for e in mine} == {"Alex Author"} and len(mine) == 6
    first_at = everything["items"][0]["at"]
    assert auditor.get(f"/audit?until={first_at}").json["items"] == []
    since = auditor.get(f"/audit?since={first_at}&limit=100").json["items"]
    assert len(since) == len(everything["items"])
    assert auditor.get("/audit?since=yesterday").status_code == 422


def _sign_in(client: Any, email: str, password: str) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert csrf, "sign-in form has a CSRF token"
    r = client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": csrf.group(1)}
    )
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]


def test_generator_is_shown_to_reviewers(api_as: Any, people: Any, client: Any) -> None:
    from tests.conftest import PASSWORD

    author = api_as(people["author"])
    aid = author.post("/articles", json=draft(generator=GENERATOR)).json["id"]
    author.act(aid, "submit")
    reviewer_browser = client.application.test_client()
    _sign_in(reviewer_browser, "reed@example.org", PASSWORD)
    page = reviewer_browser.get(f"/review/{aid}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "drafting-pipeline" in text and "medwriter-large" in text and "2026.11" in text


def test_list_and_write_query_budgets(api_as: Any, people: Any) -> None:
    """Lists cost the same whatever their length (no N+1); a write has a fixed budget."""
    from sqlalchemy import event

    from tests.conftest import QueryCounter

    author = api_as(people["author"])
    author.get("/me")  # record the token's first use outside the measured requests
    engine = database(author.client.application).engine

    def statements(call: Any) -> int:
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert call().status_code in (200, 201)
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return counter.count

    for i in range(3):
        author.post("/articles", json=draft(title=f"A{i}"))
    three = statements(lambda: author.get("/articles"))
    for i in range(7):
        author.post("/articles", json=draft(title=f"B{i}"))
    assert statements(lambda: author.get("/articles")) == three == 2  # token, page
    # Token (1); the service: slug, article, revision, current revision, audit head and
    # event (6); webhooks (1); the answer: allowed actions, approvals (2).
    assert statements(lambda: author.post("/articles", json=draft(title="C"))) <= 10


# (index-entry cost, events tried near the cursor): a cost of 0 reads by time whenever the
# cursor is before ``since``, 1e9 always walks by sequence, the others choose by the
# counts; with 0 near, reading by time never takes the shortcut, with 2,000 it always
# may here.
WAYS = [(0, 0), (0, 2), (0, 2000), (0.5, 0), (0.5, 3), (100, 0), (1e9, 0)]


def _read_ways(monkeypatch: pytest.MonkeyPatch, way: tuple[float, int]) -> None:
    from review_flow.api import audit_routes

    monkeypatch.setattr(audit_routes, "INDEX_ENTRY_COST",
                        dict.fromkeys(("sqlite", "postgresql"), way[0]))
    monkeypatch.setattr(audit_routes, "NEAR", way[1])


@pytest.mark.parametrize("way", WAYS)
def test_audit_since_gives_the_same_pages_however_it_is_read(
    api_as: Any, people: Any, monkeypatch: pytest.MonkeyPatch, way: tuple[float, int]
) -> None:
    """``since`` pages are read through the time index, or walked by sequence, by how
    many events come before and after ``since`` (``audit_routes.INDEX_ENTRY_COST``): the
    same events either way, in sequence order, each once, whatever the page size and the
    cursor."""
    author, auditor = api_as(people["author"]), api_as(people["auditor"])
    for i in range(4):
        author.act(author.post("/articles", json=draft(title=f"S{i}")).json["id"], "submit")
    everything = auditor.get("/audit?limit=100").json["items"]
    middle = everything[len(everything) // 2]
    expected = [e["seq"] for e in everything if e["at"] >= middle["at"]]
    _read_ways(monkeypatch, way)
    for limit in (1, 3, 100):
        seen, url = [], f"/audit?since={middle['at']}&limit={limit}"
        while url:
            body = auditor.get(url).json
            seen += [e["seq"] for e in body["items"]]
            url = (f"/audit?since={middle['at']}&limit={limit}&cursor={body['next_cursor']}"
                   if body["next_cursor"] else None)
        assert seen == expected, (way, limit)
    with_until = auditor.get(f"/audit?since={middle['at']}&until={everything[-1]['at']}"
                             "&limit=100").json["items"]
    assert [e["seq"] for e in with_until] == [
        s for s, e in zip(expected, [x for x in everything if x["at"] >= middle["at"]],
                          strict=True) if e["at"] < everything[-1]["at"]]


@pytest.mark.parametrize("way", WAYS)
def test_audit_since_finds_events_whose_times_are_out_of_order(
    api_as: Any, db: Any, people: Any, monkeypatch: pytest.MonkeyPatch, way: tuple[float, int]
) -> None:
    """A log written before times were kept in order (migration 0022 sets
    ``ordered_from`` after it) may hold an early event dated late and a late one dated
    early: each is found or left out by its own time, on every page of every way of
    reading, and the ordered events after them follow in sequence order."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from review_flow.audit import log as audit_log

    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Sequence order with times: mostly rising by a minute, with outliers both ways.
    offsets = [0, 500, 1, 2, 3, -400, 4, 5, 6, 7, 300, 8, 9, -5, 10, 11, 12, 13, 14, 15]

    def sign_outs(minutes: list[int]) -> None:
        with db.transaction() as session:
            for m in minutes:
                audit_log.record(session, actor_id=None, actor_name="clock test",
                                 action="auth.sign_out", object_type="user",
                                 at=base + timedelta(minutes=m))

    with db.transaction() as session:  # as a log before 0022: no guard, no clamp
        session.execute(text("UPDATE audit_chain_head SET ordered_from = 1000000000"))
    with monkeypatch.context() as m:
        m.setattr(audit_log, "event_time", lambda at, previous: at or audit_log.utcnow())
        # The people fixture's events are dated now: shift this log's times before them.
        base -= timedelta(days=3650)
        sign_outs(offsets)
    with db.transaction() as session:
        session.execute(text("UPDATE audit_chain_head SET ordered_from = seq + 1"))
    sign_outs([600, 20, 700])  # ordered from here: 20 is dated as the 600 before it
    auditor = api_as(people["auditor"])
    everything = auditor.get("/audit?limit=100").json["items"]
    assert [e["at"] for e in everything[-3:]] == sorted(e["at"] for e in everything[-3:])
    _read_ways(monkeypatch, way)
    for since_minutes in (-500, -5, 0, 1, 6, 8, 12, 15, 16, 300, 501, 600, 601, 700, 701):
        since = (base + timedelta(minutes=since_minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        expected = [e["seq"] for e in everything if e["at"] >= since]
        for limit in (1, 2, 7, 100):
            seen, url = [], f"/audit?since={since}&limit={limit}"
            while url:
                body = auditor.get(url).json
                seen += [e["seq"] for e in body["items"]]
                url = (f"/audit?since={since}&limit={limit}&cursor={body['next_cursor']}"
                       if body["next_cursor"] else None)
            assert seen == expected, (way, since_minutes, limit)
