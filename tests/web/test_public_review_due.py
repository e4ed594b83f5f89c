"""The public page's "Next review due" and the notice once that date has passed; the page
cache must not hide either (time alone brings the notice, a sweep elsewhere the rest)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from review_flow.articles import queries as articles
from review_flow.sweep.service import sweep
from review_flow.web import read_models

NOTICE = "This article is past its scheduled medical review date"
AGAIN = "our Medical Advisory Board is reviewing it again"


def _due(story: Any, article_id: int) -> Any:
    with story.db.reading() as s:
        return articles.get_article(s, article_id).review_due


def _next_review(html: str) -> str | None:
    match = re.search(r'Next review due: <time datetime="([^"]+)">([^<]+)</time>', html)
    return match.group(2) if match else None


def test_an_approved_article_says_when_it_is_next_reviewed(client: Any, story: Any) -> None:
    aid = story.in_state("approved")
    due = _due(story, aid)
    html = client.get(f"/articles/{story.slug(aid)}").text
    assert _next_review(html) == f"{due:%B} {due.day}, {due:%Y}"
    assert f'<time datetime="{due.isoformat()}">' in html
    assert NOTICE not in html
    data = json.loads(re.search(r'application/ld\+json">(.*?)</script>', html, re.S).group(1))
    with story.db.reading() as s:
        (approval,) = articles.approvals_for(s, articles.get_article(s, aid).approved_revision_id)
        assert data["lastReviewed"] == approval.signed_at.date().isoformat()


def test_text_never_approved_or_retracted_has_no_review_date(client: Any, story: Any) -> None:
    pending = story.in_state("under_review")
    retracted = story.in_state("retracted", title="Gone")
    for aid in (pending, retracted):
        assert "Next review due" not in client.get(f"/articles/{story.slug(aid)}").text


def test_the_notice_appears_when_the_date_passes_though_the_page_was_cached(
        client: Any, story: Any, monkeypatch: Any) -> None:
    aid = story.in_state("approved")
    url = f"/articles/{story.slug(aid)}"
    first = client.get(url)
    assert NOTICE not in first.text
    assert client.get(url).headers["ETag"] == first.headers["ETag"]  # from the cache
    later = _due(story, aid) + timedelta(seconds=1)
    monkeypatch.setattr(read_models, "utcnow", lambda: later)  # the date has passed
    after = client.get(url)
    assert NOTICE in after.text and AGAIN not in after.text
    assert '<p class="overdue-notice" role="note">' in after.text
    assert after.headers["ETag"] != first.headers["ETag"]


def test_a_sweep_on_another_server_is_seen(client: Any, story: Any, monkeypatch: Any) -> None:
    aid = story.in_state("approved")
    url = f"/articles/{story.slug(aid)}"
    later = _due(story, aid) + timedelta(seconds=1)
    monkeypatch.setattr(read_models, "utcnow", lambda: later)
    before = client.get(url)
    assert NOTICE in before.text and AGAIN not in before.text
    report = sweep(story.db, later)  # its own connections, as another server's would be
    assert report.steps[0].done == [aid]
    after = client.get(url)
    assert f"{NOTICE}; {AGAIN}." in after.text
    assert "Medically reviewed by Dr. Maya Reed" in after.text  # the approved text stays
    assert after.headers["ETag"] != before.headers["ETag"]
