"""Trail-review records: an auditor records "audit trail reviewed" for an article or a
time range; it is a row and an audit event; the "not reviewed since" list follows it."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from review_flow.audit import trail_reviews
from review_flow.audit.trail_reviews import TrailReview
from review_flow.timeutil import isoformat, utcnow
from review_flow.web import trail_reviews as trail_reviews_web


def _page(client: Any, url: str = "/audit/trail-reviews") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return html.unescape(response.get_data(as_text=True))


def _listed(page: str) -> list[int]:
    section = page.split('id="unreviewed-heading"')[1].split('id="recent-heading"')[0]
    return [int(n) for n in re.findall(r'<td data-label="Article"><a [^>]*>Article (\d+)</a>',
                                       section)]


def _rows(db: Any) -> list[TrailReview]:
    with db.reading() as s:
        rows = list(s.scalars(select(TrailReview).order_by(TrailReview.id)))
        s.expunge_all()
        return rows


def _article_seqs(db: Any, article_id: int) -> list[int]:
    with db.reading() as s:
        return list(s.scalars(text("SELECT seq FROM audit_events WHERE article_id = :a "
                                   "AND action <> 'audit.trail_review' ORDER BY seq"),
                              {"a": article_id}))


def test_recording_an_article_review(as_role: Any, story: Any, db: Any, people: Any) -> None:
    a = story.in_state("approved")
    auditor = as_role("auditor")
    response = auditor.post("/audit/trail-reviews",
                            {"article": str(a), "comment": "Checked the approval trail."},
                            page="/audit/trail-reviews")
    assert response.status_code == 303
    seqs = _article_seqs(db, a)
    [row] = _rows(db)
    assert (row.article_id, row.first_seq, row.last_seq) == (a, seqs[0], seqs[-1])
    assert row.reviewer_id == people["auditor"].user.id
    assert row.comment == "Checked the approval trail."
    [event] = story.events("audit.trail_review")
    assert event.article_id == a and event.actor_name == "Aubrey Auditor"
    assert event.comment == "Checked the approval trail."
    assert json.loads(event.data_json) == {"first_seq": seqs[0], "last_seq": seqs[-1],
                                           "since": None, "until": None}
    # It shows in the page's record list, and in the article's log.
    page = _page(auditor)
    assert f"Trail review recorded for article {a}: events {seqs[0]} to {seqs[-1]}." in page
    assert f"events {seqs[0]} to {seqs[-1]}" in page.split('id="recent-heading"')[1]
    log = html.unescape(auditor.get(f"/audit?article={a}").get_data(as_text=True))
    assert "audit.trail_review" in log and "Checked the approval trail." in log
    # The next review of the same article covers only what came after.
    story.act(a, "retract", "editor", comment="Superseded.")
    auditor.post("/audit/trail-reviews", {"article": str(a), "comment": "The retraction."},
                 page="/audit/trail-reviews")
    second = _rows(db)[1]
    new = [seq for seq in _article_seqs(db, a) if seq > seqs[-1]]
    assert new and (second.first_seq, second.last_seq) == (new[0], new[-1])


@pytest.mark.parametrize("form,status,message", [
    ({"article": "1", "comment": ""}, 422, "Say what you reviewed"),
    ({"article": "", "comment": "x"}, 422, "Name the article reviewed, or the time range"),
    ({"article": "1", "since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z",
      "comment": "x"}, 422, "either one article or a time range, not both"),
    ({"article": "99999", "comment": "x"}, 404, "There is no article 99999."),
    ({"article": "abc", "comment": "x"}, 400, "article must be an article id"),
    ({"since": "2001-01-01T00:00:00Z", "until": "2001-02-01T00:00:00Z", "comment": "x"}, 422,
     "No events between 2001-01-01T00:00:00.000000Z and 2001-02-01T00:00:00.000000Z"),
])
def test_bad_input_is_named_and_writes_nothing(as_role: Any, story: Any, db: Any,
                                               form: dict[str, str], status: int,
                                               message: str) -> None:
    story.in_state("approved")
    auditor = as_role("auditor")
    before = story.event_count()
    response = auditor.post("/audit/trail-reviews", form, page="/audit/trail-reviews")
    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))
    assert _rows(db) == [] and story.event_count() == before


def test_an_article_with_nothing_new_is_refused(as_role: Any, story: Any, db: Any) -> None:
    a = story.in_state("approved")
    auditor = as_role("auditor")
    auditor.post("/audit/trail-reviews", {"article": str(a), "comment": "Once."},
                 page="/audit/trail-reviews")
    response = auditor.post("/audit/trail-reviews", {"article": str(a), "comment": "Twice."},
                            page="/audit/trail-reviews")
    assert response.status_code == 422
    assert "already covered by a trail review" in response.get_data(as_text=True)
    assert len(_rows(db)) == 1


def test_not_reviewed_since(as_role: Any, story: Any, db: Any,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Most recent activity first; an article leaves the list when reviewed and comes
    back with its next event; a time-range review covers every article."""
    a = story.in_state("approved", title="First")
    b = story.in_state("submitted", title="Second")
    c = story.in_state("draft", title="Third")
    auditor = as_role("auditor")
    assert _listed(_page(auditor)) == [c, b, a]
    auditor.post("/audit/trail-reviews", {"article": str(b), "comment": "Fine."},
                 page="/audit/trail-reviews")
    page = _page(auditor)
    assert _listed(page) == [c, a]
    assert "never reviewed" in page
    story.act(b, "start_review", "reviewer")  # a new event after its review
    assert _listed(_page(auditor)) == [b, c, a]
    assert re.search(r"Event \d+, [^<]*UTC</td>\s*<td data-label=\"Reviewed through\">"
                     r"event \d+", _page(auditor))
    # Since a date after every event: nothing new to review.
    later = isoformat(utcnow() + timedelta(hours=1))
    assert _listed(_page(auditor, f"/audit/trail-reviews?since={later}")) == []
    # Keyset pages of the list.
    monkeypatch.setattr(trail_reviews_web, "PAGE", 2)
    first = _page(auditor)
    assert _listed(first) == [b, c]
    more = re.search(r'href="(/audit/trail-reviews\?before=\d+)">More articles', first)
    assert more
    assert _listed(_page(auditor, more.group(1))) == [a]
    # A time-range review covering everything empties the list.
    auditor.post("/audit/trail-reviews", {
        "since": "2000-01-01T00:00:00Z", "until": isoformat(utcnow() + timedelta(days=1)),
        "comment": "Monthly review of the whole trail."}, page="/audit/trail-reviews")
    rng = _rows(db)[-1]
    assert rng.article_id is None and rng.first_seq == 1
    assert rng.last_seq == story.events()[-2].seq  # the event before its own
    assert _listed(_page(auditor)) == []
    # Later activity on one article lists it alone.
    story.act(c, "submit", "author")
    assert _listed(_page(auditor)) == [c]


def test_service_refuses_non_auditors(db: Any, people: Any, story: Any) -> None:
    a = story.in_state("approved")
    from review_flow.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="Only auditors and admins"), \
            db.transaction() as s:
        trail_reviews.record_review(s, people["editor"].user, comment="x", article_id=a)
    assert _rows(db) == []
