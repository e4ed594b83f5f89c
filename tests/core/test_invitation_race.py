"""One invitation link used twice at once (two tabs, or a link forwarded and clicked by
two people): on PostgreSQL exactly one acceptance sets the password, the other is refused
with a clear message, and the log holds one acceptance. The same for a sweep recording
the link as expired at the moment it is accepted: one of the two, never both."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_all
from review_flow.db import Database
from review_flow.sweep.invitations import ExpiredInvitationLinks
from review_flow.sweep.service import sweep
from review_flow.timeutil import utcnow
from review_flow.users import invitations
from review_flow.users import service as users
from review_flow.users.models import User
from review_flow.users.passwords import verify_password
from tests.support.webhook_config import TEST_WEBHOOKS

PASSWORDS = ("first correct horse battery", "second correct horse battery")


def _invite(db: Database) -> str:
    with db.transaction() as s:
        person = users.add_user(s, email="lee@example.org", name="Dr. Jordan Lee",
                                roles=["reviewer"], password=None)
        return invitations.invite(s, person, seal=TEST_WEBHOOKS.box.seal,
                                  lifetime=timedelta(days=7), now=utcnow(),
                                  invited_by=None).token


def _both_past_the_check(monkeypatch: Any) -> None:
    """Hold each acceptance after it has checked the link and the password, until both
    have: the race is then decided where it must be, at the conditional UPDATE."""
    real = invitations.users.check_new_password
    barrier = threading.Barrier(2)
    waited = threading.local()

    def checked_then_wait(password: str) -> str:
        result = real(password)
        if not getattr(waited, "done", False):  # set_password checks again: pass then
            waited.done = True
            barrier.wait(timeout=30)
        return result

    monkeypatch.setattr(invitations.users, "check_new_password", checked_then_wait)


def _accept_in_threads(db_url: str, token: str, passwords: tuple[str, ...]) -> list[Any]:
    start = threading.Barrier(len(passwords))
    results: list[Any] = [None] * len(passwords)

    def accept(i: int) -> None:
        own = Database(db_url)
        try:
            start.wait()
            with own.transaction() as s:
                results[i] = invitations.accept(s, token, passwords[i], now=utcnow()).id
        except Exception as exc:  # the refusal is the result we look at
            results[i] = exc
        finally:
            own.dispose()

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_one_link_accepted_twice_at_once_sets_one_password(db_url: str, db: Database,
                                                           backend: str, monkeypatch: Any):
    if backend != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes writers")
    token = _invite(db)
    _both_past_the_check(monkeypatch)
    results = _accept_in_threads(db_url, token, PASSWORDS)
    winners = [i for i, r in enumerate(results) if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, invitations.InvitationInvalid)]
    assert len(winners) == 1 and len(refused) == 1, results
    assert refused[0].message == (
        "This invitation link was already used. Sign in with the password you chose.")
    assert refused[0].details == {"reason": "used"}
    with db.reading() as s:
        user = s.scalars(select(User).where(User.email == "lee@example.org")).one()
        assert user.password_hash is not None
        assert verify_password(user.password_hash, PASSWORDS[winners[0]])
        assert not verify_password(user.password_hash, PASSWORDS[1 - winners[0]])
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.object_id == str(user.id)).order_by(AuditEvent.seq)))
        assert actions.count("user.invitation_accept") == 1
        assert actions.count("user.password_change") == 1
        row = s.scalars(select(invitations.Invitation)).one()
        assert row.used_at is not None and row.expired_at is None
        assert verify_all(s).ok
    # Afterwards the link stays refused.
    with pytest.raises(invitations.InvitationInvalid, match="already used"), \
            db.transaction() as s:
        invitations.accept(s, token, "third correct horse battery", now=utcnow())


def test_a_sweep_expiring_the_link_while_it_is_accepted_leaves_one_outcome(
        db_url: str, db: Database, backend: str, monkeypatch: Any):
    """The link's last moment: the sweep (judging a minute past expiry) and the person
    (judging by a clock just before it) act at once. Either the password is set and the
    sweep records nothing, or the sweep records the expiry and the person is told so."""
    if backend != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes writers")
    token = _invite(db)
    with db.reading() as s:
        expires = s.scalars(select(invitations.Invitation)).one().expires_at
    start = threading.Barrier(2)
    out: dict[str, Any] = {}

    def person() -> None:
        own = Database(db_url)
        try:
            start.wait()
            with own.transaction() as s:
                out["person"] = invitations.accept(s, token, PASSWORDS[0],
                                                   now=expires - timedelta(seconds=1)).id
        except Exception as exc:
            out["person"] = exc
        finally:
            own.dispose()

    def sweeper() -> None:
        own = Database(db_url)
        try:
            start.wait()
            out["sweep"] = sweep(own, expires + timedelta(minutes=1),
                                 steps=[ExpiredInvitationLinks()])
        finally:
            own.dispose()

    threads = [threading.Thread(target=person), threading.Thread(target=sweeper)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    expired = out["sweep"].steps[0].done
    with db.reading() as s:
        row = s.execute(select(invitations.Invitation.id, invitations.Invitation.used_at,
                               invitations.Invitation.expired_at)).one()
        password_hash = s.scalar(select(User.password_hash).where(
            User.email == "lee@example.org"))
    if isinstance(out["person"], int):
        assert expired == [] and row.expired_at is None and row.used_at is not None
        assert password_hash is not None
    else:
        assert isinstance(out["person"], invitations.InvitationInvalid), out["person"]
        assert out["person"].message.startswith("This invitation link expired on ")
        assert expired == [row.id] and row.used_at is None and password_hash is None
        assert row.expired_at is not None


def test_a_link_expired_by_a_sweep_between_check_and_use_is_refused_as_expired(
        db_url: str, db: Database, backend: str, monkeypatch: Any):
    """Deterministic: the sweep commits (its own connection) after the person's request
    has checked the link and before it spends it. The spend then finds it expired and
    says so (not "already used"), and no password is set."""
    if backend != "postgresql":
        pytest.skip("a second writer mid-transaction needs PostgreSQL")
    token = _invite(db)
    with db.reading() as s:
        expires = s.scalars(select(invitations.Invitation)).one().expires_at
    real = invitations.users.check_new_password
    swept: list[Any] = []

    def sweep_in_between(password: str) -> str:
        if not swept:
            other = Database(db_url)
            try:
                swept.append(sweep(other, expires, steps=[ExpiredInvitationLinks()]))
            finally:
                other.dispose()
        return real(password)

    monkeypatch.setattr(invitations.users, "check_new_password", sweep_in_between)
    with pytest.raises(invitations.InvitationInvalid) as refused, db.transaction() as s:
        invitations.accept(s, token, PASSWORDS[0], now=expires - timedelta(seconds=1))
    assert swept[0].steps[0].done != []
    assert refused.value.details == {"reason": "expired"}
    assert refused.value.message == (
        f"This invitation link expired on {expires:%Y-%m-%d %H:%M} UTC. Ask an admin to send "
        "a new invitation.")
    with db.reading() as s:
        assert s.scalar(select(User.password_hash).where(
            User.email == "lee@example.org")) is None
