"""The "Signatures" report: every signature listed, each re-checked against its revision
and its chained event; a tampered one is flagged with what disagrees."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import text

from review_flow.web import signatures_report
from tests.web.test_public_trust import _drop_guards


def _report(client: Any, url: str = "/audit/signatures") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return html.unescape(response.get_data(as_text=True))


def _row(page: str, decision_id: int) -> str:
    match = re.search(rf'<tr id="signature-{decision_id}".*?</tr>', page, re.S)
    assert match, f"signature {decision_id} not on the page"
    return match.group(0)


def _decision_ids(db: Any, article_id: int) -> list[int]:
    with db.reading() as s:
        return list(s.scalars(text("SELECT id FROM decisions WHERE article_id = :a ORDER BY id"),
                              {"a": article_id}))


def test_every_signature_is_listed_and_checks_out(as_role: Any, story: Any, db: Any) -> None:
    approved = story.in_state("approved", title="Approved one")
    rejected = story.in_state("rejected", title="Rejected one")
    page = _report(as_role("auditor"))
    row = _row(page, _decision_ids(db, approved)[0])
    assert "Dr. Maya Reed" in row and "MD, FACP" in row
    assert "Approved:" in row and "Revision 1" in row and "Checks out" in row
    rejected_row = _row(page, _decision_ids(db, rejected)[0])
    assert "Rejected:" in rejected_row and "Not supported by the evidence." in rejected_row
    assert "Checks out" in rejected_row
    assert "Every signature on this page checks out" in page
    assert "Does not check out" not in page


def test_admin_sees_it_editor_and_reviewer_do_not(as_role: Any, story: Any) -> None:
    story.in_state("approved")
    assert as_role("admin").get("/audit/signatures").status_code == 200
    assert as_role("editor").get("/audit/signatures").status_code == 403
    assert as_role("reviewer").get("/audit/signatures").status_code == 403


def test_a_changed_printed_name_is_flagged(as_role: Any, story: Any, db: Any,
                                          backend: str) -> None:
    approved = story.in_state("approved")
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET printed_name = 'Dr. Famous' WHERE article_id = :a"),
                  {"a": approved})
    page = _report(as_role("auditor"))
    row = _row(page, _decision_ids(db, approved)[0])
    assert "Does not check out" in row
    assert re.search(r"printed name: the chain \(event \d+\) says 'Dr\. Maya Reed', the "
                     r"signature row says 'Dr\. Famous'", row), row
    assert "1 signature on this page fails the check" in page


def test_a_changed_revision_body_is_flagged(as_role: Any, story: Any, db: Any,
                                           backend: str) -> None:
    approved = story.in_state("approved")
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET body = 'Stop taking your medicine.' "
                       "WHERE article_id = :a"), {"a": approved})
    row = _row(_report(as_role("auditor")), _decision_ids(db, approved)[0])
    assert "Does not check out" in row
    assert re.search(r"revision 1's text hashes to sha256:[0-9a-f]{64}, not to its content "
                     r"hash sha256:[0-9a-f]{64} \(the text was changed", row), row


def test_filters_and_keyset_pages(as_role: Any, story: Any, db: Any, people: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [story.in_state("approved", title=f"Article {n}") for n in range(3)]
    decisions = [_decision_ids(db, a)[0] for a in ids]
    monkeypatch.setattr(signatures_report, "PAGE", 2)
    auditor = as_role("auditor")
    first = _report(auditor)
    assert f'id="signature-{decisions[2]}"' in first and f'id="signature-{decisions[1]}"' in first
    assert f'id="signature-{decisions[0]}"' not in first
    older = re.search(r'href="(/audit/signatures\?before=[^"]+)">Older signatures', first)
    assert older
    second = _report(auditor, older.group(1))
    assert f'id="signature-{decisions[0]}"' in second
    assert f'id="signature-{decisions[1]}"' not in second and "Older signatures" not in second
    reviewer = people["reviewer"].user.id
    assert decisions[0] and f"signature-{decisions[2]}" in _report(
        auditor, f"/audit/signatures?signer={reviewer}")
    nobody = _report(auditor, f"/audit/signatures?signer={people['admin'].user.id}")
    assert "No signatures match these filters" in nobody
    later = _report(auditor, "/audit/signatures?since=2999-01-01T00:00:00Z")
    assert "No signatures match these filters" in later


@pytest.mark.parametrize("query,message", [
    ("signer=abc", "signer must be a person's id"),
    ("since=yesterday", "since: 'yesterday' is not an ISO 8601 time"),
    ("since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", "must be later than since"),
])
def test_a_bad_filter_is_named(as_role: Any, query: str, message: str) -> None:
    response = as_role("auditor").get(f"/audit/signatures?{query}")
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))


def test_a_page_is_two_queries(as_role: Any, story: Any, shared_db: Any,
                               count_queries: Any) -> None:
    """The rows and their signing events: no query per signature, no chain walk."""
    for n in range(4):
        story.in_state("approved", title=f"Counted {n}")
    auditor = as_role("auditor")
    auditor.get("/audit/signatures")
    with count_queries() as q:
        auditor.get("/audit/signatures")
    baseline = q.count
    for n in range(4):
        story.in_state("approved", title=f"More {n}")
    with count_queries() as q:
        auditor.get("/audit/signatures")
    assert q.count == baseline
