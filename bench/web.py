"""Benchmark: the public article page and the review queue, in process and under gunicorn.

    .venv/bin/python bench/web.py [--backend sqlite|postgresql] [--requests 3000]
                                  [--seconds 8] [--workers 2] [--clients 4] [--write]

Data: the demo (articles in every state, two reviewers) plus 40 more articles waiting for
review, so the queue shows a full page. Measured:

- in process: Flask's test client, one request after another (no network, no server);
- gunicorn: ``wsgi:app`` with ``--workers`` sync workers on 127.0.0.1, ``--clients``
  threads sending requests for ``--seconds`` each.

Each run reports requests per second and the p50/p95 latency of single requests.
``--write`` puts the table into docs/PERFORMANCE.md between the "web-bench" markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import requests  # noqa: E402
from _common import fresh_database  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

from review_flow import demo  # noqa: E402
from review_flow.actor import Actor  # noqa: E402
from review_flow.articles.actions import perform_action  # noqa: E402
from review_flow.articles.writes import create_article  # noqa: E402
from review_flow.users import passwords  # noqa: E402
from review_flow.users import service as users  # noqa: E402

PUBLIC = "/articles/understanding-high-blood-pressure"
QUEUE = "/review"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- web-bench:start -->", "<!-- web-bench:end -->"


def load_data(db: Any) -> None:
    with db.transaction() as s:
        demo.load(s)
    with db.transaction() as s:
        author = Actor(users.get_by_email(s, "author@example.org"))
        for i in range(40):
            article = create_article(
                s, author, title=f"Waiting article {i}", body="Text [1].\n" * 30,
                references=[{"title": "Source", "pmid": str(1000 + i)}])
            perform_action(s, author, article.id, "submit")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000)


def in_process(db_url: str, n: int) -> dict[str, dict[str, float]]:
    from review_flow.app import create_app, database

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "bench", "SERVER_NAME": "localhost"})
    uncached = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "bench",
                           "SERVER_NAME": "localhost", "PUBLIC_PAGE_CACHE": False})
    out = {}
    try:
        reader = app.test_client()
        reviewer = app.test_client()
        token = CSRF.search(reviewer.get("/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        signed = reviewer.post("/sign-in", data={"email": "reed@example.org",
                                                 "password": demo.DEMO_PASSWORD,
                                                 "csrf_token": token})
        assert signed.status_code == 303, signed.status_code
        for name, client, url, count in (
                ("public page", reader, PUBLIC, n),
                ("public page, cache off", uncached.test_client(), PUBLIC, max(200, n // 3)),
                ("review queue", reviewer, QUEUE, max(200, n // 5))):
            for _ in range(50):
                assert client.get(url).status_code == 200
            samples = []
            started = time.perf_counter()
            for _ in range(count):
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200
            elapsed = time.perf_counter() - started
            p50, p95 = percentiles(samples)
            out[name] = {"rps": count / elapsed, "p50": p50, "p95": p95, "n": count}
    finally:
        database(app).dispose()
        database(uncached).dispose()
    return out


def _hammer(base: str, url: str, seconds: float, clients: int,
            session_factory: Callable[[], requests.Session]) -> dict[str, float]:
    samples: list[float] = []
    lock = threading.Lock()
    errors = []
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        session = session_factory()
        mine = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            response = session.get(base + url, allow_redirects=False)
            mine.append(time.perf_counter() - t0)
            if response.status_code != 200:
                errors.append(response.status_code)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert not errors, f"{len(errors)} failed requests: {errors[:5]}"
    p50, p95 = percentiles(samples)
    return {"rps": len(samples) / elapsed, "p50": p50, "p95": p95, "n": len(samples)}


def under_gunicorn(db_url: str, seconds: float, workers: int,
                   clients: int) -> dict[str, dict[str, float]]:
    with gunicorn(db_url, workers=workers) as base:
        def reader() -> requests.Session:
            return requests.Session()

        def reviewer() -> requests.Session:
            s = requests.Session()
            token = CSRF.search(s.get(base + "/sign-in").text).group(1)  # type: ignore[union-attr]
            r = s.post(base + "/sign-in", data={"email": "reed@example.org",
                                                "password": demo.DEMO_PASSWORD,
                                                "csrf_token": token}, allow_redirects=False)
            assert r.status_code == 303, r.status_code
            return s

        _hammer(base, PUBLIC, 1.0, clients, reader)  # warm every worker
        return {
            "public page": _hammer(base, PUBLIC, seconds, clients, reader),
            "review queue": _hammer(base, QUEUE, seconds, clients, reviewer),
        }


def table(backend: str, args: argparse.Namespace, proc: dict[str, Any],
          served: dict[str, Any]) -> str:
    lines = [
        f"Backend: {backend}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"gunicorn {args.workers} sync workers, {args.clients} client threads, "
        f"{args.seconds:g} s per page.",
        "",
        "| page | how | requests/s | p50 ms | p95 ms | requests |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for how, results in (("in process (test client)", proc), ("gunicorn on loopback", served)):
        for page, r in results.items():
            lines.append(f"| {page} | {how} | {r['rps']:,.0f} | {r['p50']:.2f} | "
                         f"{r['p95']:.2f} | {r['n']:,} |")
    return "\n".join(lines)


SECTION_INTRO = """## Web

The public article page (an approved article: stepper, reviewer line, citations, JSON-LD)
and the review queue (a reviewer signed in, 50 rows) on demo data plus 40 waiting
articles. "In process" is Flask's test client with no server; "gunicorn" is `wsgi:app`
with sync workers on 127.0.0.1 driven by client threads (keep-alive off, as gunicorn's sync
workers close each connection). Latencies are per request, seen by the client.

The public page is rendered once per article version and policy version and then served
from a per-process cache after one indexed query proves nothing changed
(`web/public.py` `PageCache`); readers with a session always get a fresh render. The
"cache off" row (`REVIEW_FLOW_PUBLIC_PAGE_CACHE=0`) is the full render every time: two
queries, the Markdown already cached per revision, the template. The
queue is rendered every time (three queries: the user with roles, the page, the counts).
Password hashing uses the cheap test parameters (sign-in is not measured).

Reproduce: `.venv/bin/python bench/web.py --write` (both backends; PostgreSQL from
`REVIEW_FLOW_TEST_DATABASE_URL` or the local default), or `make bench`.
"""


def write_section(text: str) -> None:
    """Replace the text between the markers (the file is shared: touch nothing else)."""
    content = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else (
        "# Performance\n")
    block = f"{START}\n{SECTION_INTRO}\n{text}\n{END}"
    if START in content and END in content:
        content = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, content,
                         flags=re.S)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    PERFORMANCE.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()
    passwords.use_fast_hashing()
    os.environ["REVIEW_FLOW_FAST_PASSWORD_HASHING"] = "1"
    tables = []
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        with fresh_database(backend) as db:
            load_data(db)
            url = db.url.render_as_string(hide_password=False)
            proc = in_process(url, args.requests)
            served = under_gunicorn(url, args.seconds, args.workers, args.clients)
        tables.append(table(backend, args, proc, served))
        print(tables[-1] + "\n", flush=True)
    if args.write:
        write_section("\n\n".join(tables))


if __name__ == "__main__":
    main()
