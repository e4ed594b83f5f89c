"""The command line exactly as DESIGN.md gives it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from review_flow.cli import main
from review_flow.users.models import User
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS, snapshot

BIN = Path(sys.executable).parent


@pytest.fixture
def cli(db_url, db, tmp_path, monkeypatch):
    """Invoke ``review-flow`` in process against this test's database."""
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def files(tmp_path):
    body = tmp_path / "body.md"
    body.write_text(BODY, encoding="utf-8")
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps(REFS), encoding="utf-8")
    return {"body": str(body), "refs": str(refs), "dir": tmp_path}


def add_users(cli):
    for email, role, extra in (
        ("author@example.org", "author", []),
        ("reed@example.org", "reviewer", ["--credentials", "MD, FACP"]),
    ):
        r = cli(
            "users",
            "add",
            email,
            "--name",
            email.split("@")[0].title(),
            "--role",
            role,
            *extra,
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        assert r.exit_code == 0, r.stderr


def test_full_path_through_the_cli(cli, files):
    add_users(cli)
    r = cli("users", "list")
    assert "reed@example.org" in r.stdout and "reviewer" in r.stdout
    r = cli(
        "articles",
        "create",
        "--as",
        "author@example.org",
        "--title",
        "Blood pressure",
        "--body-file",
        files["body"],
        "--references-file",
        files["refs"],
    )
    assert r.exit_code == 0, r.stderr
    article_id = r.stdout.strip()
    assert article_id.isdigit()  # the id alone on stdout
    for who, action in (("author", "submit"), ("reed", "start_review")):
        r = cli("articles", "act", article_id, action, "--as", f"{who}@example.org")
        assert r.exit_code == 0, r.stderr
    r = cli(
        "articles",
        "act",
        article_id,
        "approve",
        "--as",
        "reed@example.org",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.stderr
    assert "under_review -> approved" in r.stdout
    r = cli("articles", "show", article_id, "--json")
    data = json.loads(r.stdout)
    assert data["state"] == "approved"
    assert data["version"] == 4
    assert data["slug"] == "blood-pressure"
    assert data["title"] == "Blood pressure"
    assert data["current_revision"]["number"] == 1
    assert data["approved_revision"] == data["current_revision"]
    assert data["current_revision"]["content_hash"].startswith("sha256:")
    assert set(data["allowed_actions"]) == {"retract", "request_rereview"}
    r = cli("articles", "show", article_id, "--json", "--as", "author@example.org")
    assert json.loads(r.stdout)["allowed_actions"] == []
    r = cli("audit", "verify")
    assert r.exit_code == 0 and r.stdout.startswith("OK: 6 events verified")
    r = cli("audit", "export", "--format", "jsonl", "--article", article_id)
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["action"] for e in events] == [
        "article.create",
        "article.submit",
        "article.start_review",
        "article.approve",
    ]
    assert events[-1]["actor"] == "Reed"
    r = cli("audit", "export", "--format", "csv", "--since", "2000-01-01T00:00:00Z")
    assert r.stdout.splitlines()[0].startswith("seq,at,actor,")
    # The six events of the story, then the first export's own record (this export's
    # record comes after what it holds).
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 7 and rows[-1]["action"] == "audit.export"
    assert json.loads(rows[-1]["data"])["filter"] == {"article": article_id}


def test_workflow_show(cli):
    r = cli("workflow", "show")
    assert "start_review" in r.stdout and "separation_of_duties" in r.stdout
    r = cli("workflow", "show", "--format", "mermaid")
    assert "stateDiagram-v2" in r.stdout
    assert "under_review --> approved: approve" in r.stdout


def _refused(result, *needles: str) -> None:
    assert result.exit_code != 0
    assert result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_bad_input_is_refused_clearly_and_writes_nothing(cli, files, db):
    add_users(cli)
    r = cli(
        "articles",
        "create",
        "--as",
        "author@example.org",
        "--title",
        "T",
        "--body-file",
        files["body"],
        "--references-file",
        files["refs"],
    )
    aid = r.stdout.strip()
    before = snapshot(db, int(aid))
    bad_json = files["dir"] / "bad.json"
    bad_json.write_text('[{"title": "x", ', encoding="utf-8")
    no_locator = files["dir"] / "nolocator.json"
    no_locator.write_text('[{"title": "x"}]', encoding="utf-8")

    _refused(
        cli(
            "articles",
            "create",
            "--as",
            "author@example.org",
            "--title",
            "T",
            "--body-file",
            str(files["dir"] / "missing.md"),
        ),
        "--body-file",
        "does not exist",
    )
    _refused(
        cli(
            "articles",
            "create",
            "--as",
            "author@example.org",
            "--title",
            "T",
            "--body-file",
            files["body"],
            "--references-file",
            str(bad_json),
        ),
        "not valid JSON",
        "line 1",
    )
    _refused(
        cli(
            "articles",
            "create",
            "--as",
            "author@example.org",
            "--title",
            "T",
            "--body-file",
            files["body"],
            "--references-file",
            str(no_locator),
        ),
        "Reference 1: add a URL, DOI or PMID",
    )
    _refused(
        cli("users", "add", "x@example.org", "--name", "X", "--role", "wizard"),
        "“wizard” is not a role; choose from author, reviewer, editor, auditor, admin.",
    )
    _refused(
        cli("articles", "act", aid, "publish", "--as", "author@example.org"),
        "unknown action 'publish'",
        "submit",
    )
    _refused(
        cli("articles", "act", "9999", "submit", "--as", "author@example.org"),
        "Article 9999 does not exist",
    )
    _refused(cli("articles", "show", "9999"), "Article 9999 does not exist")
    _refused(
        cli("articles", "act", aid, "submit", "--as", "nobody@example.org"),
        "Nobody has the e-mail address nobody@example.org.",
    )
    _refused(
        cli(
            "articles",
            "act",
            aid,
            "approve",
            "--as",
            "reed@example.org",
            "--password-stdin",
            input="whatever\n",
        ),
        "You cannot approve article",
        "it is a draft",
    )
    cli("articles", "act", aid, "submit", "--as", "author@example.org")
    cli("articles", "act", aid, "start_review", "--as", "reed@example.org")
    before = snapshot(db, int(aid))
    _refused(
        cli(
            "articles",
            "act",
            aid,
            "approve",
            "--as",
            "reed@example.org",
            "--password-stdin",
            input="wrong password\n",
        ),
        "password is not correct",
    )
    # A wrong password leaves only its security event (signature.failed) behind.
    state, version, current, approved, events = before
    assert snapshot(db, int(aid)) == (state, version, current, approved, events + 1)
    before = snapshot(db, int(aid))
    _refused(cli("articles", "act", aid, "approve", "--as", "reed@example.org"), "--password-stdin")
    _refused(
        cli("articles", "act", aid, "request_changes", "--as", "reed@example.org"),
        "Write a comment telling the author what to change",
    )
    _refused(cli("audit", "export", "--since", "yesterday"), "not an ISO 8601 time")
    assert snapshot(db, int(aid)) == before


def test_audit_verify_fails_naming_the_event(cli, files, db, backend):
    from sqlalchemy import text

    add_users(cli)
    with db.transaction() as s:
        if backend == "sqlite":
            s.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        s.execute(text("UPDATE audit_events SET comment = 'x' WHERE seq = 2"))
    r = cli("audit", "verify")
    assert r.exit_code == 1
    assert "event 2" in r.stderr and "edited" in r.stderr


def test_demo_loads_every_state(cli):
    r = cli("demo")
    assert r.exit_code == 0, r.stderr
    assert "demo-password" in r.stdout and "reed@example.org" in r.stdout
    states = set()
    for i in range(1, 9):
        states.add(json.loads(cli("articles", "show", str(i), "--json").stdout)["state"])
    assert states == {
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "approved",
        "rejected",
        "retracted",
    }
    assert cli("audit", "verify").exit_code == 0
    r = cli("demo")
    assert r.exit_code != 0 and "already has users" in r.stderr
    assert cli("demo", "--if-empty").exit_code == 0


def test_console_script_and_flask_app_entry(db_url, tmp_path, files):
    """The installed ``review-flow`` script and ``flask --app wsgi`` both work."""
    env = {
        **os.environ,
        "REVIEW_FLOW_DATABASE_URL": db_url,
        "REVIEW_FLOW_SECRET_KEY": "x" * 32,
        "REVIEW_FLOW_INSTANCE_PATH": str(tmp_path),
    }
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [BIN / "review-flow", "db", "upgrade"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "at revision" in r.stdout
    r = subprocess.run(
        [BIN / "flask", "--app", "wsgi", "workflow", "show"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "start_review" in r.stdout, r.stderr
    r = subprocess.run(
        [BIN / "review-flow", "articles", "show", "1"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and "Error: Article 1 does not exist." in r.stderr


def test_users_add_records_specialties_and_verified_until(cli, db):
    r = cli("users", "add", "doc@example.org", "--name", "Dr. Ada Doc", "--role", "reviewer",
            "--credentials", "MD", "--specialty", "Cardiology", "--verified-until", "2027-06-30",
            "--password-stdin", input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    with db.reading() as s:
        user = s.scalar(select(User).where(User.email_key == "doc@example.org"))
        assert user.specialties == ["Cardiology"]
        assert str(user.credentials_verified_until) == "2027-06-30"
    bad = cli("users", "add", "doc2@example.org", "--name", "X", "--role", "reviewer",
              "--verified-until", "30/06/2027")
    assert bad.exit_code != 0
    assert "--verified-until" in bad.output
    with db.reading() as s:
        assert s.scalar(select(User.id).where(User.email_key == "doc2@example.org")) is None
