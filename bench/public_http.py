"""Benchmark: the public article page over HTTP, full answers and revalidations (304),
for several gunicorn worker types and counts; to choose the production setting.

    .venv/bin/python bench/public_http.py [--backend postgresql|sqlite] [--seconds 3]
                                          [--repeats 3] [--clients 8] [--write]
                                          [--configs sync:2,sync:3,sync:4,gthread:2x4]

Each configuration is one gunicorn (``wsgi:app`` on 127.0.0.1) on the demo data of
``bench/web.py``; reader threads without a session ask for one approved article for
``--seconds``, ``--repeats`` times in turn per mode: "full" (no validator: 200 with the
page) and "revalidate" (``If-None-Match`` with the page's ETag: 304, what a CDN or a
browser sends once its copy is older than ``max-age``). The client is ``http.client`` with
keep-alive where the server keeps the connection (gthread), a new one per request where it
closes it (sync), or always a new one with ``--close``. ``--write`` puts the table into
docs/PERFORMANCE.md between the "public-http-bench" markers.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from _common import fresh_database  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

from api import _descendants_cpu_s  # noqa: E402
from review_flow.users import passwords  # noqa: E402
from web import PUBLIC, load_data  # noqa: E402

PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- public-http-bench:start -->", "<!-- public-http-bench:end -->"
HOST = {"Host": "reviews.example.org"}


def _run(base: str, etag: str | None, seconds: float, clients: int,
         close: bool = False) -> dict[str, float]:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    headers = {**HOST, **({"If-None-Match": etag} if etag else {}),
               **({"Connection": "close"} if close else {})}
    want = 304 if etag else 200
    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection(host, port, timeout=30)
        gate.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                conn.request("GET", PUBLIC, headers=headers)
                r = conn.getresponse()
                r.read()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                with lock:
                    errors.append(repr(exc))
                continue
            if r.will_close:
                conn.close()
            if r.status != want:
                with lock:
                    errors.append(str(r.status))
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    cpu0 = _descendants_cpu_s()
    started = time.perf_counter()
    gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server_cpu = _descendants_cpu_s() - cpu0
    assert not errors, f"{len(errors)} failed requests: {errors[:5]}"
    samples.sort()
    return {"rps": len(samples) / elapsed, "n": len(samples),
            "p50": statistics.median(samples) * 1000,
            "p95": samples[int(len(samples) * 0.95)] * 1000,
            "cpu_ms": server_cpu * 1000 / max(len(samples), 1)}


def measure(db_url: str, kind: str, workers: int, threads: int, seconds: float,
            repeats: int, clients: int, close: bool = False) -> dict[str, dict[str, Any]]:
    args = f"--worker-class {kind}" + (f" --threads {threads}" if kind == "gthread" else "")
    with gunicorn(db_url, workers=workers, env={"GUNICORN_CMD_ARGS": args}) as base:
        host, port = urlsplit(base).hostname, urlsplit(base).port
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", PUBLIC, headers=HOST)
        first = conn.getresponse()
        first.read()
        conn.close()
        assert first.status == 200, first.status
        etag = first.getheader("ETag")
        assert etag, "no ETag on the public page"
        _run(base, None, 1.0, clients)  # warm every worker's page cache
        runs: dict[str, list[dict[str, float]]] = {"full": [], "revalidate": []}
        for _ in range(repeats):  # interleaved, so a load spike hits both modes alike
            runs["full"].append(_run(base, None, seconds, clients, close))
            runs["revalidate"].append(_run(base, etag, seconds, clients, close))
    out = {}
    for mode, results in runs.items():
        rates = [r["rps"] for r in results]
        out[mode] = {"median": statistics.median(rates), "low": min(rates), "high": max(rates),
                     "p50": statistics.median(r["p50"] for r in results),
                     "p95": statistics.median(r["p95"] for r in results),
                     "cpu_ms": statistics.median(r["cpu_ms"] for r in results),
                     "n": sum(int(r["n"]) for r in results)}
    return out


def table(backend: str, args: argparse.Namespace,
          results: list[tuple[str, dict[str, dict[str, Any]]]]) -> str:
    lines = [
        f"Backend: {backend}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"{args.clients} client threads"
        f"{', a new connection per request' if args.close else ''}; "
        f"{args.repeats} runs of {args.seconds:g} s per mode; "
        f"1-minute load average {args.load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| gunicorn | answer | requests/s (median) | low-high | p50 ms | p95 ms "
        "| server CPU ms/request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for config, modes in results:
        for mode, r in modes.items():
            answer = "200 (full page)" if mode == "full" else "304 (If-None-Match)"
            lines.append(f"| {config} | {answer} | {r['median']:,.0f} | "
                         f"{r['low']:,.0f}-{r['high']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                         f"{r['cpu_ms']:.2f} |")
    return "\n".join(lines)


SECTION_INTRO = """## Public pages over HTTP (caching, worker type and count)

The public article page for readers without a session, through gunicorn on 127.0.0.1,
answered in full (200 with the page) and revalidated (`If-None-Match` with its ETag: 304,
no body), for sync and gthread workers. The client is `http.client` in threads on the
same two CPUs as the server (keep-alive where the server keeps the connection: gthread),
so the figures are shared between client and server; the last column is the server's own
CPU per request (gunicorn master and workers, from /proc).

Reproduce: `.venv/bin/python bench/public_http.py --write` (PostgreSQL from
`REVIEW_FLOW_TEST_DATABASE_URL` or the local default; `--backend sqlite` for SQLite).
"""


def write_section(text: str) -> None:
    """Replace the text between the markers (the file is shared: touch nothing else)."""
    content = PERFORMANCE.read_text(encoding="utf-8")
    block = f"{START}\n{SECTION_INTRO}\n{text}\n{END}"
    if START in content and END in content:
        content = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, content,
                         flags=re.S)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    PERFORMANCE.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--configs", default="sync:2,sync:3,sync:4,gthread:2x4,gthread:3x4",
                        help="kind:workers or gthread:WORKERSxTHREADS, comma-separated")
    parser.add_argument("--close", action="store_true",
                        help="send Connection: close (no keep-alive, as a proxy without "
                        "upstream keep-alive does)")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()
    args.load_start = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    passwords.use_fast_hashing()
    os.environ["REVIEW_FLOW_FAST_PASSWORD_HASHING"] = "1"
    results = []
    with fresh_database(args.backend) as db:
        load_data(db)
        url = db.url.render_as_string(hide_password=False)
        for config in args.configs.split(","):
            kind, _, size = config.partition(":")
            workers, _, threads = size.partition("x")
            label = (f"{kind}, {workers} workers" + (f" x {threads} threads" if threads else ""))
            results.append((label, measure(url, kind, int(workers), int(threads or 1),
                                           args.seconds, args.repeats, args.clients,
                                           args.close)))
            print(table(args.backend, args, results[-1:]).split("\n", 4)[-1], flush=True)
    text = table(args.backend, args, results)
    print("\n" + text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
