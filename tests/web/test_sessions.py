"""Sessions end on the server: a cookie copied before sign-out is worthless after it, the
remember cookie does not sign anyone back in, a password change or deactivation ends all
of a person's sessions, remember cookies expire, and "Sign out everywhere" works."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from review_flow.articles.models import Article
from review_flow.cli import main
from review_flow.timeutil import utcnow
from review_flow.users import service as users
from review_flow.users import sessions
from review_flow.users.sessions import SignInSession
from tests.conftest import PASSWORD
from tests.web.conftest import Browser, csrf_token

AUTHOR = "author@example.org"


def new_browser(app: Any) -> Browser:
    return Browser(app.test_client())


def signed_in(app: Any, email: str = AUTHOR, **extra: Any) -> Browser:
    browser = new_browser(app)
    assert browser.sign_in(email, **extra).status_code == 303
    assert browser.get("/account/security").status_code == 200
    return browser


def cookie(browser: Browser, name: str) -> str:
    found = browser.client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return str(found.value)


def with_cookies(app: Any, **cookies: str) -> Browser:
    """A different browser holding copies of someone's cookies."""
    browser = new_browser(app)
    for name, value in cookies.items():
        browser.client.set_cookie(name, value)
    return browser


def article_count(db: Any) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Article)) or 0


def live_rows(db: Any, user_id: int) -> list[SignInSession]:
    with db.reading() as s:
        rows = sessions.live_sessions(s, user_id, utcnow())
        s.expunge_all()
        return rows


def test_a_cookie_copied_before_sign_out_neither_reads_nor_writes_after_it(
        app: Any, db: Any, people: Any) -> None:
    victim = signed_in(app)
    token = csrf_token(victim.get("/write/new").get_data(as_text=True))
    copy = with_cookies(app, session=cookie(victim, "session"))
    assert copy.get("/my-articles").status_code == 200  # the copy works while signed in
    assert victim.sign_out().status_code == 303
    assert copy.get("/my-articles").status_code == 303  # to the sign-in page
    written = copy.client.post("/write/new", data={"csrf_token": token, "title": "Stolen",
                                                   "body": "B", "op": "save"})
    assert written.status_code == 401
    assert article_count(db) == 0
    assert live_rows(db, people["author"].id) == []


