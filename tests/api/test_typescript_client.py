"""A second mainstream generator takes the document whole: @hey-api/openapi-ts writes a
TypeScript client from ``/api/v1/openapi.json`` (into a temporary folder) without a warning,
with one function per operation, and the TypeScript compiler accepts it under ``strict``.

The generator and the compiler are pinned and installed with npm into a cache folder outside
the checkout (reused by later runs): nothing is written into the repository. Without node
and npm the test is skipped, unless ``REVIEW_FLOW_REQUIRE_NODE=1`` (CI), where it fails."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

# The exact versions checked: openapi-ts 0.95 crashes under TypeScript 7.
PINS = {"@hey-api/openapi-ts": "0.95.0", "typescript": "5.9.3"}
CACHE = Path(tempfile.gettempdir()) / "review-flow-npm-cache"
# Strict, and nothing from outside the generated folder: it must stand alone.
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM", "DOM.Iterable"], "types": [],
        "strict": True, "noEmit": True,
    },
    "include": ["client"],
}
QUIET = {"npm_config_update_notifier": "false", "npm_config_fund": "false",
         "npm_config_audit": "false", "NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}


def _tools() -> tuple[str, str]:
    """(node, npm); skip without them, fail under REVIEW_FLOW_REQUIRE_NODE=1."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
    if os.environ.get("REVIEW_FLOW_REQUIRE_NODE") == "1":
        pytest.fail(f"{missing} not installed, and REVIEW_FLOW_REQUIRE_NODE=1 requires them")
    pytest.skip(f"{missing} not installed: the TypeScript client is not generated")


def _installed() -> bool:
    for name, version in PINS.items():
        manifest = CACHE / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


def _install(npm: str) -> Path:
    """The pinned packages in the cache folder (installed once; a lock keeps parallel runs
    from installing over each other); returns its node_modules/.bin."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            (CACHE / "package.json").write_text(json.dumps(
                {"name": "review-flow-npm-cache", "private": True, "dependencies": PINS}))
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error"],
                cwd=CACHE, capture_output=True, text=True, timeout=300,
                env={**os.environ, **QUIET},
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert _installed(), "npm install did not leave the pinned versions"
    return CACHE / "node_modules" / ".bin"


def _document(tmp: Path) -> dict[str, Any]:
    """The document, from an app of its own: it does not depend on the database."""
    from review_flow.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp / 'unused.db'}"})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert isinstance(document, dict)
    return document


def _camel(operation_id: str) -> str:
    """openapi-ts's name for an operation: create_article -> createArticle."""
    head, *rest = operation_id.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def test_openapi_ts_generates_every_operation_and_tsc_accepts_it(
    tmp_path: Path,
) -> None:
    node, npm = _tools()
    bin_dir = _install(npm)
    spec = _document(tmp_path)
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    env = {**os.environ, **QUIET, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ['PATH']}"}

    done = subprocess.run(
        [str(bin_dir / "openapi-ts"), "--input", "openapi.json", "--output", "client"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # Any warning or error means a piece of the API was skipped or mistyped.
    assert not re.search(r"warn|error", output, re.IGNORECASE), output

    operations = {op["operationId"] for item in spec["paths"].values()
                  for method, op in item.items() if method != "description"}
    assert len(operations) >= 19
    sdk = (tmp_path / "client" / "sdk.gen.ts").read_text()
    exported = set(re.findall(r"^export const (\w+) =", sdk, re.MULTILINE))
    assert exported == {_camel(op) for op in operations}

    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    checked = subprocess.run(
        [str(bin_dir / "tsc"), "--project", "tsconfig.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
