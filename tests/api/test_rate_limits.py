"""API rate limits: per token and per client address, 429 with Retry-After and the IETF
RateLimit fields, counters shared through Redis by several app servers, configuration
errors named at start-up, and a failing counter store that does not fail requests."""

from __future__ import annotations

import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests

from review_flow.app import create_app, database
from tests.api.conftest import Api, draft
from tests.support.servers import free_port, gunicorn

REDIS_URL = os.environ.get("REVIEW_FLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_POLICY = re.compile(r'^"(\w+)-(\d+)s";q=(\d+);w=(\d+)$')
_STATE = re.compile(r'^"(\w+)-(\d+)s";r=(\d+);t=(\d+)$')


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("REVIEW_FLOW_REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis is not answering at {REDIS_URL} ({exc})")
    return client


@pytest.fixture
def limited(db_url: str, db: Any) -> Iterator[Callable[..., Any]]:
    """Apps on this test's database with rate limits from ``settings``; each gets its
    own counters (a fresh key prefix) unless ``prefix`` names shared ones."""
    apps: list[Any] = []

    def make(prefix: str | None = None, **settings: str) -> Any:
        app = create_app({
            "TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
            "SERVER_NAME": "localhost",
            "RATE_LIMIT_KEY_PREFIX": prefix or f"test-{uuid.uuid4().hex}",
            **settings,
        })
        apps.append(app)
        return app

    yield make
    for app in apps:
        database(app).dispose()


def _fields(response: Any) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """({policy: (quota, window)}, {policy: (remaining, reset)}) from the two fields."""
    policies = {}
    for item in response.headers["RateLimit-Policy"].split(", "):
        m = _POLICY.match(item)
        assert m, item
        assert m.group(2) == m.group(4)  # the name says the window it is
        policies[m.group(1)] = (int(m.group(3)), int(m.group(4)))
    states = {}
    for item in response.headers["RateLimit"].split(", "):
        m = _STATE.match(item)
        assert m, item
        states[m.group(1)] = (int(m.group(3)), int(m.group(4)))
    return policies, states


def test_the_61st_request_in_a_minute_is_refused_for_that_token_only(
    limited: Any, people: Any, token_for: Any, snapshot: Any
) -> None:
    app = limited(API_RATE_LIMIT="60/minute", API_RATE_LIMIT_PER_ADDRESS="1000/minute")
    first, second = (Api(app.test_client(), token_for(people[p])) for p in ("author", "editor"))
    for n in range(1, 61):
        r = first.get("/articles")
        assert r.status_code == 200, (n, r.json)
        policies, states = _fields(r)
        assert policies == {"token": (60, 60), "address": (1000, 60)}
        assert states["token"][0] == 60 - n and 0 <= states["token"][1] <= 60
        assert states["address"][0] == 1000 - n
    before = snapshot()
    refused = first.post("/articles", json=draft())
    assert refused.status_code == 429
    error = refused.json["error"]
    assert error["code"] == "rate_limited" and "this API token" in error["message"]
    assert error["details"]["policy"] == "token" and error["details"]["limit"] == "60 per 1 minute"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"]["retry_after"] == retry_after
    _, states = _fields(refused)
    assert states["token"][0] == 0 and 1 <= states["token"][1] <= 60
    assert snapshot() == before  # refused before anything was written
    # The same token stays refused; another token from the same address does not.
    assert first.get("/articles").status_code == 429
    other = second.get("/articles")
    assert other.status_code == 200 and _fields(other)[1]["token"][0] == 59


def test_the_address_limit_counts_every_request_with_or_without_a_token(
    limited: Any, people: Any, token_for: Any
) -> None:
    app = limited(API_RATE_LIMIT="off", API_RATE_LIMIT_PER_ADDRESS="5/minute")
    client = app.test_client()
    guesses = [client.get("/api/v1/articles", headers={"Authorization": f"Bearer guess-{i}"})
               for i in range(3)]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    assert client.get("/api/v1/articles").status_code == 401  # no token at all
    token = token_for(people["author"])
    assert Api(client, token).get("/articles").status_code == 200
    refused = Api(client, token).get("/articles")
    assert refused.status_code == 429 and refused.json["error"]["details"]["policy"] == "address"
    assert "this client address" in refused.json["error"]["message"]
    assert _fields(refused)[0] == {"address": (5, 60)}  # the token limit is off
    # Another client address has its own count.
    elsewhere = Api(app.test_client(), token).get(
        "/articles", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200 and _fields(elsewhere)[1]["address"][0] == 4


def test_limits_off_means_no_limiter_and_no_fields(limited: Any, people: Any,
                                                   token_for: Any) -> None:
    app = limited(API_RATE_LIMIT="off", API_RATE_LIMIT_PER_ADDRESS="OFF")
    api = Api(app.test_client(), token_for(people["author"]))
    answers = [api.get("/articles") for _ in range(3)]
    assert all(r.status_code == 200 and "RateLimit" not in r.headers for r in answers)
    assert "review_flow.limiter" not in app.extensions


def test_the_defaults_limit_each_token_to_120_a_minute(limited: Any, people: Any,
                                                       token_for: Any) -> None:
    r = Api(limited().test_client(), token_for(people["author"])).get("/articles")
    assert _fields(r)[0] == {"token": (120, 60), "address": (600, 60)}


@pytest.mark.parametrize(("settings", "named"), [
    ({"API_RATE_LIMIT": "lots"}, "REVIEW_FLOW_API_RATE_LIMIT: 'lots' is not a rate limit"),
    ({"API_RATE_LIMIT_PER_ADDRESS": "10 per fortnight"},
     "REVIEW_FLOW_API_RATE_LIMIT_PER_ADDRESS: '10 per fortnight' is not a rate limit"),
    ({"RATE_LIMIT_STORAGE": "postgresql://db/limits"},
     "REVIEW_FLOW_RATE_LIMIT_STORAGE: 'postgresql://db/limits'"),
])
def test_a_malformed_setting_stops_start_up_naming_it(
    limited: Any, settings: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError) as caught:
        limited(**settings)
    assert named in str(caught.value)


def test_the_openapi_document_lists_429_for_every_operation(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    operations = [(p, m, op) for p, item in paths.items() for m, op in item.items()
                  if m in ("get", "post", "put", "patch", "delete")]
    assert len(operations) > 10
    missing = [f"{m.upper()} {p}" for p, m, op in operations if "429" not in op["responses"]]
    assert missing == []


# --- counters shared by several app servers -----------------------------------------------


def test_app_servers_sharing_redis_share_the_count(
    limited: Any, people: Any, token_for: Any
) -> None:
    store = _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}"
    settings = {"API_RATE_LIMIT": "10/minute", "API_RATE_LIMIT_PER_ADDRESS": "off",
                "RATE_LIMIT_STORAGE": REDIS_URL}
    one, two = limited(prefix, **settings), limited(prefix, **settings)
    token = token_for(people["author"])
    try:
        codes = [Api((one if n % 2 else two).test_client(), token).get("/articles").status_code
                 for n in range(11)]
        assert codes == [200] * 10 + [429]
        keys = [k.decode() for k in store.scan_iter(f"*{prefix}*")]
        assert keys and not any(token in k for k in keys)  # counters never hold the token
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)


def test_with_memory_storage_each_process_counts_alone(
    limited: Any, people: Any, token_for: Any
) -> None:
    """What the README says of memory://: every process allows the whole limit."""
    settings = {"API_RATE_LIMIT": "3/minute", "API_RATE_LIMIT_PER_ADDRESS": "off"}
    token = token_for(people["author"])
    one, two = (Api(limited(**settings).test_client(), token) for _ in range(2))
    assert [one.get("/articles").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert two.get("/articles").status_code == 200


def test_a_counter_store_that_is_down_lets_requests_through(
    limited: Any, people: Any, token_for: Any, caplog: Any
) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = limited(API_RATE_LIMIT="1/minute", RATE_LIMIT_STORAGE=down)
    api = Api(app.test_client(), token_for(people["author"]))
    answers = [api.get("/articles") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert all("RateLimit" not in r.headers for r in answers)
    assert any("rate limit" in r.getMessage().lower() for r in caplog.records)


def test_two_gunicorn_workers_on_redis_refuse_the_61st(
    db_url: str, people: Any, token_for: Any
) -> None:
    store = _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}"
    token = token_for(people["author"])
    env = {"REVIEW_FLOW_API_RATE_LIMIT": "60/minute", "REVIEW_FLOW_RATE_LIMIT_STORAGE": REDIS_URL,
           "REVIEW_FLOW_RATE_LIMIT_KEY_PREFIX": prefix}
    try:
        with gunicorn(db_url, workers=2, env=env) as base, requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            codes = []
            for _ in range(61):
                # A new connection each time, so both workers take requests.
                r = http.get(f"{base}/api/v1/articles", headers={"Connection": "close"},
                             timeout=30)
                codes.append(r.status_code)
            assert codes == [200] * 60 + [429], codes
            assert int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["code"] == "rate_limited"
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)


def test_the_openapi_document_declares_the_response_headers(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").json
    declared = document["components"]["headers"]
    assert {"RateLimit-Policy", "RateLimit", "Retry-After", "Link"} <= set(declared)
    paths = document["paths"]
    for item in paths.values():
        for method, op in item.items():
            if method == "description":
                continue
            too_many = op["responses"]["429"]["headers"]
            assert too_many["Retry-After"] == {**declared["Retry-After"], "required": True}
            assert "RateLimit" in too_many and "RateLimit-Policy" in too_many
    lists = {f"GET {p}" for p, item in paths.items()
             if "Link" in item.get("get", {"responses": {"200": {"headers": {}}}})[
                 "responses"]["200"]["headers"]}
    assert lists == {
        "GET /api/v1/articles", "GET /api/v1/articles/{article_id}/history",
        "GET /api/v1/articles/{article_id}/revisions",
        "GET /api/v1/articles/{article_id}/threads", "GET /api/v1/audit",
        "GET /api/v1/webhooks/{webhook_id}/deliveries",
        "GET /api/v1/tokens", "GET /api/v1/webhooks",
    }


def test_a_counter_store_that_never_answers_does_not_hang_requests(
    limited: Any, people: Any, token_for: Any
) -> None:
    """A listener that accepts connections and never speaks: without socket timeouts each
    request would wait forever (the bound below is generous, far from any timing)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        app = limited(API_RATE_LIMIT="1/minute", RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{port}/0")
        api = Api(app.test_client(), token_for(people["author"]))
        answers: list[int] = []
        worker = threading.Thread(
            target=lambda: answers.append(api.get("/articles").status_code), daemon=True)
        worker.start()
        worker.join(120)
        assert not worker.is_alive(), "the request is still waiting for the counter store"
    assert answers == [200]
