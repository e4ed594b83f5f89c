"""``REVIEW_FLOW_TRUSTED_PROXIES``: behind a load balancer the client's own address reaches
the sign-in throttle and the audit log; without the setting, X-Forwarded-For is ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review_flow.app import create_app, database
from tests.conftest import PASSWORD
from tests.web.conftest import Browser

BALANCER = "10.0.0.2"


@pytest.fixture
def app_behind(db_url: str, db: Any) -> Any:
    """An app whose every request arrives from the balancer's address; ``trust`` says how
    many proxies it believes."""
    made: list[Any] = []

    def make(trust: str | None) -> Any:
        settings: dict[str, Any] = {"TESTING": True, "DATABASE_URL": db_url,
                                    "SECRET_KEY": "test-secret", "SERVER_NAME": "localhost",
                                    "SIGN_IN_MAX_FAILURES_PER_ADDRESS": 3}
        if trust is not None:
            settings["TRUSTED_PROXIES"] = trust
        application = create_app(settings)
        made.append(application)
        return application

    yield make
    for application in made:
        database(application).dispose()


def client_from(application: Any, forwarded_for: str) -> Browser:
    """A browser behind the balancer: the balancer adds the client's address to the header."""
    client = application.test_client()
    client.environ_base.update(REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=forwarded_for)
    return Browser(client)


def test_with_one_proxy_one_client_locks_only_itself_and_is_audited(
        app_behind: Callable[[str | None], Any], people: Any, story: Any) -> None:
    application = app_behind("1")
    guesser = client_from(application, "203.0.113.7")
    for i in range(2):
        assert guesser.sign_in(f"guess{i}@example.org", "x-x-x-x-x").status_code == 401
    assert guesser.sign_in("guess9@example.org", "x-x-x-x-x").status_code == 429
    assert guesser.sign_in("reed@example.org", PASSWORD).status_code == 429
    # Another reader behind the same balancer is not locked out by it.
    other = client_from(application, "198.51.100.20")
    assert other.sign_in("reed@example.org", PASSWORD).status_code == 303
    failed = story.events("auth.sign_in_failed")
    assert {e.client_addr for e in failed} == {"203.0.113.7"}
    [signed_in] = story.events("auth.sign_in")
    assert signed_in.client_addr == "198.51.100.20"


def test_only_the_last_hop_is_believed(app_behind: Callable[[str | None], Any], people: Any,
                                       story: Any) -> None:
    """A client that sends its own X-Forwarded-For cannot pick the address recorded: the
    balancer appends the real one, and only that many entries from the right count."""
    application = app_behind("1")
    forger = client_from(application, "192.0.2.99, 203.0.113.7")
    assert forger.sign_in("reed@example.org", PASSWORD).status_code == 303
    [event] = story.events("auth.sign_in")
    assert event.client_addr == "203.0.113.7"


@pytest.mark.parametrize("trust", [None, "0"])
def test_without_trusted_proxies_the_header_is_ignored(
        app_behind: Callable[[str | None], Any], people: Any, story: Any,
        trust: str | None) -> None:
    application = app_behind(trust)
    for i, addr in enumerate(("203.0.113.1", "203.0.113.2")):
        browser = client_from(application, addr)
        assert browser.sign_in(f"guess{i}@example.org", "x-x-x-x-x").status_code == 401
    third = client_from(application, "203.0.113.3")
    assert third.sign_in("guess3@example.org", "x-x-x-x-x").status_code == 429
    assert {e.client_addr for e in story.events("auth.sign_in_failed")} == {BALANCER}


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "11", "²", " 2 x"])
def test_a_bad_value_stops_start_up_naming_the_setting(tmp_path: Any, bad: str) -> None:
    with pytest.raises(ValueError, match="REVIEW_FLOW_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "TRUSTED_PROXIES": bad,
                    "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
