"""The Makefile's promises that need no server: ``make run PORT=…`` and the targets that
keep the tree clean (dry runs: ``make -n`` prints the commands without running them)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return proc.stdout


@pytest.mark.parametrize(("args", "port"), [((), "5000"), (("PORT=8123",), "8123")])
def test_make_run_serves_on_the_port_given(args: tuple[str, ...], port: str) -> None:
    out = _dry_run("run", *args)
    assert f"review-flow run --host 127.0.0.1 --port {port}" in out
    assert f"http://127.0.0.1:{port}/" in out


def test_make_test_runs_ruff_and_mypy_and_checks_the_tree() -> None:
    out = _dry_run("test")
    assert "ruff check ." in out and ".venv/bin/mypy" in out and "pytest" in out
    assert out.index(".venv/bin/mypy") < out.index("pytest")
    assert "make test changed files in the working tree" in out


def test_make_screenshots_writes_the_readme_pictures() -> None:
    out = _dry_run("screenshots")
    assert f"REVIEW_FLOW_SCREENSHOTS={ROOT}/docs/screenshots" in out
    assert "tests/browser/test_journey.py" in out
