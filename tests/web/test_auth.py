"""Sign-in: audit events, throttling, safe ``next`` redirects, remember-me, sign-out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import select

from review_flow.timeutil import utcnow
from review_flow.users.models import User
from review_flow.users.passwords import hash_password
from review_flow.web import throttle
from review_flow.web.auth import is_safe_path
from tests.conftest import PASSWORD


def test_sign_in_lands_on_the_role_home_and_is_audited(browser: Any, people: Any,
                                                       story: Any) -> None:
    response = browser.sign_in("REED@example.org")  # e-mail is case-insensitive
    assert response.status_code == 303
    assert response.headers["Location"] == "/review"
    page = browser.get("/review").get_data(as_text=True)
    assert "Signed in as Dr. Maya Reed." in page
    [event] = story.events("auth.sign_in")
    assert event.actor_id == people["reviewer"].id
    assert event.request_id and len(event.request_id) == 32
    assert event.client_addr == "127.0.0.1"


def test_failed_sign_in_is_audited_and_says_nothing_specific(browser: Any, story: Any) -> None:
    unknown = browser.sign_in("nobody@example.org", "whatever-password")
    wrong = browser.sign_in("author@example.org", "wrong-password")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert "The email or password is not correct." in response.get_data(as_text=True)
    events = story.events("auth.sign_in_failed")
    assert [e.data["email"] for e in events] == ["nobody@example.org", "author@example.org"]
    assert all(e.data["reason"] == "bad_credentials" for e in events)
    assert all("wrong-password" not in str(e.data) for e in events)
    assert browser.get("/my-articles").status_code == 303  # still signed out


def test_repeated_failures_lock_the_account_for_a_while(browser: Any, story: Any) -> None:
    for _ in range(4):
        assert browser.sign_in("author@example.org", "nope-nope").status_code == 401
    fifth = browser.sign_in("author@example.org", "nope-nope")
    assert fifth.status_code == 429
    assert "locked for 15 minutes" in fifth.get_data(as_text=True)
    # Even the right password is refused while the lock holds, and that is audited too.
    locked = browser.sign_in("author@example.org", PASSWORD)
    assert locked.status_code == 429
    assert "Try again in 15 minutes" in locked.get_data(as_text=True)
    assert browser.get("/my-articles").status_code == 303
    reasons = [e.data["reason"] for e in story.events("auth.sign_in_failed")]
    assert reasons == ["bad_credentials"] * 4 + ["locked_now", "locked"]
    # Another person is not locked out by it.
    assert browser.sign_in("reed@example.org").status_code == 303


def test_a_lock_expires_and_success_clears_the_count(db: Any) -> None:
    policy = throttle.ThrottlePolicy(max_failures_per_email=3)
    keys = throttle.keys_for("someone@example.org", "10.0.0.1")
    now = utcnow()
    with db.transaction() as s:
        assert throttle.record_failure(s, keys, now, policy) is None
        assert throttle.record_failure(s, keys, now, policy) is None
        until = throttle.record_failure(s, keys, now, policy)
    assert until == now + policy.lock_for
    with db.reading() as s:
        assert throttle.locked_until(s, keys, now + timedelta(minutes=14)) == until
        assert throttle.locked_until(s, keys, now + timedelta(minutes=16)) is None
    later = now + timedelta(minutes=40)
    with db.transaction() as s:  # failures outside the window start a new count
        assert throttle.record_failure(s, keys, later, policy) is None
        throttle.clear(s, keys[0])
        assert throttle.record_failure(s, keys, later, policy) is None
        assert throttle.record_failure(s, keys, later, policy) is None
        assert throttle.locked_until(s, keys, later) is None


def test_one_address_cannot_spray_many_emails(app: Any, browser: Any, people: Any) -> None:
    app.config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"] = 3
    for i in range(2):
        assert browser.sign_in(f"guess{i}@example.org", "x-x-x-x-x").status_code == 401
    assert browser.sign_in("guess9@example.org", "x-x-x-x-x").status_code == 429
    assert browser.sign_in("reed@example.org").status_code == 429


UNSAFE_TARGETS = [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", "/\tevil", " //evil.example", "",
]


def test_next_never_leaves_the_site(browser: Any, people: Any) -> None:
    for target in UNSAFE_TARGETS:
        assert not is_safe_path(target), target
        browser.get("/sign-in", query_string={"next": target})
        response = browser.sign_in("author@example.org", next=target)
        assert response.status_code == 303
        assert response.headers["Location"] == "/my-articles", target
        browser.sign_out()


def test_next_on_the_site_is_followed(browser: Any, people: Any) -> None:
    response = browser.get("/review?state=submitted")
    assert response.headers["Location"] == "/sign-in?next=/review?state%3Dsubmitted"
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/review?state=submitted"' in page
    signed = browser.sign_in("reed@example.org", next="/review?state=submitted")
    assert signed.headers["Location"] == "/review?state=submitted"


def test_remember_me_is_off_by_default(browser: Any, people: Any) -> None:
    page = browser.get("/sign-in").get_data(as_text=True)
    assert 'name="remember" type="checkbox" value="y">' in page  # not checked
    plain = browser.sign_in("author@example.org")
    assert plain.status_code == 303
    assert "remember_token" not in " ".join(plain.headers.getlist("Set-Cookie"))


def test_remember_me_sets_a_httponly_cookie(browser: Any, people: Any) -> None:
    response = browser.sign_in("author@example.org", remember="y")
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("remember_token="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = re.search(r"Expires=([^;]+)", cookie)
    assert expires is not None
    lifetime = parsedate_to_datetime(expires.group(1)) - datetime.now(UTC)
    assert timedelta(days=13) < lifetime <= timedelta(days=14)


def test_sign_out_is_audited_and_ends_the_session(browser: Any, story: Any) -> None:
    assert browser.sign_in("author@example.org").status_code == 303
    response = browser.sign_out()
    assert response.status_code == 303
    assert "You are signed out." in browser.get("/").get_data(as_text=True)
    assert browser.get("/my-articles").status_code == 303
    assert len(story.events("auth.sign_out")) == 1


def test_a_password_change_ends_existing_sessions(browser: Any, db: Any, people: Any) -> None:
    browser.sign_in("author@example.org")
    assert browser.get("/my-articles").status_code == 200
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.email_key == "author@example.org"))
        assert user is not None
        user.password_hash = hash_password("a-new-password")
    assert browser.get("/my-articles").status_code == 303


def test_a_deactivated_user_is_signed_out(browser: Any, db: Any, people: Any) -> None:
    browser.sign_in("author@example.org")
    assert browser.get("/my-articles").status_code == 200
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.email_key == "author@example.org"))
        assert user is not None
        user.active = False
    assert browser.get("/my-articles").status_code == 303
    assert browser.sign_in("author@example.org").status_code == 401
