"""Real servers for end-to-end tests: the app under gunicorn on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(db_url: str, *, workers: int = 2, env: dict[str, str] | None = None,
             health_path: str = "/healthz", timeout: float = 30.0) -> Iterator[str]:
    """Serve ``wsgi:app`` with gunicorn on 127.0.0.1; yields the base URL."""
    port = free_port()
    full_env = {
        **os.environ,
        "REVIEW_FLOW_DATABASE_URL": db_url,
        "REVIEW_FLOW_SECRET_KEY": "test-secret-key-not-for-production",
        "REVIEW_FLOW_FAST_PASSWORD_HASHING": "1",
        "REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        # Unthrottled unless a test (env=) turns rate limits on; the benchmark too.
        "REVIEW_FLOW_API_RATE_LIMIT": "off",
        "REVIEW_FLOW_API_RATE_LIMIT_PER_ADDRESS": "off",
        **(env or {}),
    }
    gunicorn_bin = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [gunicorn_bin, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{out}")
            try:
                with urlopen(base + health_path, timeout=2):
                    break
            except (URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer in time") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()  # else a ResourceWarning, an error under filterwarnings
