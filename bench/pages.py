"""Benchmark: every list page and API list on a large database, first and deep pages.

    .venv/bin/python bench/pages.py --url URL [--requests 40] [--code DIR] [--old]

``URL`` is a database built by ``bench/generate.py`` (100,000 articles, ~1,100,000
events). In process (Flask's test client, one request after another, as the issue's
figures were taken), each page is requested ``--requests`` times after two warm-up
requests; the table gives the p50 and p95 of single requests (wall time), the same for
this process's CPU time (SQLite runs inside it; PostgreSQL's server CPU is not counted),
which a loaded machine disturbs less, and the answer's size.

``--code DIR`` runs another checkout's code against the same database (its ``src`` first
on the path; the templates come with it), and ``--old`` asks for the pages the way that
code knows them (``page=`` offsets in the queue, no search): that is how the "before"
figures in docs/PERFORMANCE.md were taken, with ``git archive`` of the commit before.
Deep pages: the home page, "My articles" and the queue from the position of the row in
the middle of the list; the audit log 500,000 events back; API cursors the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _paths(code: Path) -> None:
    sys.path.insert(0, str(code / "src"))


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "bench password 1"


def _micros(at: Any) -> int:
    from datetime import UTC, datetime, timedelta

    return (at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _cursor(kind: str, position: int) -> str:
    """An API cursor as ``api/pagination.encode`` writes it: the list, then the position in hex."""
    return f"{kind}_{position:x}"


def positions(db: Any) -> dict[str, Any]:
    """Where the deep pages start: the middle row of each list, and recent times."""
    from sqlalchemy import func, select

    from review_flow.articles.models import Article
    from review_flow.audit.models import AuditEvent
    from review_flow.users.models import User

    with db.reading() as s:
        pipeline = s.scalar(select(User.id).where(User.email == "author0@bench.example"))
        head = s.scalar(select(func.max(AuditEvent.seq)))
        # The newest article event: the bench's own sign-ins and tokens come later.
        newest = s.scalar(select(func.max(AuditEvent.at))
                          .where(AuditEvent.object_type == "article"))
        approved = s.scalar(select(func.count()).select_from(Article)
                            .where(Article.state == "approved"))
        mid_approved = s.scalar(select(Article.id).where(Article.state == "approved")
                                .order_by(Article.id.desc()).offset(approved // 2).limit(1))
        out: dict[str, Any] = {"head": head, "newest": newest, "mid_approved": mid_approved,
                               "approved": approved}
        # "since" in the middle of the log and 100,000 events from its end. In a database
        # built before migration 0022 the first events (the bench's people) are dated
        # when it was built, after every generated one, so they open any since= list:
        # the deep figures are of the page after them, the cursor past the last of them.
        first_article = s.scalar(select(func.min(AuditEvent.seq))
                                 .where(AuditEvent.object_type == "article"))
        out["early_cursor"] = first_article - 1
        for key, seq in (("mid_at", head // 2), ("late_at", head - 100_000)):
            out[key] = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == seq))
        has_published = "published_at" in Article.__table__.c
        if has_published:
            n = s.scalar(select(func.count()).select_from(Article)
                         .where(Article.published_at.is_not(None)))
            row = s.execute(select(Article.published_at, Article.id)
                            .where(Article.published_at.is_not(None))
                            .order_by(Article.published_at.desc(), Article.id.desc())
                            .offset(n // 2).limit(1)).one()
            out["home_after"] = f"{_micros(row[0])}-{row[1]}"
        mine = s.scalar(select(func.count()).select_from(Article)
                        .where(Article.author_id == pipeline))
        row = s.execute(select(Article.updated_at, Article.id).where(Article.author_id == pipeline)
                        .order_by(Article.updated_at.desc(), Article.id.desc())
                        .offset(mine // 2).limit(1)).one()
        out["mine_after"] = f"{_micros(row[0])}-{row[1]}"
        out["mine"] = mine
        waiting = s.scalar(select(func.count()).select_from(Article)
                           .where(Article.state.in_(("submitted", "under_review"))))
        row = s.execute(select(Article.submitted_at, Article.id)
                        .where(Article.state.in_(("submitted", "under_review")))
                        .order_by(Article.submitted_at, Article.id)
                        .offset(waiting // 2).limit(1)).one()
        out["queue_after"] = f"{_micros(row[0])}-{row[1]}"
        out["waiting"] = waiting
        out["slug"] = s.scalar(select(Article.slug).where(Article.id == mid_approved))
    return out


def sign_in(client: Any, email: str) -> None:
    html = client.get("/sign-in").get_data(as_text=True)
    token = CSRF.search(html)
    assert token, "no sign-in form"
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD,
                                              "csrf_token": token.group(1)})
    assert response.status_code == 303, response.status_code


def bearer(db: Any, email: str) -> dict[str, str]:
    from review_flow.tokens import service as tokens
    from review_flow.users import service as users

    with db.transaction() as s:
        user = users.get_by_email(s, email)
        return {"Authorization": "Bearer " + tokens.create_token(s, user, name="bench").plaintext}


def pages(p: dict[str, Any], old: bool) -> list[tuple[str, str, str]]:
    """(label, who, url) for every list, first and deep pages."""
    from datetime import timedelta

    from review_flow.timeutil import isoformat

    recent = isoformat(p["newest"] - timedelta(hours=1))
    month = isoformat(p["newest"] - timedelta(days=30))
    queue_pages = max(1, p["waiting"] // 50)
    rows = [
        ("public index `/`", "reader", "/"),
        ("\"My articles\" (pipeline author, {mine:,} articles)", "author", "/my-articles"),
        ("review queue, first page", "reviewer", "/review"),
        ("review queue, middle page", "reviewer",
         f"/review?page={queue_pages // 2}" if old else f"/review?after={p.get('queue_after')}"),
        ("audit log, first page", "auditor", "/audit"),
        ("audit log, 500,000 events back", "auditor", f"/audit?before={p['head'] - 500_000}"),
        ("`GET /api/v1/articles?state=approved`", "api", "/api/v1/articles?state=approved"),
        ("`GET /api/v1/articles?state=approved`, middle", "api",
         f"/api/v1/articles?state=approved&cursor={_cursor('articles', p['mid_approved'])}"),
        ("`GET /api/v1/articles` (pipeline author's own)", "api_author", "/api/v1/articles"),
        ("`GET /api/v1/audit?since=<1 hour ago>`", "api", f"/api/v1/audit?since={recent}"),
        ("`GET /api/v1/audit?since=<30 days ago>`", "api", f"/api/v1/audit?since={month}"),
        ("`GET /api/v1/audit`, middle", "api",
         f"/api/v1/audit?cursor={_cursor('audit', p['head'] // 2)}"),
        ("`GET /api/v1/audit?since=<middle of the log>`, first page", "api",
         f"/api/v1/audit?since={isoformat(p['mid_at'])}"),
        ("`GET /api/v1/audit?since=<middle of the log>`, past the first events", "api",
         f"/api/v1/audit?since={isoformat(p['mid_at'])}"
         f"&cursor={_cursor('audit', p['early_cursor'])}"),
        ("`GET /api/v1/audit?since=<100,000 events back>`, past the first events", "api",
         f"/api/v1/audit?since={isoformat(p['late_at'])}"
         f"&cursor={_cursor('audit', p['early_cursor'])}"),
        ("public article page (cache off)", "reader", f"/articles/{p['slug']}"),
    ]
    if not old:
        rows[1:1] = [
            ("home page, middle page", "reader", f"/?after={p['home_after']}"),
            ("search \"heart\" (common word)", "reader", "/?q=heart"),
            ("search \"gout prev\" (two prefixes)", "reader", "/?q=gout+prev"),
            ("search \"zebra\" (no match)", "reader", "/?q=zebra"),
        ]
        rows.insert(6, ("\"My articles\", middle page", "author",
                        f"/my-articles?after={p['mine_after']}"))
    return [(label.format(mine=p["mine"]), who, url) for label, who, url in rows]


def measure(client: Any, url: str, n: int, headers: dict[str, str]) -> dict[str, float]:
    samples, cpu = [], []
    size = 0
    for i in range(n + 2):
        start, cpu_start = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - start
        if i >= 2:
            cpu.append(time.process_time() - cpu_start)
        assert response.status_code == 200, (url, response.status_code,
                                             response.get_data(as_text=True)[:300])
        size = len(response.get_data())
        if i >= 2:
            samples.append(elapsed)
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered) * 1000,
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
            "kb": size / 1024, "cpu50": statistics.median(cpu) * 1000,
            "cpu95": sorted(cpu)[min(len(cpu) - 1, int(len(cpu) * 0.95))] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--old", action="store_true", help="the code before keyset pages")
    parser.add_argument("--only", help="measure only pages whose label contains this")
    args = parser.parse_args()
    _paths(args.code.resolve())
    # Hundreds of API requests a minute from one token: the API's rate limit would answer 429.
    os.environ.setdefault("REVIEW_FLOW_API_RATE_LIMIT", "off")
    os.environ.setdefault("REVIEW_FLOW_API_RATE_LIMIT_PER_ADDRESS", "off")

    from review_flow.app import create_app
    from review_flow.db import Database

    db = Database(args.url)
    p = positions(db)
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "bench",
                      "SERVER_NAME": "localhost", "PUBLIC_PAGE_CACHE": False})
    chosen = [(label, who, url) for label, who, url in pages(p, args.old)
              if not args.only or args.only in label]
    needed = {who for _, who, _ in chosen}
    clients = {"reader": app.test_client()}
    # Sign in only whom the chosen pages need (``--only`` an API page: no web session).
    for who, email in (("author", "author0@bench.example"),
                       ("reviewer", "reviewer1@bench.example"),
                       ("auditor", "editor@bench.example")):  # the editor reads the log too
        if who in needed:
            clients[who] = app.test_client()
            sign_in(clients[who], email)
    headers = {who: bearer(db, email) for who, email in (
        ("api", "editor@bench.example"), ("api_author", "author0@bench.example"))
        if who in needed}
    clients["api"] = clients["api_author"] = app.test_client()
    print(f"{db.engine.dialect.name}: {args.code}; {args.requests} requests per page")
    print("| page | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | KiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, who, url in chosen:
        r = measure(clients[who], url, args.requests, headers.get(who, {}))
        print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['cpu50']:.1f} "
              f"| {r['cpu95']:.1f} | {r['kb']:.0f} |", flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