def test_the_remember_cookie_does_not_sign_back_in_after_sign_out(
        app: Any, db: Any, people: Any) -> None:
    browser = signed_in(app, remember="y")
    remembered = cookie(browser, "remember_token")
    assert with_cookies(app, remember_token=remembered).get("/my-articles").status_code == 200
    out = browser.sign_out()
    deleted = [h for h in out.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert browser.client.get_cookie("remember_token") is None
    assert browser.get("/my-articles").status_code == 303
    # A copy of the remember cookie taken before is worth nothing either.
    assert with_cookies(app, remember_token=remembered).get("/my-articles").status_code == 303


def test_remember_me_lasts_two_weeks_on_the_server_too(app: Any, db: Any,
                                                       people: Any) -> None:
    browser = signed_in(app, remember="y")
    remembered = cookie(browser, "remember_token")
    [row] = live_rows(db, people["author"].id)
    assert row.remember
    assert timedelta(days=13, hours=23) < row.expires_at - row.created_at <= timedelta(days=14)
    plain = signed_in(app)
    rows = {r.remember: r for r in live_rows(db, people["author"].id)}
    assert rows[False].expires_at - rows[False].created_at == sessions.SESSION_LIFETIME
    with db.transaction() as s:  # the two weeks are over
        s.execute(update(SignInSession).where(SignInSession.id == row.id)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert with_cookies(app, remember_token=remembered).get("/my-articles").status_code == 303
    assert browser.get("/my-articles").status_code == 303
    assert plain.get("/my-articles").status_code == 200  # the other session is untouched


def test_signing_out_ends_only_that_browser(app: Any, db: Any, people: Any) -> None:
    laptop, phone = signed_in(app), signed_in(app)
    laptop.sign_out()
    assert laptop.get("/my-articles").status_code == 303
    assert phone.get("/my-articles").status_code == 200
    [event] = [e for e in _events(db, "auth.sign_out")]
    [left] = live_rows(db, people["author"].id)
    assert event.data["session"] != left.id


def test_signing_in_again_ends_the_browser_s_previous_session(app: Any, db: Any,
                                                               people: Any) -> None:
    browser = signed_in(app)
    copy = with_cookies(app, session=cookie(browser, "session"))
    again = browser.post("/sign-in", {"email": "reed@example.org", "password": PASSWORD},
                         page="/account/security")  # the sign-in page itself redirects
    assert again.status_code == 303
    assert copy.get("/my-articles").status_code == 303
    assert live_rows(db, people["author"].id) == []
    assert browser.get("/review").status_code == 200


def test_a_password_change_ends_every_session(app: Any, db: Any, people: Any) -> None:
    laptop, phone = signed_in(app), signed_in(app, remember="y")
    remembered = cookie(phone, "remember_token")
    with db.transaction() as s:
        user = users.get_by_email(s, AUTHOR)
        assert users.set_password(s, user, "a-brand-new-password") == 2
    for browser in (laptop, phone, with_cookies(app, remember_token=remembered)):
        assert browser.get("/my-articles").status_code == 303
    [event] = _events(db, "user.password_change")
    assert event.data["sessions_ended"] == 2
    assert new_browser(app).sign_in(AUTHOR, PASSWORD).status_code == 401
    assert new_browser(app).sign_in(AUTHOR, "a-brand-new-password").status_code == 303


def test_a_password_change_can_keep_the_browser_that_made_it(app: Any, db: Any,
                                                             people: Any) -> None:
    mine, other = signed_in(app), signed_in(app)
    keep = max(r.id for r in live_rows(db, people["author"].id))  # ``other`` came second
    with db.transaction() as s:
        user = users.get_by_email(s, AUTHOR)
        assert users.set_password(s, user, "a-brand-new-password", keep_session_id=keep) == 1
    assert other.get("/my-articles").status_code == 200
    assert mine.get("/my-articles").status_code == 303


def test_a_too_short_password_changes_nothing(db: Any, app: Any, people: Any) -> None:
    browser = signed_in(app)
    before = len(_events(db))
    with pytest.raises(Exception, match="at least 8 characters"), db.transaction() as s:
        users.set_password(s, users.get_by_email(s, AUTHOR), "short")
    assert browser.get("/my-articles").status_code == 200
    assert len(_events(db)) == before


def test_deactivation_ends_sessions_for_good(app: Any, db: Any, people: Any) -> None:
    browser = signed_in(app, remember="y")
    remembered = cookie(browser, "remember_token")
    with db.transaction() as s:
        assert users.set_active(s, users.get_by_email(s, AUTHOR), False) == 1
    assert browser.get("/my-articles").status_code == 303
    assert new_browser(app).sign_in(AUTHOR).status_code == 401
    with db.transaction() as s:
        users.set_active(s, users.get_by_email(s, AUTHOR), True)
    # Activating again does not bring old sessions back: they were revoked, not hidden.
    assert with_cookies(app, remember_token=remembered).get("/my-articles").status_code == 303
    assert [e.action for e in _events(db) if e.action.startswith("user.")][-2:] == [
        "user.deactivate", "user.activate"]
    assert new_browser(app).sign_in(AUTHOR).status_code == 303


def test_sign_out_everywhere(app: Any, db: Any, people: Any) -> None:
    laptop, phone = signed_in(app), signed_in(app, remember="y")
    remembered = cookie(phone, "remember_token")
    reviewer = signed_in(app, "reed@example.org")
    page = laptop.get("/account/security").get_data(as_text=True)
    assert page.count("(this browser)") == 1
    assert page.count("<tr>") == 1 + 2  # the header and the author's two sessions
    assert "(remembered)" in page
    assert "Werkzeug" in page  # the test client's user agent
    # Without its CSRF token the button does nothing.
    refused = laptop.client.post("/account/sign-out-everywhere")
    assert refused.status_code == 400
    assert len(live_rows(db, people["author"].id)) == 2
    done = laptop.post("/account/sign-out-everywhere", page="/account/security")
    assert done.status_code == 303
    assert "You are signed out everywhere (2 sessions ended)." in laptop.get("/").text
    for browser in (laptop, phone, with_cookies(app, remember_token=remembered)):
        assert browser.get("/my-articles").status_code == 303
    assert reviewer.get("/review").status_code == 200  # someone else's session lives on
    [event] = _events(db, "auth.sign_out_everywhere")
    assert event.actor_id == people["author"].id and event.data == {"sessions_ended": 2}


def test_last_seen_is_written_at_most_every_few_minutes(app: Any, db: Any,
                                                        people: Any) -> None:
    browser = signed_in(app)
    [row] = live_rows(db, people["author"].id)
    first_seen = row.last_seen_at
    browser.get("/my-articles")
    [row] = live_rows(db, people["author"].id)
    assert row.last_seen_at == first_seen  # seen a moment ago: no write
    long_ago = utcnow() - timedelta(minutes=10)
    with db.transaction() as s:
        s.execute(update(SignInSession).values(last_seen_at=long_ago))
    browser.get("/my-articles")  # a read: written in a small transaction of its own
    [row] = live_rows(db, people["author"].id)
    assert row.last_seen_at > long_ago + timedelta(minutes=9)


def test_the_database_keeps_only_a_hash_of_the_token(app: Any, db: Any, people: Any) -> None:
    browser = signed_in(app, remember="y")
    with db.reading() as s:
        stored = s.scalars(select(SignInSession.token_hash)).all()
    assert len(stored) == 1 and len(stored[0]) == 64
    assert stored[0] not in cookie(browser, "session") + cookie(browser, "remember_token")


@pytest.mark.parametrize("forged", ["1:0123456789abcdef", "", "x" * 3000])
def test_a_forged_remember_cookie_signs_nobody_in(app: Any, people: Any, forged: str) -> None:
    """Flask-Login signs the cookie, so forge it with the app's own key: the loader must
    still find no live session for it."""
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        value = encode_cookie(forged)
    assert with_cookies(app, remember_token=value).get("/my-articles").status_code == 303


def test_users_commands_end_sessions(app: Any, db: Any, db_url: str, people: Any,
                                     tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def cli(*args: str, input: str | None = None) -> Any:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    browser = signed_in(app)
    short = cli("users", "set-password", AUTHOR, "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.stderr
    assert browser.get("/my-articles").status_code == 200
    changed = cli("users", "set-password", AUTHOR, "--password-stdin",
                  input="another-good-password\n")
    assert changed.exit_code == 0, changed.stderr
    assert changed.stdout == f"Password changed for {AUTHOR}; 1 session(s) ended.\n"
    assert browser.get("/my-articles").status_code == 303
    browser = new_browser(app)
    assert browser.sign_in(AUTHOR, "another-good-password").status_code == 303
    off = cli("users", "deactivate", AUTHOR)
    assert off.stdout == f"Deactivated {AUTHOR}; 1 session(s) ended.\n"
    assert browser.get("/my-articles").status_code == 303
    assert cli("users", "activate", AUTHOR).stdout == f"Activated {AUTHOR}.\n"
    unknown = cli("users", "deactivate", "nobody@example.org")
    assert unknown.exit_code == 1
    assert "Nobody has the e-mail address nobody@example.org." in unknown.stderr
    events = [e for e in _events(db) if e.action.startswith("user.") and e.action != "user.create"]
    assert [e.action for e in events] == ["user.password_change", "user.deactivate",
                                          "user.activate"]
    assert all(e.client_addr == "cli" for e in events)


def _events(db: Any, action: str | None = None) -> list[Any]:
    from review_flow.audit.models import AuditEvent

    with db.reading() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        events = list(s.scalars(stmt))
        s.expunge_all()
        return events


def test_a_hostile_user_agent_is_shown_as_text(app: Any, people: Any) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = hostile
    browser = Browser(client)
    assert browser.sign_in(AUTHOR).status_code == 303
    page = browser.get("/account/security").get_data(as_text=True)
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
