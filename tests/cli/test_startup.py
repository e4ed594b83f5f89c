"""``review-flow --help`` starts fast because it loads nothing it does not need.

Not a timing test (times depend on the machine): it checks in a fresh interpreter which
modules the help screens import. The database layer, migrations, the web UI, the API,
cryptography and HTTP clients belong to commands that run, not to listing them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask.cli import ScriptInfo

from review_flow.app import create_app
from review_flow.cli import main

HEAVY = (
    "sqlalchemy", "alembic", "psycopg", "pydantic", "spectree", "cryptography", "argon2",
    "requests", "urllib3", "markdown_it", "nh3", "transitions", "tqdm", "flask_login",
    "flask_wtf", "review_flow.app", "review_flow.db", "review_flow.web",
    "review_flow.api.blueprint", "review_flow.articles.actions", "review_flow.audit.log",
    "review_flow.notifications.webhooks",
)

PROBE = """
import json, sys
from review_flow.cli import main
try:
    main(sys.argv[2:], prog_name="review-flow")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def _modules_loaded_by(args: list[str], tmp_path: Path) -> tuple[set[str], str]:
    report = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(report), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(report.read_text())), proc.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["users", "--help"], ["audit", "verify", "--help"],
             ["webhooks", "add", "--help"], ["outbox", "--help"]],
)
def test_help_screens_load_no_database_web_or_api_code(args: list[str], tmp_path: Path) -> None:
    loaded, output = _modules_loaded_by(args, tmp_path)
    assert output.startswith("Usage: review-flow")
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"'review-flow {' '.join(args)}' imported {heavy}"


def test_the_help_lists_every_command_without_building_the_app(tmp_path: Path) -> None:
    loaded, output = _modules_loaded_by(["--help"], tmp_path)
    for name in ("db", "users", "articles", "audit", "workflow", "demo", "tokens", "webhooks",
                 "notifications", "outbox", "api", "run"):
        assert f"\n  {name} " in output, name
    assert "review_flow.app" not in loaded


def test_the_command_line_and_the_app_offer_the_same_commands(tmp_path: Path) -> None:
    """``flask --app wsgi`` (the app's commands) and ``review-flow`` stay one list."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    ctx = main.make_context("review-flow", ["--help"], resilient_parsing=True,
                            obj=ScriptInfo(create_app=lambda: app))
    app_commands = set(app.cli.list_commands(ctx))
    assert app_commands and app_commands <= set(main.list_commands(ctx))
    for name in app_commands:
        assert main.get_command(ctx, name) is app.cli.get_command(ctx, name)


@pytest.mark.parametrize("first", ["review_flow.api.cli", "review_flow.cli", "review_flow.app"])
def test_the_command_modules_import_in_any_order(first: str) -> None:
    code = (f"import {first}; from review_flow.cli import main; "
            "print(' '.join(main.list_commands(None)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {"db", "tokens", "webhooks", "outbox"} <= set(proc.stdout.split())


# (flask_limiter is loaded by Flask itself, for its ``flask limiter`` plugin command.)
WEB_AND_API = ("review_flow.web", "review_flow.api.blueprint", "spectree", "flask_login",
               "flask_wtf", "review_flow.notifications.webhooks", "requests")


def test_audit_verify_runs_without_building_the_web_ui_or_the_api(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``review-flow audit verify`` needs the configuration and the database only; the web
    UI and API (most of an app's start-up) stay unimported, and the verdict is given. On
    SQLite it builds no app at all, nor imports SQLAlchemy or the models, so its workers
    start before that half second of imports (``cli._verify_sqlite_without_app``)."""
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    loaded, output = _modules_loaded_by(["audit", "verify"], tmp_path)
    assert output.startswith("OK: 0 events verified"), output
    assert "review_flow.audit.verify" in loaded
    heavy = sorted(
        m for m in loaded if any(m == h or m.startswith(h + ".") for h in WEB_AND_API)
    )
    assert heavy == [], f"'review-flow audit verify' imported {heavy}"
    app_and_orm = {"review_flow.app", "review_flow.db", "sqlalchemy", "review_flow.audit.models"}
    assert "flask_limiter" not in loaded  # Flask's plugin commands: not for ours
    if db_url.startswith("sqlite"):
        assert app_and_orm.isdisjoint(loaded), sorted(app_and_orm & loaded)
    else:  # PostgreSQL: the app with its configuration and database only
        assert app_and_orm <= loaded


def test_audit_verify_under_an_app_uses_that_app(db_url: str, tmp_path: Path) -> None:
    """Under ``flask --app`` (or a test's app) the command runs with that app's settings:
    here its database, named only in the app's configuration."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 0 events verified")


@pytest.mark.parametrize(
    "env",
    [
        {"REVIEW_FLOW_DATABASE_URL": "sqlite:////srv/rf/a b.sqlite3"},
        {"REVIEW_FLOW_DATABASE_URL": "sqlite:///relative/rf.sqlite3"},
        {"REVIEW_FLOW_DATABASE_URL": "", "REVIEW_FLOW_INSTANCE_PATH": "/srv/rf/instance"},
        {"REVIEW_FLOW_INSTANCE_PATH": "/srv/rf/instance"},
        {},  # the instance folder under the working directory
        {"REVIEW_FLOW_DATABASE_URL": "sqlite:///rf%20x.sqlite3"},
        {"REVIEW_FLOW_DATABASE_URL": "sqlite:///file:rf?mode=ro&uri=true"},
        {"REVIEW_FLOW_DATABASE_URL": "sqlite://"},
        {"REVIEW_FLOW_DATABASE_URL": "sqlite+pysqlite:////srv/rf.sqlite3"},
        {"REVIEW_FLOW_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/rf"},
    ],
)
def test_the_sqlite_file_before_the_app_is_the_one_the_app_opens(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config.sqlite_file_from_environment`` names the file ``create_app`` opens, or
    None, and then the command builds the app as before (never a different file)."""
    from sqlalchemy import make_url

    from review_flow.config import sqlite_file_from_environment

    monkeypatch.chdir(tmp_path)
    for name in ("REVIEW_FLOW_DATABASE_URL", "REVIEW_FLOW_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(Path, "mkdir", lambda *a, **k: None)  # create_app makes the folder
    url = make_url(create_app({"TESTING": True}, interfaces=False).config["DATABASE_URL"])
    path = sqlite_file_from_environment()
    if path is not None:
        assert url.drivername == "sqlite" and path == url.database
    else:  # only a URL the simple reading cannot be sure of
        given = env.get("REVIEW_FLOW_DATABASE_URL", "")
        assert given and (not given.startswith("sqlite:///") or any(c in given for c in "%?"))
