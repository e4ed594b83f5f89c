"""Benchmark: drafts created through the JSON API per second, and outbox messages
delivered per second to loopback receivers.

    .venv/bin/python bench/api.py [--backend sqlite|postgresql] [--workers N]
        [--clients N] [--seconds 10] [--messages 2000] [--deliverers 4] [--json] [--write]

API: the app under gunicorn (sync workers) on 127.0.0.1; client threads POST
/api/v1/articles with a bearer token (each a full transaction: token lookup, article,
revision, audit event, outbox check). Outbox: webhook messages to an HTTP receiver on
loopback (signed; the receiver checks each signature) and e-mails to an aiosmtpd
server on loopback, sent by ``--deliverers`` deliverer threads.
Each run uses a fresh migrated database (``bench/_common.py``): a SQLite file in a
temporary folder, or a new PostgreSQL database at REVIEW_FLOW_TEST_DATABASE_URL's server.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import fresh_database  # noqa: E402
from tests.support.receivers import smtp_server  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

from review_flow.db import Database  # noqa: E402
from review_flow.notifications import webhooks  # noqa: E402
from review_flow.outbox.deliver import Deliverer, DeliverySettings, Report  # noqa: E402
from review_flow.outbox.service import enqueue  # noqa: E402
from review_flow.outbox.transports import SmtpSettings  # noqa: E402
from review_flow.tokens import service as tokens  # noqa: E402
from review_flow.users import service as users  # noqa: E402

SECRET = "whsec_cmV2aWV3LWZsb3ctYmVuY2gtc2VjcmV0LTMyYnl0ZXM="  # 32 bytes, Standard Webhooks
# The receiver listens on loopback, which production settings refuse.
BENCH_WEBHOOKS = webhooks.WebhookConfig.from_config(
    {"SECRET_KEY": "bench", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
)
DRAFT = {
    "title": "Managing high blood pressure",
    "body": "Lower salt intake helps [1]. " * 40,
    "references": [{"title": "Hypertension guideline", "doi": "10.1000/xyz123"}],
    "generator": {"name": "bench-pipeline", "model": "none", "version": "1"},
}


def setup(db: Database) -> str:
    with db.transaction() as s:
        user = users.add_user(
            s, email="pipeline@example.org", name="Pipeline", roles=["author"], password=None
        )
        return tokens.create_token(s, user, name="bench").plaintext


def _descendants_cpu_s() -> float:
    """CPU seconds used so far by our live child processes and theirs (gunicorn master
    and workers), from /proc: the server's cost, apart from the client threads'."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += (int(stats[pid][11]) + int(stats[pid][12])) / tick  # utime + stime
        todo += children.get(pid, [])
    return total


def bench_api(
    url: str, token: str, *, workers: int, clients: int, seconds: float
) -> dict[str, Any]:
    with gunicorn(url, workers=workers) as base:
        endpoint = f"{base}/api/v1/articles"
        host, port = urlsplit(base).hostname, urlsplit(base).port
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with requests.Session() as warm:
            for i in range(20):
                warm.post(
                    endpoint, json={**DRAFT, "title": f"Warm-up {i}"}, headers=headers
                ).raise_for_status()
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        start_gate = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def client(n: int) -> None:
            # http.client rather than requests: the load generator shares the server's
            # CPUs, and requests costs ~2 ms of CPU a call, as much as the server's work.
            mine: list[float] = []
            conn = http.client.HTTPConnection(host, port, timeout=30)
            start_gate.wait()
            while time.perf_counter() < stop_at[0]:
                # Distinct titles, as pipelines write distinct articles (unique slugs).
                body = json.dumps({**DRAFT, "title": f"{DRAFT['title']} {n}-{len(mine)}"})
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/articles", body=body, headers=headers)
                    r = conn.getresponse()
                    text = r.read()
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()  # gunicorn's sync workers close after each answer
                    with lock:
                        errors.append(repr(exc))
                    continue
                if r.will_close:
                    conn.close()
                if r.status != 201:
                    with lock:
                        errors.append(f"{r.status} {text[:200]!r}")
                    continue
                mine.append(time.perf_counter() - t0)
            conn.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + seconds
        cpu_before = _descendants_cpu_s()
        client_before = time.process_time()
        started = time.perf_counter()
        start_gate.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu = _descendants_cpu_s() - cpu_before
        client_cpu = time.process_time() - client_before
    latencies.sort()
    return {
        "created": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "server_cpu_ms_per_draft": server_cpu * 1000 / max(len(latencies), 1),
        "client_cpu_ms_per_draft": client_cpu * 1000 / max(len(latencies), 1),
        "cpus": os.cpu_count(),
    }


