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
    """A port nobody listens on now. Another process may take it before the caller binds
    it: prefer :func:`listening_socket`, and retry on EADDRINUSE where a server can only
    be given a number (aiosmtpd)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_socket() -> socket.socket:
    """A loopback socket already bound and listening, for a server process to inherit
    (gunicorn's ``--bind fd://N``): no other process can take the port in between."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


@contextmanager
def gunicorn(db_url: str, *, workers: int = 2, env: dict[str, str] | None = None,
             health_path: str = "/healthz", timeout: float = 120.0,
             app: str = "wsgi:app", bin_dir: Path | None = None,
             cwd: Path = ROOT) -> Iterator[str]:
    """Serve ``app`` with gunicorn on 127.0.0.1; yields the base URL. ``bin_dir`` names
    another environment's scripts folder (an installed wheel), ``cwd`` where it runs."""
    listener = listening_socket()
    port = listener.getsockname()[1]
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
    gunicorn_bin = str((bin_dir or Path(sys.executable).parent) / "gunicorn")
    try:
        proc = subprocess.Popen(
            [gunicorn_bin, "--bind", f"fd://{listener.fileno()}", "--workers", str(workers),
             "--log-level", "warning", app],
            cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    finally:
        listener.close()  # gunicorn holds its own copy
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
