"""The wheel runs as a new user would run it: built from the checkout, installed into a
fresh virtual environment outside it, with no path back to the source tree.

It builds an sdist and from it the wheel (``python -m build``) out of a copy of the
checkout's files (a build writes ``build/`` and ``*.egg-info`` beside its sources; the
checkout stays untouched), installs the wheel with its declared dependencies only (so
an undeclared import fails here), upgrades a new database, adds a user, and
signs in through gunicorn serving ``review_flow.wsgi:app``: templates, static files and
migrations all come from inside the installed package. The database is a new SQLite
file and, when the test server answers, an empty PostgreSQL database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import _pg_admin_url, new_pg_database
from tests.support.servers import ROOT, gunicorn

pytestmark = pytest.mark.slow

PASSWORD = "a wheel that runs"


def _checkout_files() -> list[str]:
    """Tracked files and new ones not ignored: what a clean checkout would hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout
    return [name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None,
         timeout: float = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this checkout's venv or settings leaking in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REVIEW_FLOW_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its ``bin`` folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in _checkout_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = _clean_env()
    # The source distribution first, then the wheel from it: what MANIFEST.in leaves out
    # of the sdist is missing from the wheel too, and fails here.
    _run([sys.executable, "-m", "build", "--outdir", str(base / "dist"), str(source)],
         cwd=base, env=env)
    [wheel] = (base / "dist").glob("review_flow-*.whl")
    _run([sys.executable, "-m", "venv", str(base / "venv")], cwd=base, env=env)
    bin_dir = base / "venv" / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
         cwd=base, env=env)
    return bin_dir


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path) -> None:
    where = _run([str(installed / "python"), "-c",
                  "import review_flow.resources as r, review_flow.wsgi as w; "
                  "print(w.__file__); print(r.templates_dir()); print(r.migrations_dir())"],
                 cwd=installed.parent.parent,
                 env=_clean_env(REVIEW_FLOW_SECRET_KEY="x" * 40,
                                REVIEW_FLOW_DATABASE_URL="sqlite://"))
    site = str(installed.parent / "lib")
    lines = where.split()
    assert len(lines) == 3 and all(line.startswith(site) for line in lines), lines
    assert lines[1].endswith("review_flow/_templates")
    assert lines[2].endswith("review_flow/_migrations")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it yet, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    admin_url, reason = _pg_admin_url()
    if admin_url is None:
        pytest.skip(reason)
    yield from new_pg_database(admin_url)


def test_the_installed_wheel_upgrades_a_database_and_signs_in_through_gunicorn(
    installed: Path, tmp_path: Path, empty_db_url: str
) -> None:
    db_url = empty_db_url
    env = _clean_env(REVIEW_FLOW_DATABASE_URL=db_url, REVIEW_FLOW_INSTANCE_PATH=str(tmp_path))
    cli = str(installed / "review-flow")

    assert "Create or upgrade the schema" in _run([cli, "db", "--help"], cwd=tmp_path, env=env)
    assert re.search(r"^\s+users\s", _run([cli, "--help"], cwd=tmp_path, env=env), re.M)
    upgraded = _run([cli, "db", "upgrade"], cwd=tmp_path, env=env)
    assert re.search(r"is at revision \w+\.$", upgraded.strip()), upgraded
    added = _run([cli, "users", "add", "wheel@example.org", "--name", "Wheel Tester",
                  "--role", "author", "--password-stdin"], cwd=tmp_path, env=env,
                 stdin=PASSWORD + "\n")
    assert "wheel@example.org" in added

    with gunicorn(db_url, workers=1, app="review_flow.wsgi:app", bin_dir=installed,
                  cwd=tmp_path, env={"REVIEW_FLOW_INSTANCE_PATH": str(tmp_path)}) as base:
        http = requests.Session()
        style = http.get(f"{base}/assets/style.css", timeout=30)
        assert style.status_code == 200 and "text/css" in style.headers["Content-Type"]
        form = http.get(f"{base}/sign-in", timeout=30)
        assert form.status_code == 200 and "<h1>Sign in</h1>" in form.text
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
        assert match, form.text
        wrong = http.post(f"{base}/sign-in", timeout=30, data={
            "csrf_token": match.group(1), "email": "wheel@example.org", "password": "nope"})
        assert wrong.status_code == 401 and "Signed in as" not in wrong.text
        signed_in = http.post(f"{base}/sign-in", timeout=30, data={
            "csrf_token": match.group(1), "email": "wheel@example.org", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        assert "Signed in as Wheel Tester." in signed_in.text
        assert signed_in.history and signed_in.history[0].status_code == 303
