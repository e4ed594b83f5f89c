"""``review-flow users update``: ops re-verify credentials and change a person's details
without a browser, audited like the admin page; and a lapsed reviewer cannot sign from
the command line. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from review_flow.audit.models import AuditEvent
from review_flow.cli import main
from review_flow.users.models import User
from tests.cli.test_cli import add_users
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS


@pytest.fixture
def cli(db_url: str, db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``review-flow`` in process against this test's database (as in test_cli.py)."""
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(main, list(args), input=input,
                                                   catch_exceptions=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "body.md").write_text(BODY, encoding="utf-8")
    (tmp_path / "refs.json").write_text(json.dumps(REFS), encoding="utf-8")
    return {"body": str(tmp_path / "body.md"), "refs": str(tmp_path / "refs.json")}


def _reed(db: Any) -> User:
    with db.reading() as s:
        user = s.scalar(select(User).where(User.email_key == "reed@example.org"))
        assert user is not None
        _ = user.roles
        s.expunge(user)
        return user


def _updates(db: Any) -> list[dict[str, Any]]:
    with db.reading() as s:
        return [e.data["changes"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.update").order_by(AuditEvent.seq))]


def test_update_changes_the_given_fields_and_audits_old_and_new(cli: Any, db: Any) -> None:
    add_users(cli)
    r = cli("users", "update", "reed@example.org", "--name", "Dr. Maya Reed",
            "--credentials", "MD, FACP, FACC", "--specialty", "Cardiology",
            "--specialty", "Internal Medicine", "--verified-until", "2027-11-30",
            "--role", "reviewer", "--role", "editor")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "name: Reed -> Dr. Maya Reed",
        "credentials: MD, FACP -> MD, FACP, FACC",
        "specialties: (none) -> Cardiology, Internal Medicine",
        "credentials_verified_until: (none) -> 2027-11-30",
        "roles: reviewer -> editor, reviewer",
        "Updated reed@example.org.",
    ]
    user = _reed(db)
    assert str(user.credentials_verified_until) == "2027-11-30"
    assert user.specialties == ["Cardiology", "Internal Medicine"]
    [changes] = _updates(db)
    assert changes["credentials_verified_until"] == {"old": None, "new": "2027-11-30"}
    again = cli("users", "update", "reed@example.org", "--verified-until", "2027-11-30")
    assert again.stdout == "Nothing changed for reed@example.org.\n"
    cleared = cli("users", "update", "reed@example.org", "--verified-until", "none",
                  "--clear-specialties", "--credentials", "")
    assert cleared.exit_code == 0, cleared.output
    user = _reed(db)
    assert (user.credentials_verified_until, user.specialties, user.credentials) == (
        None, [], None)
    assert len(_updates(db)) == 2


def test_update_refuses_bad_input_naming_it_and_writes_nothing(cli: Any, db: Any) -> None:
    add_users(cli)
    for args, message in (
        (["--verified-until", "30/11/2027"],
         "'30/11/2027' is not a date (YYYY-MM-DD) or 'none'"),
        (["--role", "surgeon"], "Error: “surgeon” is not a role; choose from author, "
                                 "reviewer, editor, auditor, admin."),
        (["--name", " "], "Error: Enter a display name."),
        (["--specialty", "Cardiology", "--clear-specialties"],
         "--specialty and --clear-specialties exclude each other"),
    ):
        r = cli("users", "update", "reed@example.org", *args)
        assert r.exit_code != 0, args
        assert message in r.output, (args, r.output)
    missing = cli("users", "update", "nobody@example.org", "--name", "X")
    assert missing.exit_code == 1
    assert "Nobody has the e-mail address nobody@example.org." in missing.output
    assert _updates(db) == []


def test_a_lapsed_reviewer_cannot_sign_from_the_cli_until_re_verified(cli: Any, files: Any,
                                                                     db: Any) -> None:
    add_users(cli)
    today = datetime.now(UTC).date()
    cli("users", "update", "reed@example.org", "--verified-until",
        (today - timedelta(days=1)).isoformat())
    aid = cli("articles", "create", "--as", "author@example.org", "--title", "BP",
              "--body-file", files["body"], "--references-file", files["refs"]).stdout.strip()
    cli("articles", "act", aid, "submit", "--as", "author@example.org")
    cli("articles", "act", aid, "start_review", "--as", "reed@example.org")
    refused = cli("articles", "act", aid, "approve", "--as", "reed@example.org",
                  "--password-stdin", input=PASSWORD + "\n")
    assert refused.exit_code == 1
    assert (f"Error: Your credentials' verification lapsed on {today:%Y-%m-%d}; an admin "
            "must re-verify them before you can sign.") in refused.output
    cli("users", "update", "reed@example.org", "--verified-until",
        (today + timedelta(days=365)).isoformat())
    signed = cli("articles", "act", aid, "approve", "--as", "reed@example.org",
                 "--password-stdin", input=PASSWORD + "\n")
    assert signed.exit_code == 0, signed.output
    assert "under_review -> approved" in signed.stdout
