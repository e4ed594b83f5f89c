"""The people pages, the invitation link and the own-password page through Flask's test
client (CSRF on), on SQLite and PostgreSQL."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.app import webhook_config
from review_flow.audit.models import AuditEvent
from review_flow.notifications.kinds import render
from review_flow.outbox.models import OutboxMessage
from review_flow.users import changes
from review_flow.users import service as users
from review_flow.users.models import User
from review_flow.web import people as people_views
from tests.conftest import PASSWORD
from tests.web.conftest import Browser

PEOPLE = "/admin/people"
NEW = {"email": "lee@example.org", "name": "Dr. Jordan Lee", "credentials": "MD",
       "specialties": "Cardiology\nSleep Medicine", "verified_until": "", "roles": ["reviewer"]}


def _text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _user(db: Any, email: str) -> User | None:
    with db.reading() as s:
        user = s.scalar(select(User).where(User.email_key == email.lower())
                        .options(users.with_roles()))
        if user is not None:
            s.expunge(user)
        return user


def _actions(db: Any) -> list[str]:
    with db.reading() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _invitation_link(app: Any, db: Any, email: str) -> str:
    """The link in the newest invitation e-mail to ``email``, as the deliverer writes it."""
    with db.reading() as s:
        payload = s.scalars(select(OutboxMessage.payload).where(
            OutboxMessage.kind == "invitation", OutboxMessage.recipient == email)
            .order_by(OutboxMessage.id.desc())).first()
    assert payload is not None, f"no invitation e-mail to {email}"
    _, body = render(dict(payload), "", webhook_config(app).box.open)
    match = re.search(r"^    (/invitations/\S+)$", body, re.M)
    assert match, body
    return match.group(1)


def _add(admin: Browser, **overrides: Any) -> Any:
    return admin.post(PEOPLE, {**NEW, **overrides}, page=PEOPLE)


# --- the roster -------------------------------------------------------------------------

def test_admin_adds_a_reviewer_and_an_invitation_is_emailed(as_role: Any, db: Any,
                                                            app: Any) -> None:
    admin = as_role("admin")
    assert 'href="/admin/people">People</a>' in admin.get("/").get_data(as_text=True)
    response = _add(admin)
    assert response.status_code == 303
    user = _user(db, "lee@example.org")
    assert user is not None and user.password_hash is None
    assert user.specialties == ["Cardiology", "Sleep Medicine"] and user.roles == {"reviewer"}
    page = _text(admin.get(response.headers["Location"]))
    assert "Dr. Jordan Lee was added. An invitation to choose a password was e-mailed to " \
        "lee@example.org; the link works once, until" in page
    assert "Invited: has not chosen a password yet" in page
    assert _actions(db)[-2:] == ["user.create", "user.invite"]
    assert _invitation_link(app, db, "lee@example.org").startswith("/invitations/")
    listing = _text(admin.get(PEOPLE))
    assert "Dr. Jordan Lee" in listing and "invited (no password yet)" in listing
    assert "Cardiology, Sleep Medicine" in listing and "not verified" in listing


def test_bad_input_is_named_per_field_and_nothing_is_written(as_role: Any, db: Any) -> None:
    admin = as_role("admin")
    before = _actions(db)
    response = _add(admin, email="not-an-address", name=" ", verified_until="30/06/2027",
                    roles=[])
    assert response.status_code == 422
    page = _text(response)
    assert "Nothing was saved. Please correct:" in page
    assert "Enter the date the credentials are verified until as YYYY-MM-DD." in page
    response = _add(admin, email="not-an-address", name=" ", roles=[])
    page = _text(response)
    assert response.status_code == 422
    for line in ("Enter an e-mail address such as name@example.org.", "Enter a display name.",
                 "Choose at least one role."):
        assert line in page, line
    for label in ("Email", "Display name", "Roles"):  # each sentence says its field once
        assert f">{label}: " not in page and f"\n{label}: " not in page, label
    assert 'aria-invalid="true"' in page
    assert _actions(db) == before
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_editing_a_person_is_audited_field_by_field(as_role: Any, db: Any) -> None:
    admin = as_role("admin")
    person = _add(admin).headers["Location"]
    response = admin.post(person, {"name": "Dr. Jordan Lee", "credentials": "MD, FACC",
                                   "specialties": "Cardiology", "verified_until": "2027-11-30",
                                   "roles": ["reviewer", "editor"]}, page=person)
    assert response.status_code == 303
    page = _text(admin.get(person))
    assert ("Saved Dr. Jordan Lee: changed credentials, specialties, credentials verified "
            "until, roles.") in page
    with db.reading() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
        assert event.actor_name == "Ada Admin"
        assert event.data["changes"]["credentials_verified_until"] == {
            "old": None, "new": "2027-11-30"}
        assert event.data["changes"]["specialties"] == {
            "old": ["Cardiology", "Sleep Medicine"], "new": ["Cardiology"]}
    unchanged = admin.post(person, {"name": "Dr. Jordan Lee", "credentials": "MD, FACC",
                                    "specialties": "Cardiology", "verified_until": "2027-11-30",
                                    "roles": ["reviewer", "editor"]}, page=person)
    assert "Nothing changed." in _text(admin.get(unchanged.headers["Location"]))


def test_a_refused_edit_keeps_what_was_typed_and_writes_nothing(as_role: Any, db: Any) -> None:
    admin = as_role("admin")
    person = _add(admin).headers["Location"]
    before = _actions(db)
    response = admin.post(person, {"name": "Dr. J. Lee", "credentials": "x" * 201,
                                   "specialties": "Cardiology", "roles": ["reviewer"]},
                          page=person)
    assert response.status_code == 422
    page = _text(response)
    assert "Credentials have at most 200 characters." in page
    assert "Credentials: " not in page
    assert 'value="Dr. J. Lee"' in page
    assert _actions(db) == before
    user = _user(db, "lee@example.org")
    assert user is not None and user.name == "Dr. Jordan Lee"


def test_lapsed_and_soon_lapsing_verifications_are_flagged(as_role: Any, db: Any,
                                                          people: Any) -> None:
    today = datetime.now(UTC).date()
    with db.transaction() as s:
        for email, until in (("reed@example.org", today - timedelta(days=1)),
                             ("okafor@example.org", today + timedelta(days=10))):
            changes.update_person(s, users.get_by_email(s, email), changed_by=None,
                                  today=today, credentials_verified_until=until)
    page = _text(as_role("admin").get(PEOPLE))
    assert f"lapsed (verified until {today - timedelta(days=1):%Y-%m-%d})" in page
    assert f"until {today + timedelta(days=10):%Y-%m-%d} (lapses in 10 days)" in page


def test_the_list_is_keyset_paged_in_email_order(as_role: Any, people: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people_views, "PAGE", 2)
    admin = as_role("admin")
    seen: list[str] = []
    url: str | None = PEOPLE
    while url:
        page = _text(admin.get(url))
        seen += re.findall(r'<span class="muted wrap-anywhere">([^<]+)</span>', page)
        found = re.search(r'href="([^"]+)">Next people</a>', page)
        url = html_lib.unescape(found.group(1)) if found else None
    assert seen == sorted(p.user.email for p in people.values())


def test_an_admin_cannot_lock_themselves_out(as_role: Any, db: Any, people: Any) -> None:
    admin = as_role("admin")
    me = f"{PEOPLE}/{people['admin'].id}"
    page = _text(admin.get(me))
    assert "You cannot deactivate your own account or remove your own admin role" in page
    assert ">Deactivate</button>" not in page
    response = admin.post(me, {"name": "Ada Admin", "roles": ["editor"]}, page=me)
    assert response.status_code == 422
    assert ("You cannot remove your own admin role; another admin can, so nobody locks the "
            "site's administration out by mistake.") in _text(response)
    response = admin.post(f"{me}/deactivate", page=me)
    assert response.status_code == 303
    assert "You cannot deactivate your own account; another admin can." in _text(
        admin.get(response.headers["Location"]))
    user = _user(db, "admin@example.org")
    assert user is not None and user.active and user.roles == {"admin"}


def test_deactivate_and_activate_a_person(as_role: Any, db: Any, people: Any) -> None:
    admin = as_role("admin")
    reviewer = as_role("reviewer")
    target = f"{PEOPLE}/{people['reviewer'].id}"
    response = admin.post(f"{target}/deactivate", page=target)
    assert "Dr. Maya Reed is deactivated: they can no longer sign in or act (1 session " \
        "ended)." in _text(admin.get(response.headers["Location"]))
    assert reviewer.get("/review").status_code == 303  # signed out
    admin.post(f"{target}/activate", page=target)
    assert Browser(reviewer.client).sign_in("reed@example.org").status_code == 303
    acts = _actions(db)
    assert acts.index("user.deactivate") < acts.index("user.activate")


# --- the invitation link ----------------------------------------------------------------

def test_the_invitee_chooses_a_password_and_is_signed_in_once(as_role: Any, db: Any,
                                                              app: Any) -> None:
    admin = as_role("admin")
    _add(admin)
    link = _invitation_link(app, db, "lee@example.org")
    invitee = as_role("anonymous")
    opened = invitee.get(link)
    assert "Welcome, Dr. Jordan Lee." in _text(opened)
    assert opened.headers["Cache-Control"] == "no-store"
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    mismatch = invitee.post(link, {"password": "a long password", "repeat": "another one"},
                            page=link)
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same; type the new one again." in _text(mismatch)
    short = invitee.post(link, {"password": "short", "repeat": "short"}, page=link)
    assert short.status_code == 422
    assert "Choose a password of at least 8 characters." in _text(short)
    done = invitee.post(link, {"password": PASSWORD, "repeat": PASSWORD}, page=link)
    assert done.status_code == 303 and done.headers["Location"] == "/review"
    assert "Welcome, Dr. Jordan Lee: your password is set and you are signed in." in _text(
        invitee.get("/review"))
    again = as_role("anonymous").get(link)
    assert again.status_code == 410
    assert "This invitation link was already used. Sign in with the password you chose." \
        in _text(again)
    assert Browser(app.test_client()).sign_in("lee@example.org").status_code == 303
    assert _actions(db).count("user.invitation_accept") == 1


def test_a_new_invitation_from_the_person_page_replaces_the_old_link(as_role: Any, db: Any,
                                                                     app: Any) -> None:
    admin = as_role("admin")
    person = _add(admin).headers["Location"]
    first = _invitation_link(app, db, "lee@example.org")
    response = admin.post(f"{person}/invite", page=person)
    assert "Earlier links no longer work." in _text(admin.get(response.headers["Location"]))
    refused = as_role("anonymous").get(first)
    assert refused.status_code == 410 and "replaced by a newer invitation" in _text(refused)
    second = _invitation_link(app, db, "lee@example.org")
    assert as_role("anonymous").get(second).status_code == 200


# --- own password -----------------------------------------------------------------------

PASSWORD_PAGE = "/account/password"


def _change(who: Browser, current: str, new: str = "a brand new password",
            repeat: str | None = None) -> Any:
    return who.post(PASSWORD_PAGE, {"current": current, "password": new,
                                    "repeat": new if repeat is None else repeat},
                    page=PASSWORD_PAGE)


def test_changing_ones_password_ends_the_other_sessions(as_role: Any, db: Any,
                                                        app: Any) -> None:
    laptop = as_role("author")
    phone = as_role("author")
    assert 'href="/account/password">Password</a>' in laptop.get("/").get_data(as_text=True)
    response = _change(laptop, PASSWORD)
    assert response.status_code == 303
    assert "Your password was changed. Your other sessions ended (1)." in _text(
        laptop.get(response.headers["Location"]))
    assert laptop.get("/my-articles").status_code == 200  # this browser stays in
    assert phone.get("/my-articles").status_code == 303  # the other one is out
    assert Browser(app.test_client()).sign_in(
        "author@example.org", "a brand new password").status_code == 303
    with db.reading() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password_change")).one()
        assert event.actor_name == "Alex Author" and event.data["sessions_ended"] == 1


def test_a_wrong_current_password_is_refused_and_throttled(as_role: Any, db: Any) -> None:
    author = as_role("author")
    for _ in range(4):
        response = _change(author, "not my password")
        assert response.status_code == 401
        assert "The current password is not correct." in _text(response)
        assert "Current password: " not in _text(response)  # the label is not said twice
    locked = _change(author, "not my password")
    assert locked.status_code == 429
    assert ("The current password is not correct. Too many wrong passwords: changing it is "
            "locked for 15 minutes.") in _text(locked)
    still = _change(author, PASSWORD)
    assert still.status_code == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in _text(still)
    with db.reading() as s:
        reasons = [e.data["reason"] for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "auth.password_change_failed").order_by(AuditEvent.seq))]
    assert reasons == ["wrong_password"] * 4 + ["locked_now", "locked"]
    # The sign-in form shares the lock: the same e-mail cannot be guessed there either.
    assert Browser(as_role("anonymous").client).sign_in("author@example.org").status_code == 429
    with db.reading() as s:
        user = users.authenticate(s, "author@example.org", PASSWORD)
        assert user is not None  # unchanged


def test_a_new_password_must_be_repeated_and_long_enough(as_role: Any, db: Any) -> None:
    author = as_role("author")
    before = _actions(db)
    mismatch = _change(author, PASSWORD, repeat="something else")
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same; type the new one again." in _text(mismatch)
    short = _change(author, PASSWORD, new="short")
    assert short.status_code == 422
    assert "Choose a password of at least 8 characters." in _text(short)
    assert _actions(db) == before


# --- verified credentials at the signature step ---------------------------------------

def test_a_lapsed_reviewer_is_told_why_they_cannot_sign(as_role: Any, story: Any,
                                                        db: Any) -> None:
    article_id = story.in_state("under_review")
    today = datetime.now(UTC).date()
    with db.transaction() as s:
        changes.update_person(s, users.get_by_email(s, "reed@example.org"), changed_by=None,
                              today=today, credentials_verified_until=today - timedelta(days=2))
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/review/{article_id}/sign/approve").get_data(as_text=True)
    lapsed_on = f"{today - timedelta(days=1):%Y-%m-%d}"
    # Said on the signature page before any password is typed, then refused on posting.
    assert f"Your credentials&#39; verification lapsed on {lapsed_on}" in page
    content_hash = re.search(r'name="content_hash" value="([^"]+)"', page)
    assert content_hash
    response = reviewer.post(f"/review/{article_id}/sign/approve", {
        "content_hash": content_hash.group(1), "expected_version": story.version(article_id),
        "password": PASSWORD}, page=f"/review/{article_id}/sign/approve")
    assert response.status_code == 403
    assert (f"Your credentials' verification lapsed on {today - timedelta(days=1):%Y-%m-%d}; "
            "an admin must re-verify them before you can sign.") in _text(response)
    assert story.state(article_id) == "under_review"


# --- the board on the editorial-policy page ---------------------------------------------

def test_the_editorial_policy_page_lists_the_board(as_role: Any, story: Any, db: Any) -> None:
    today = datetime.now(UTC).date()
    admin = as_role("admin")
    reed = f"{PEOPLE}/{story.people['reviewer'].id}"
    admin.post(reed, {"name": "Dr. Maya Reed", "credentials": "MD, FACP",
                      "specialties": "Internal Medicine", "roles": ["reviewer"],
                      "verified_until": (today + timedelta(days=90)).isoformat()}, page=reed)
    reader = as_role("anonymous")
    page = _text(reader.get("/editorial-policy"))
    assert "<strong>Dr. Maya Reed</strong>, MD, FACP · Internal Medicine" in page
    assert "<strong>Dr. Chidi Okafor</strong>, MD, MPH" in page
    assert "Ada Admin" not in page  # not a reviewer
    story.set_policy(require_verified_credentials=True)
    page = _text(reader.get("/editorial-policy"))
    assert "Dr. Maya Reed" in page and "Dr. Chidi Okafor" not in page  # never verified
    admin.post(f"{reed}/deactivate", page=reed)
    assert "The board has no members listed yet." in _text(reader.get("/editorial-policy"))


def test_the_invitation_period_comes_from_the_configuration(db_url: str, db: Any,
                                                            people: Any, tmp_path: Any) -> None:
    from review_flow.app import create_app, database

    with pytest.raises(ValueError, match="REVIEW_FLOW_INVITATION_DAYS must be a whole number"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "INVITATION_DAYS": "0",
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "INVITATION_DAYS": "3",
                      "DATABASE_URL": db_url, "SERVER_NAME": "localhost"})
    try:
        admin = Browser(app.test_client())
        admin.sign_in("admin@example.org")
        started = datetime.now(UTC)
        assert _add(admin).status_code == 303
    finally:
        database(app).dispose()
    with db.reading() as s:
        from review_flow.users.invitations import Invitation

        row = s.scalars(select(Invitation)).one()
        assert timedelta(days=3) <= row.expires_at - started < timedelta(days=3, minutes=5)


def test_an_unknown_person_is_a_404(as_role: Any) -> None:
    admin = as_role("admin")
    response = admin.get(f"{PEOPLE}/99999")
    assert response.status_code == 404
    assert "There is no person with id 99999." in _text(response)
    assert admin.post(f"{PEOPLE}/99999/deactivate", page=PEOPLE).status_code == 404
