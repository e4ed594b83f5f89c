"""Benchmark: an article's timeline and its public page "as of" an instant (issue 12).

    .venv/bin/python bench/timeline.py --url URL [--requests 40] [--heavy 3000]

``URL`` is a database built by ``bench/generate.py`` (100,000 articles, ~1,100,000
events). ``--heavy N`` first adds (once; found again on later runs) one article with a
long history through the services: N comments and N/20 withdraw-and-resubmit cycles, so
a page and a replay run over thousands of the article's events. In process (Flask's test
client, signed in as the bench's editor, who may read the audit pages), each page is
requested ``--requests`` times after two warm-ups; p50 and p95 wall time and this
process's CPU time per request, and the answer's size, as ``bench/pages.py`` reports.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "src"))

from pages import measure, sign_in  # noqa: E402

HEAVY_TITLE = "Timeline bench: an article with a long history"


def heavy_article(db: Any, n: int) -> int:
    """The long-history article, made through the services if not there yet."""
    from sqlalchemy import select

    from review_flow.actor import Actor
    from review_flow.articles.actions import perform_action
    from review_flow.articles.comments import add_comment
    from review_flow.articles.models import Article, Revision
    from review_flow.articles.writes import create_article
    from review_flow.users import service as users

    with db.reading() as s:
        found = s.scalar(select(Article.id)
                         .join(Revision, Revision.id == Article.current_revision_id)
                         .where(Revision.title == HEAVY_TITLE))
    if found is not None:
        return int(found)
    with db.transaction() as s:
        author = Actor(users.get_by_email(s, "author1@bench.example"))
        reviewer = Actor(users.get_by_email(s, "reviewer1@bench.example"))
        aid = create_article(s, author, title=HEAVY_TITLE,
                             body="Salt raises blood pressure in many people [1].\n",
                             references=[{"title": "Sodium guideline", "pmid": "23658812"}]).id
    with db.transaction() as s:
        perform_action(s, author, aid, "submit")
    for i in range(n):
        with db.transaction() as s:
            add_comment(s, reviewer if i % 2 else author, aid, f"Comment {i}: see the guideline.")
        if i % 20 == 19:
            for action in ("withdraw", "submit"):
                with db.transaction() as s:
                    perform_action(s, author, aid, action)
    return aid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--heavy", type=int, default=0)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from review_flow.app import create_app
    from review_flow.articles.models import Article
    from review_flow.audit.models import AuditEvent
    from review_flow.db import Database

    db = Database(args.url)
    with db.reading() as s:
        n = s.scalar(select(func.count()).select_from(Article)) or 0
        events = s.scalar(select(func.max(AuditEvent.seq))) or 0
        picks = {}
        for state in ("approved", "retracted", "under_review"):
            picks[state] = s.scalar(select(Article.id).where(Article.state == state)
                                    .order_by(Article.id).offset(n // 40).limit(1))
        times = {}
        for key, aid in picks.items():
            ats = list(s.scalars(select(AuditEvent.at).where(AuditEvent.article_id == aid)
                                 .order_by(AuditEvent.seq)))
            times[key] = (ats[len(ats) // 2], ats[-1] + timedelta(days=1))
    heavy = heavy_article(db, args.heavy) if args.heavy else None
    rows: list[tuple[str, str]] = []
    a, r, u = picks["approved"], picks["retracted"], picks["under_review"]
    rows += [
        (f"timeline, approved article ({a})", f"/audit/articles/{a}/timeline"),
        (f"timeline, retracted article ({r})", f"/audit/articles/{r}/timeline"),
        ("as of, approved article, mid-history", f"/audit/articles/{a}/as-of?at="
         + quote(times["approved"][0].isoformat())),
        ("as of, approved article, after its last event", f"/audit/articles/{a}/as-of?at="
         + quote(times["approved"][1].isoformat())),
        ("as of, retracted article, after retraction", f"/audit/articles/{r}/as-of?at="
         + quote(times["retracted"][1].isoformat())),
        ("as of, article under review", f"/audit/articles/{u}/as-of?at="
         + quote(times["under_review"][1].isoformat())),
    ]
    if heavy is not None:
        with db.reading() as s:
            seqs = list(s.scalars(select(AuditEvent.seq).where(AuditEvent.article_id == heavy)
                                  .order_by(AuditEvent.seq)))
            last = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == seqs[-1]))
        rows += [
            (f"timeline, long history ({len(seqs):,} events), first page",
             f"/audit/articles/{heavy}/timeline"),
            ("timeline, long history, middle page",
             f"/audit/articles/{heavy}/timeline?after={seqs[len(seqs) // 2]}"),
            ("timeline, long history, newest page",
             f"/audit/articles/{heavy}/timeline?before={2**62}"),
            ("as of, long history, after its last event", f"/audit/articles/{heavy}/as-of?at="
             + quote((last + timedelta(seconds=1)).isoformat())),
        ]
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "bench",
                      "SERVER_NAME": "localhost"})
    client = app.test_client()
    sign_in(client, "editor@bench.example")
    print(f"{db.engine.dialect.name}: {n:,} articles, {events:,} events; "
          f"{args.requests} requests per page")
    print("| page | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | KiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, url in rows:
        m = measure(client, url, args.requests, {})
        print(f"| {label} | {m['p50']:.1f} | {m['p95']:.1f} | {m['cpu50']:.1f} "
              f"| {m['cpu95']:.1f} | {m['kb']:.0f} |", flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