def bench_in_process(url: str, token: str, *, count: int = 400) -> dict[str, Any]:
    """The same POST through Flask's test client: the app's own cost, no HTTP or server."""
    from review_flow.app import create_app, database

    # Unthrottled: this measures the app, not the rate limits.
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "API_RATE_LIMIT": "off",
                      "API_RATE_LIMIT_PER_ADDRESS": "off"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    latencies = []
    for i in range(count + 20):
        t0 = time.perf_counter()
        r = client.post(
            "/api/v1/articles", json={**DRAFT, "title": f"In process {i}"}, headers=headers
        )
        if r.status_code != 201:
            raise RuntimeError(r.get_data(as_text=True))
        if i >= 20:  # the first ones warm caches
            latencies.append(time.perf_counter() - t0)
    database(app).dispose()
    latencies.sort()
    return {
        "created": count,
        "per_second": count / sum(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(count * 0.95)] * 1000,
    }


class _Receiver(BaseHTTPRequestHandler):
    received = 0
    bad = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers["X-Review-Flow-Timestamp"]
        want = (
            "v1=" + hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        )
        ok = any(
            hmac.compare_digest(want, part.strip())
            for part in self.headers["X-Review-Flow-Signature"].split(",")
        )
        with _Receiver.lock:
            _Receiver.received += 1
            _Receiver.bad += 0 if ok else 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def bench_outbox(db: Database, *, messages: int, deliverers: int) -> dict[str, Any]:
    _Receiver.received = _Receiver.bad = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    out: dict[str, Any] = {}
    with smtp_server() as (smtp_port, inbox):
        with db.transaction() as s:
            hook = webhooks.create_webhook(
                s, BENCH_WEBHOOKS, url=hook_url, events=["*"], secret=SECRET
            ).webhook
            for i in range(messages):
                enqueue(
                    s,
                    channel="webhook",
                    kind="article.create",
                    recipient=hook_url,
                    webhook_id=hook.id,
                    payload={"n": i, "data": DRAFT},
                )
            for i in range(messages // 4):
                enqueue(
                    s,
                    channel="email",
                    kind="approved",
                    recipient=f"a{i}@example.org",
                    payload={
                        "kind": "approved",
                        "to": f"a{i}@example.org",
                        "to_name": "Author",
                        "actor": "Dr. Bench, MD",
                        "article": {
                            "id": i,
                            "slug": "s",
                            "title": "T",
                            "revision": 1,
                            "content_hash": "sha256:x",
                        },
                        "comment": None,
                    },
                )
        settings = DeliverySettings(
            batch=50,
            smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, tls="none", timeout=10),
            webhooks=BENCH_WEBHOOKS,
        )
        total = Report()
        lock = threading.Lock()

        def run() -> None:
            report = Deliverer(db, settings).run()
            with lock:
                total.add(report)

        threads = [threading.Thread(target=run) for _ in range(deliverers)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        out.update(
            messages=messages + messages // 4,
            sent=total.sent,
            failed=total.retrying + total.dead,
            per_second=total.sent / elapsed,
            webhooks_received=_Receiver.received,
            bad_signatures=_Receiver.bad,
            emails_received=len(inbox),
        )
    server.shutdown()
    return out


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(backend) as db:
        token = setup(db)
        url = db.url.render_as_string(hide_password=False)
        inproc = bench_in_process(url, token)
        api = bench_api(
            url, token, workers=args.workers, clients=args.clients, seconds=args.seconds
        )
        ob = bench_outbox(db, messages=args.messages, deliverers=args.deliverers)
    print(
        f"[{backend}] API drafts in process: {inproc['per_second']:.0f}/s "
        f"(p50 {inproc['p50_ms']:.1f} ms)"
    )
    print(
        f"[{backend}] API drafts over HTTP: {api['per_second']:.0f}/s ({api['created']} created, "
        f"{api['errors']} errors; p50 {api['p50_ms']:.1f} ms, p95 {api['p95_ms']:.1f} ms; "
        f"{args.workers} gunicorn workers, {args.clients} clients; server CPU "
        f"{api['server_cpu_ms_per_draft']:.1f} ms per draft, client "
        f"{api['client_cpu_ms_per_draft']:.1f} ms; {api['cpus']} CPUs)"
    )
    if api["first_error"]:
        print(f"  first error: {api['first_error']}")
    print(
        f"[{backend}] Outbox: {ob['per_second']:.0f} messages/s ({ob['sent']}/{ob['messages']} "
        f"sent, {ob['failed']} failed; {ob['webhooks_received']} webhooks, "
        f"{ob['bad_signatures']} bad signatures; {ob['emails_received']} e-mails; "
        f"{args.deliverers} deliverers)"
    )
    return {"backend": backend, "in_process": inproc, "api": api, "outbox": ob}


START, END = "<!-- api-bench:start -->", "<!-- api-bench:end -->"


def write_section(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Replace the "API and outbox" section of docs/PERFORMANCE.md with these figures."""
    rows = []
    for r in results:
        b, ip, api, ob = r["backend"], r["in_process"], r["api"], r["outbox"]
        rows.append(
            f"| {b} | drafts, in process (test client, 1 thread) | "
            f"{ip['per_second']:,.0f} | {ip['p50_ms']:.1f} | {ip['p95_ms']:.1f} | | |"
        )
        rows.append(
            f"| {b} | drafts, gunicorn on loopback | {api['per_second']:,.0f} | "
            f"{api['p50_ms']:.1f} | {api['p95_ms']:.1f} | "
            f"{api['server_cpu_ms_per_draft']:.1f} | {api['client_cpu_ms_per_draft']:.1f} |"
        )
        rows.append(f"| {b} | outbox messages delivered | {ob['per_second']:,.0f} | | | | |")
    section = "\n".join(
        [
            START,
            "## API and outbox",
            "",
            "Drafts created with `POST /api/v1/articles` (bearer token; each request one",
            "transaction: token check, chain head, article, revision, audit event, and the",
            "answer with the allowed actions) and outbox messages delivered to",
            "receivers on loopback (signed webhooks to an HTTP server that checks every",
            "signature, and e-mail to an aiosmtpd server; 4 webhooks to 1 e-mail).",
            "",
            "Reproduce: `.venv/bin/python bench/api.py` (one backend, `--backend`), or",
            "`.venv/bin/python bench/api.py --write` (both, rewriting this section).",
            "",
            f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; gunicorn {args.workers} sync "
            f"workers, {args.clients} client threads, {args.seconds:.0f} s; "
            f"{args.deliverers} deliverer threads.",
            "",
            "| backend | what | per second | p50 ms | p95 ms | server CPU ms per draft "
            "| client CPU ms per draft |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            END,
        ]
    )
    path = ROOT / "docs" / "PERFORMANCE.md"
    text = path.read_text() if path.exists() else "# Performance\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn workers (default: one per CPU)",
    )
    parser.add_argument("--clients", type=int, help="client threads (default: 4 per worker)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--messages", type=int, default=2000, help="webhook messages")
    parser.add_argument("--deliverers", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--write",
        action="store_true",
        help="run both backends and rewrite docs/PERFORMANCE.md's section",
    )
    args = parser.parse_args()
    args.clients = args.clients or 4 * args.workers
    backends = ["sqlite", "postgresql"] if args.write else [args.backend]
    results = [run(b, args) for b in backends]
    if args.json:
        print(json.dumps(results))
    if args.write:
        write_section(results, args)


if __name__ == "__main__":
    main()
