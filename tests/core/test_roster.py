"""The board roster's rules in the service layer, on SQLite and PostgreSQL: audited person
changes (old → new), refusals naming each field and writing nothing, the lockout guards,
invitations (hash only, single use, expiry, replacement, e-mail text through the outbox)
and verified credentials before signing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from review_flow.errors import PermissionDenied, SignatureRefused, ValidationFailed
from review_flow.notifications import kinds
from review_flow.notifications.secret_box import SecretBox, derive_key
from review_flow.outbox.models import OutboxMessage
from review_flow.policy import service as policy_service
from review_flow.users import changes, invitations
from review_flow.users import service as users
from review_flow.users.models import User
from review_flow.web import read_models
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS
from tests.support.webhook_config import register

BOX = SecretBox([derive_key("roster-test-key")])
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
WEEK = timedelta(days=7)


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.reading() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)))
        s.expunge_all()
        return rows


def _count(db: Database, model: Any) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _add(db: Database, email: str = "new@example.org", **kw: Any) -> int:
    values: dict[str, Any] = {"name": "Dr. New Member", "roles": ["reviewer"],
                              "credentials": "MD", "specialties": ["Cardiology"],
                              "credentials_verified_until": None} | kw
    with db.transaction() as s:
        admin = users.get_by_email(s, "admin@example.org")
        return changes.add_person(s, email=email, created_by=admin, today=TODAY,
                                  **values).id


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user("admin@example.org", "admin", name="Ada Admin")


def _update(db: Database, user_id: int, by: str = "admin@example.org", **fields: Any) -> Any:
    with db.transaction() as s:
        user = s.get(User, user_id)
        assert user is not None
        actor = users.get_by_email(s, by)
        return changes.update_person(s, user, changed_by=actor, today=TODAY, **fields)


# --- person changes ---------------------------------------------------------------------

def test_an_update_is_one_audit_event_naming_each_field_old_and_new(db: Database,
                                                                    admin: Any) -> None:
    uid = _add(db)
    made = _update(db, uid, name="Dr. New  Member-Smith", credentials="MD, FACC",
                   specialties=["Cardiology", "Internal Medicine"],
                   credentials_verified_until=date(2027, 11, 30), roles=["reviewer", "editor"])
    assert set(made) == {"name", "credentials", "specialties", "credentials_verified_until",
                         "roles"}
    [event] = _events(db, "user.update")
    assert event.actor_name == "Ada Admin"
    assert event.data["changes"] == {
        "name": {"old": "Dr. New Member", "new": "Dr. New Member-Smith"},
        "credentials": {"old": "MD", "new": "MD, FACC"},
        "specialties": {"old": ["Cardiology"], "new": ["Cardiology", "Internal Medicine"]},
        "credentials_verified_until": {"old": None, "new": "2027-11-30"},
        "roles": {"old": ["reviewer"], "new": ["editor", "reviewer"]},
    }
    with db.reading() as s:
        user = s.get(User, uid)
        assert user is not None and user.roles == {"editor", "reviewer"}


def test_an_update_that_changes_nothing_writes_nothing(db: Database, admin: Any) -> None:
    uid = _add(db)
    assert _update(db, uid, name=" Dr.  New Member ", specialties=["Cardiology", "cardiology"],
                   roles=["reviewer"], credentials_verified_until=None) == {}
    assert _events(db, "user.update") == []


def test_bad_fields_are_each_named_and_nothing_is_written(db: Database, admin: Any) -> None:
    uid = _add(db)
    with pytest.raises(ValidationFailed) as refused:
        _update(db, uid, name="  ", credentials="x" * 201, specialties=["y" * 101],
                credentials_verified_until=TODAY + timedelta(days=6 * 366),
                roles=["reviewer", "surgeon"])
    assert refused.value.details["fields"] == {
        "name": "required",
        "credentials": "at most 200 characters",
        "specialties": "a specialty has at most 100 characters",
        "credentials_verified_until": "at most 5 years ahead; verify again then",
        "roles": "unknown role 'surgeon'; roles are author, reviewer, editor, auditor, admin",
    }
    assert refused.value.message == (
        "Enter a display name. Credentials have at most 200 characters. A specialty has at "
        "most 100 characters. Credentials can be verified at most 5 years ahead; verify them "
        "again then. “surgeon” is not a role; choose from author, reviewer, editor, auditor, "
        "admin.")
    assert next((p["field"], p["message"]) for p in refused.value.details["problems"]) == (
        "name", "Enter a display name.")
    with pytest.raises(ValidationFailed) as no_role:
        _update(db, uid, roles=[])
    assert no_role.value.message == "Choose at least one role."
    assert _events(db, "user.update") == []
    with db.reading() as s:
        user = s.get(User, uid)
        assert user is not None and user.name == "Dr. New Member" and user.roles == {"reviewer"}


def test_specialties_are_kept_as_entered_without_repeats_ignoring_case(db: Database,
                                                                       admin: Any) -> None:
    uid = _add(db, specialties=[" Cardiology ", "cardiology", "", "Sleep  Medicine"])
    with db.reading() as s:
        user = s.get(User, uid)
        assert user is not None and user.specialties == ["Cardiology", "Sleep Medicine"]


def test_adding_names_every_bad_field_at_once(db: Database, admin: Any) -> None:
    _add(db, email="taken@example.org")
    before = _count(db, AuditEvent)
    with pytest.raises(ValidationFailed) as refused:
        _add(db, email="Taken@Example.org", name="", roles=[])
    assert refused.value.details["fields"] == {
        "email": "Taken@Example.org already belongs to someone", "name": "required",
        "roles": "at least one role is required"}
    with pytest.raises(ValidationFailed) as bad_email:
        _add(db, email="not an address")
    assert bad_email.value.details["fields"] == {"email": "not an e-mail address"}
    assert _count(db, AuditEvent) == before


def test_nobody_removes_their_own_admin_role(db: Database, admin: Any, make_user: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _update(db, admin.id, roles=["editor"])
    assert refused.value.details["fields"]["roles"].startswith(
        "you cannot remove your own admin role; another admin can")
    make_user("admin2@example.org", "admin", name="Second Admin")
    assert set(_update(db, admin.id, by="admin2@example.org", roles=["editor"])) == {"roles"}


def test_nobody_deactivates_themselves(db: Database, admin: Any, make_user: Any) -> None:
    with db.transaction() as s, pytest.raises(PermissionDenied) as refused:
        me = users.get_by_email(s, "admin@example.org")
        users.set_active(s, me, False, changed_by=me)
    assert refused.value.message == "You cannot deactivate your own account; another admin can."
    assert refused.value.code == "self_lockout"
    other = make_user("someone@example.org", "author")
    with db.transaction() as s:
        me = users.get_by_email(s, "admin@example.org")
        target = s.get(User, other.id)
        assert target is not None
        users.set_active(s, target, False, changed_by=me)
    [event] = _events(db, "user.deactivate")
    assert event.data["email"] == "someone@example.org"
    assert event.data["changes"] == {"active": {"old": True, "new": False}}


def test_a_board_change_tells_the_cdn_about_the_editorial_policy_page(db: Database,
                                                                      admin: Any) -> None:
    with db.transaction() as s:
        register(s, url="http://127.0.0.1:9/purge", events=["page.changed"])
    uid = _add(db)  # a new reviewer: one purge
    _update(db, uid, credentials="MD, PhD")  # a reviewer's details: one more
    author = _add(db, email="writer@example.org", roles=["author"], specialties=[])
    _update(db, author, name="Wendy Writer")  # not on the board: none
    with db.reading() as s:
        purges = [m.payload["data"] for m in s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "page.changed")
            .order_by(OutboxMessage.id))]
    assert [(p["paths"], p["user_id"]) for p in purges] == [
        (["/editorial-policy"], uid), (["/editorial-policy"], uid)]


# --- invitations ------------------------------------------------------------------------

def _invite(db: Database, user_id: int, now: datetime = NOW) -> invitations.InvitationSent:
    with db.transaction() as s:
        user = s.get(User, user_id)
        assert user is not None
        by = users.get_by_email(s, "admin@example.org")
        return invitations.invite(s, user, seal=BOX.seal, lifetime=WEEK, now=now,
                                  invited_by=by)


def _accept(db: Database, token: str, password: str = PASSWORD,
            now: datetime = NOW + timedelta(hours=1)) -> User:
    with db.transaction() as s:
        return invitations.accept(s, token, password, now=now)


def _dump(db: Database) -> str:
    """Every row of every table that could hold the token, as text."""
    with db.reading() as s:
        parts = [str(row) for table in ("user_invitations", "outbox_messages", "audit_events",
                                        "users")
                 for row in s.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(parts)


def test_the_token_is_kept_only_as_a_hash_and_the_email_carries_the_link(
        db: Database, admin: Any) -> None:
    uid = _add(db)
    sent = _invite(db, uid)
    assert sent.token not in _dump(db)
    with db.reading() as s:
        row = s.scalar(select(invitations.Invitation))
        assert row is not None and row.token_hash == invitations.hash_token(sent.token)
        [mail] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
        payload = dict(mail.payload)
        assert mail.channel == "email" and mail.recipient == "new@example.org"
    subject, body = kinds.render(payload, "https://reviews.example.org", BOX.open)
    assert subject == "You are invited to Review Flow"
    assert f"https://reviews.example.org/invitations/{sent.token}\n" in body
    assert body.startswith("Hello Dr. New Member,\n\nAda Admin invited you to Review Flow, "
                           "where you will review and sign articles as a member of the "
                           "Medical Advisory Board.")
    assert "The link expires on 2026-12-07 at 12:00 UTC." in body
    [event] = _events(db, "user.invite")
    assert event.data["expires_at"] == "2026-12-07T12:00:00.000000Z"


def test_an_invitation_email_cannot_be_written_without_the_key(db: Database,
                                                               admin: Any) -> None:
    _invite(db, _add(db))
    with db.reading() as s:
        payload = dict(s.scalars(select(OutboxMessage.payload)).one())
    with pytest.raises(Exception, match="needs the key that sealed its link"):
        kinds.render(payload, "", None)


def test_a_link_works_once(db: Database, admin: Any) -> None:
    uid = _add(db)
    sent = _invite(db, uid)
    user = _accept(db, sent.token)
    assert user.id == uid
    with db.reading() as s:
        assert users.authenticate(s, "new@example.org", PASSWORD) is not None
    with pytest.raises(invitations.InvitationInvalid) as again:
        _accept(db, sent.token, "another password")
    assert again.value.message == ("This invitation link was already used. Sign in with the "
                                   "password you chose.")
    with db.reading() as s:
        assert users.authenticate(s, "new@example.org", PASSWORD) is not None
    assert [e.actor_name for e in _events(db, "user.invitation_accept")] == ["Dr. New Member"]


def test_a_link_expires(db: Database, admin: Any) -> None:
    sent = _invite(db, _add(db))
    with pytest.raises(invitations.InvitationInvalid) as late:
        _accept(db, sent.token, now=NOW + WEEK)
    assert late.value.message == ("This invitation link expired on 2026-12-07 12:00 UTC. Ask "
                                  "an admin to send a new invitation.")
    assert late.value.status == 410
    assert _accept(db, sent.token, now=NOW + WEEK - timedelta(seconds=1)).name


def test_a_newer_invitation_replaces_the_older_link(db: Database, admin: Any) -> None:
    uid = _add(db)
    first = _invite(db, uid)
    second = _invite(db, uid, NOW + timedelta(minutes=5))
    with pytest.raises(invitations.InvitationInvalid, match="replaced by a newer invitation"):
        _accept(db, first.token)
    assert _accept(db, second.token).id == uid
    assert [e.data["replaced"] for e in _events(db, "user.invite")] == [0, 1]


def test_unknown_and_oversized_tokens_are_refused(db: Database, admin: Any) -> None:
    _invite(db, _add(db))
    for token in ("", "nope", "x" * 5000):
        with pytest.raises(invitations.InvitationInvalid) as refused:
            _accept(db, token)
        assert refused.value.message.startswith("This invitation link is not valid.")


def test_a_bad_password_leaves_the_link_usable(db: Database, admin: Any) -> None:
    sent = _invite(db, _add(db))
    with pytest.raises(ValidationFailed) as short:
        _accept(db, sent.token, "short")
    assert short.value.message == "Choose a password of at least 8 characters."
    assert _events(db, "user.invitation_accept") == []
    assert _accept(db, sent.token).name == "Dr. New Member"


def test_no_invitation_for_someone_with_a_password_or_deactivated(
        db: Database, admin: Any, make_user: Any) -> None:
    has_password = make_user("member@example.org", "reviewer")
    with pytest.raises(ValidationFailed) as refused:
        _invite(db, has_password.id)
    assert refused.value.message == ("member@example.org has already chosen a password and "
                                     "signs in with it.")
    uid = _add(db)
    with db.transaction() as s:
        user = s.get(User, uid)
        assert user is not None
        users.set_active(s, user, False)
    with pytest.raises(ValidationFailed, match="is deactivated: activate the account"):
        _invite(db, uid)
    assert _count(db, invitations.Invitation) == 0


def test_a_deactivated_persons_open_link_stops_working(db: Database, admin: Any) -> None:
    uid = _add(db)
    sent = _invite(db, uid)
    with db.transaction() as s:
        user = s.get(User, uid)
        assert user is not None
        users.set_active(s, user, False)
    with pytest.raises(invitations.InvitationInvalid, match="This account is deactivated"):
        _accept(db, sent.token)


def test_the_invitation_lifetime_setting(db: Database) -> None:
    assert invitations.lifetime_from_days(None) == WEEK
    assert invitations.lifetime_from_days("3") == timedelta(days=3)
    for bad in ("0", "91", "a week"):
        with pytest.raises(ValueError, match="REVIEW_FLOW_INVITATION_DAYS must be a whole"):
            invitations.lifetime_from_days(bad)


# --- verified credentials before signing -----------------------------------------------

def _under_review(db: Database, people: dict[str, Any]) -> int:
    with db.transaction() as s:
        aid = create_article(s, people["author"], title="Blood pressure", body=BODY,
                                      references=REFS).id
    for action, who in (("submit", "author"), ("start_review", "reviewer")):
        with db.transaction() as s:
            perform_action(s, people[who], aid, action)
    return aid


def _verify(db: Database, email: str, until: date | None) -> None:
    with db.transaction() as s:
        user = users.get_by_email(s, email)
        changes.update_person(s, user, changed_by=None, today=TODAY,
                              credentials_verified_until=until)


def _sign(db: Database, people: dict[str, Any], aid: int, action: str = "approve") -> Any:
    with db.transaction() as s:
        actor = Actor(users.get_by_email(s, "reed@example.org"))
        return perform_action(s, actor, aid, action, password=PASSWORD,
                                       comment="Not supported." if action == "reject" else None)


def _require_verification(db: Database, people: dict[str, Any]) -> None:
    with db.transaction() as s:
        policy_service.set_policy(s, changed_by=people["editor"].user,
                                  changes={"require_verified_credentials": True})


def test_a_lapsed_verification_stops_signing_until_re_verified(db: Database,
                                                               people: Any) -> None:
    today = datetime.now(UTC).date()
    aid = _under_review(db, people)
    _verify(db, "reed@example.org", today - timedelta(days=1))
    for action in ("approve", "reject"):
        with pytest.raises(SignatureRefused) as refused:
            _sign(db, people, aid, action)
        assert refused.value.message == (
            f"Your credentials' verification lapsed on {today:%Y-%m-%d}; an admin must "
            "re-verify them before you can sign.")
        assert refused.value.code == "credentials_lapsed"
    assert _events(db, "signature.failed") == []  # not a password failure
    _verify(db, "reed@example.org", today)  # verified through today: may sign
    assert _sign(db, people, aid).article.state == "approved"


def test_never_verified_may_sign_unless_the_policy_requires_verification(
        db: Database, people: Any) -> None:
    # A round runs under the policy version it opened with (rounds/), this rule included.
    _require_verification(db, people)
    aid = _under_review(db, people)
    with pytest.raises(SignatureRefused) as refused:
        _sign(db, people, aid)
    assert refused.value.message == (
        "Your credentials have not been verified; the policy requires an admin to verify "
        "them before you can sign.")
    assert refused.value.code == "credentials_unverified"
    _verify(db, "reed@example.org", datetime.now(UTC).date() + timedelta(days=365))
    assert _sign(db, people, aid).article.state == "approved"
    with db.transaction() as s:
        policy_service.set_policy(s, changed_by=people["editor"].user,
                                  changes={"require_verified_credentials": False})
    other = _under_review(db, people)
    _verify(db, "reed@example.org", None)
    assert _sign(db, people, other).article.state == "approved"  # the bare default


def test_the_board_list_shows_only_verified_members_when_required(db: Database,
                                                                  people: Any) -> None:
    _verify(db, "reed@example.org", TODAY)
    _verify(db, "okafor@example.org", TODAY - timedelta(days=1))
    with db.reading() as s:
        everyone = [m.name for m in read_models.board_members(s)]
        verified = [m.name for m in read_models.board_members(s, verified_on=TODAY)]
    assert everyone == ["Dr. Chidi Okafor", "Dr. Maya Reed"]
    assert verified == ["Dr. Maya Reed"]
