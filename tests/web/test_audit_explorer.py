"""The audit explorer and its exports against a known scripted history.

Every filter alone and in combination, walked page by page through the ``before``
cursor, must give exactly the events a plain Python reading of the whole log picks, in
the explorer's order (newest first by time, then sequence). Exports of the same filter
hold the same events (consumed chunk by chunk here), and each export is itself recorded.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from review_flow.audit.export import COLUMNS
from review_flow.timeutil import isoformat
from review_flow.web import audit_log

_ROW = re.compile(r'<tr id="event-(\d+)">')
_OLDER = re.compile(r'href="(/audit\?[^"]*before=[^"]*)">Older events')


@pytest.fixture
def history(story: Any) -> dict[str, Any]:
    """Three articles through several states by several people, and an edit."""
    approved = story.in_state("approved", title="Heart approved")
    retracted = story.in_state("retracted", title="Heart retracted")
    changes = story.in_state("changes_requested", title="Heart changes")
    story.edit(changes, title="Heart changes, revised")
    story.act(changes, "submit", "author")
    story.act(changes, "start_review", "reviewer2")
    story.act(changes, "reject", "reviewer2", comment="Still not supported.")
    return {"approved": approved, "retracted": retracted, "changes": changes}


def _walk(client: Any, url: str) -> list[int]:
    """The sequence numbers the explorer shows for ``url``, following "Older events"."""
    seen: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        html = response.get_data(as_text=True)
        seen += [int(s) for s in _ROW.findall(html)]
        found = _OLDER.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
        assert pages < 100, "the pager does not end"
    return seen


def _expected(events: list[Any], **f: Any) -> list[int]:
    def keep(e: Any) -> bool:
        return ((f.get("article") is None or e.article_id == f["article"])
                and (f.get("actor") is None or e.actor_id == f["actor"])
                and (f.get("action") is None or e.action == f["action"])
                and (f.get("state") is None or f["state"] in (e.from_state, e.to_state))
                and (f.get("since") is None or e.at >= f["since"])
                and (f.get("until") is None or e.at < f["until"]))
    chosen = sorted((e for e in events if keep(e)), key=lambda e: (e.at, e.seq), reverse=True)
    return [e.seq for e in chosen]


def _url(**f: Any) -> str:
    params = "&".join(f"{k}={isoformat(v) if hasattr(v, 'tzinfo') else v}"
                      for k, v in f.items() if v is not None)
    return f"/audit?{params}"


def test_every_filter_and_combination_pages_to_exactly_the_right_events(
        as_role: Any, story: Any, history: dict[str, Any], people: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "PAGE", 3)  # several pages even for small filters
    auditor = as_role("auditor")
    events = story.events()
    middle, late = events[len(events) // 3].at, events[2 * len(events) // 3].at
    reviewer, reviewer2 = people["reviewer"].id, people["reviewer2"].id
    cases: list[dict[str, Any]] = [
        {},
        {"article": history["approved"]},
        {"article": history["changes"]},
        {"actor": reviewer},
        {"actor": reviewer2},
        {"action": "article.approve"},
        {"action": "auth.sign_in"},
        {"state": "under_review"},
        {"state": "draft"},
        {"since": middle},
        {"until": late},
        {"since": middle, "until": late},
        {"article": history["changes"], "actor": reviewer2},
        {"article": history["changes"], "state": "under_review"},
        {"actor": reviewer, "action": "article.start_review"},
        {"action": "article.start_review", "state": "submitted", "since": middle},
        {"article": history["retracted"], "actor": people["editor"].id,
         "action": "article.retract", "state": "approved", "since": events[0].at,
         "until": events[-1].at + timedelta(seconds=1)},
        {"article": history["approved"], "action": "article.reject"},  # nothing
    ]
    for f in cases:
        want = _expected(events, **f)
        assert _walk(auditor.client, _url(**f)) == want, f
    # One case at least spans pages, and the nothing case says so.
    assert len(_expected(events)) > 3 * audit_log.PAGE
    html = auditor.get(_url(article=history["approved"], action="article.reject")).get_data(
        as_text=True)
    assert "No events match these filters." in html


def test_a_page_shows_the_event_in_full(as_role: Any, story: Any,
                                        history: dict[str, Any]) -> None:
    auditor = as_role("auditor")
    approve = story.events("article.approve")[0]
    html = auditor.get(f"/audit?action=article.approve&article={history['approved']}").get_data(
        as_text=True)
    assert f'<time datetime="{approve.at.isoformat()}" data-local>' in html
    assert approve.at.strftime("%Y-%m-%d %H:%M:%S") + "&nbsp;UTC" in html
    assert "Dr. Maya Reed" in html and "MD, FACP" in html
    assert "I approve this revision as medically accurate" in html
    assert "under_review&nbsp;→ approved" in html
    assert approve.content_hash.removeprefix("sha256:")[:12] in html
    assert f'href="/write/{history["approved"]}/revisions/1"' in html
    assert f'href="/review/{history["approved"]}"' in html
    reject = story.events("article.reject")[0]
    html = auditor.get("/audit?action=article.reject").get_data(as_text=True)
    assert "Still not supported." in html
    sign_in = story.events("auth.sign_in")[-1]
    html = auditor.get("/audit?action=auth.sign_in").get_data(as_text=True)
    assert sign_in.request_id in html and sign_in.client_addr in html
    assert reject.seq != sign_in.seq
    # The local time: a script from this site only, which the page's policy allows.
    response = auditor.get("/audit")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<script src="/assets/localtime.js" defer></script>' in response.get_data(
        as_text=True)


@pytest.mark.parametrize(("query", "parameter", "message"), [
    ("article=abc", "article", "article must be an article id"),
    ("article=0", "article", "article must be an article id"),
    ("actor=-3", "actor", "actor must be a person's id"),
    ("action=article.teleport", "action", "action must be a known audit action"),
    ("state=published", "state", "state must be a known workflow state"),
    ("since=yesterday", "since", "since: 'yesterday' is not an ISO 8601 time"),
    ("until=2026-13-01", "until", "until: '2026-13-01' is not an ISO 8601 time"),
    ("since=2026-02-01&until=2026-01-01", "until", "must be later than since"),
])
def test_a_bad_filter_is_refused_naming_it(as_role: Any, story: Any, query: str,
                                           parameter: str, message: str) -> None:
    auditor = as_role("auditor")
    before = story.event_count()
    for url in (f"/audit?{query}", f"/audit/export.csv?{query}"):
        response = auditor.get(url)
        assert response.status_code == 400, url
        html = response.get_data(as_text=True)
        assert message in html.replace("&#39;", "'"), html[:2000]
        assert 'id="event-' not in html
    assert story.event_count() == before, "a refused filter wrote something"


def test_a_mangled_cursor_shows_the_first_page(as_role: Any, history: Any) -> None:
    auditor = as_role("auditor")
    first = _ROW.findall(auditor.get("/audit").get_data(as_text=True))
    for before in ("abc", "1-", "99999999999999999-1", "5-0"):
        assert _ROW.findall(auditor.get(f"/audit?before={before}").get_data(
            as_text=True)) == first


def _lines(response: Any) -> Iterator[str]:
    """The body a chunk at a time, cut into lines (a CSV field may span two)."""
    pending = ""
    chunks = 0
    for chunk in response.response:
        chunks += 1
        pending += chunk if isinstance(chunk, str) else chunk.decode()
        *done, pending = pending.split("\n")
        for line in done:
            yield line + "\n"
    assert pending == "" and chunks > 0


@pytest.mark.parametrize("f", [
    {},
    {"state": "under_review"},
    {"article": "ARTICLE", "actor": "REVIEWER2"},
])
def test_exports_hold_what_the_explorer_shows_and_are_recorded(
        as_role: Any, story: Any, history: dict[str, Any], people: Any, f: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("review_flow.audit.export.BATCH", 4)  # several chunks
    f = {k: {"ARTICLE": history["changes"], "REVIEWER2": people["reviewer2"].id}.get(v, v)
         for k, v in f.items()}
    auditor = as_role("auditor")
    shown = _walk(auditor.client, _url(**f))
    query = _url(**f).removeprefix("/audit")
    # CSV: a header, then one row per event, in chain order.
    response = auditor.get(f"/audit/export.csv{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    through = int(response.headers["X-Export-Through"])
    reader = csv.reader(_lines(response))
    assert next(reader) == list(COLUMNS)
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in reader]
    assert [int(r["seq"]) for r in rows] == sorted(s for s in shown if s <= through)
    record = story.events("audit.export")[-1]
    assert record.seq == through + 1 and record.actor_id == people["auditor"].id
    assert record.data == {"format": "csv",
                           "filter": {k: str(v) for k, v in f.items()}}
    assert record.request_id and record.client_addr == "127.0.0.1"
    # JSON Lines: the same events, field for field as the log holds them.
    response = auditor.get(f"/audit/export.jsonl{query}")
    lines = [json.loads(line) for line in _lines(response)]
    # ... and, unfiltered, the CSV export's record, which came after the CSV's events.
    assert [e["action"] for e in lines[len(rows):]] == ([] if f else ["audit.export"])
    lines = lines[:len(rows)]
    assert [e["seq"] for e in lines] == [int(r["seq"]) for r in rows]
    by_seq = {e.seq: e for e in story.events()}
    for line, row in zip(lines, rows, strict=True):
        e = by_seq[line["seq"]]
        assert line["at"] == row["at"] == isoformat(e.at)
        assert line["actor"] == row["actor"] == e.actor_name
        assert line["action"] == e.action and line["hash"] == row["hash"] == e.hash
        assert line["data"] == e.data
        assert row["data"] == (e.data_json or "")
    assert story.events("audit.export")[-1].data["format"] == "jsonl"


def test_exports_and_the_log_change_nothing_by_post(as_role: Any, story: Any,
                                                    history: Any) -> None:
    """The explorer and its exports are read by GET; a POST is no way in for anyone."""
    for role in ("auditor", "admin", "editor"):
        client = as_role(role)
        before = story.event_count()
        for url in ("/audit", "/audit/export.csv", "/audit/export.jsonl"):
            assert client.post(url, {}).status_code == 405, (role, url)
        assert story.event_count() == before
    assert as_role("auditor").get("/audit/export.xml").status_code == 404


def test_export_of_a_large_body_streams_in_chunks(as_role: Any, story: Any, db: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """More events than a batch: the body arrives in several chunks, each whole rows."""
    from review_flow.audit import log as audit_log_writer

    with db.transaction() as s:
        for i in range(30):
            audit_log_writer.record(s, actor_id=None, actor_name="system",
                                    action="user.update", object_type="user",
                                    comment=f"line one\nline two, \"quoted\" {i}")
    monkeypatch.setattr("review_flow.audit.export.BATCH", 7)
    response = as_role("auditor").get("/audit/export.csv?action=user.update")
    chunks = list(response.response)
    assert len(chunks) >= 5
    rows = list(csv.DictReader(io.StringIO("".join(
        c if isinstance(c, str) else c.decode() for c in chunks))))
    assert len(rows) == 30 and rows[3]["comment"] == 'line one\nline two, "quoted" 3'
