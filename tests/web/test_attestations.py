"""What a signer attested is shown with the signature: on the review page, on the
revision page and in the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from review_flow.review_checks import references

CHECKS = ("checklist", "references_verified", "conflict_of_interest")


@pytest.fixture
def attested_article(story: Any) -> int:
    story.set_policy(review_checks=list(CHECKS), conflicts="disclose",  # a conflict is shown
                     checklist=["Claims match the cited sources"])
    article_id = story.in_state("under_review")
    # The checklist and the references are records now, not the flags they replace.
    with story.db.transaction() as s:
        for n in (1, 2):
            references.record_check(s, story.people["reviewer"], article_id, n, "verified")
    story.act(article_id, "approve", "reviewer", attestations={
        "conflict_of_interest": "Speaker fees from Acme Pharma, 2025"},
        checklist={"Claims match the cited sources": "yes"})
    return article_id


LINES = ("Review checklist completed", "Every reference verified",
         "Conflict of interest: Speaker fees from Acme Pharma, 2025")


def _attested_block(html: str) -> str:
    start = html.index('<ul class="attested"')
    return html[start:html.index("</ul>", start)]


def test_review_and_revision_pages_show_what_was_attested(as_role: Any,
                                                          attested_article: int) -> None:
    for role, path in (("reviewer2", f"/review/{attested_article}"),
                       ("auditor", f"/write/{attested_article}/revisions/1"),
                       ("author", f"/write/{attested_article}/revisions/1")):
        page = as_role(role).get(path).get_data(as_text=True)
        block = _attested_block(page)
        for line in LINES:
            assert f"<li>{line}</li>" in block, (role, path)
        assert "Dr. Maya Reed, MD, FACP" in page[:page.index('<ul class="attested"')]


def test_audit_log_shows_the_attestations_on_the_approve_event_only(
        as_role: Any, story: Any, attested_article: int) -> None:
    story.in_state("rejected", title="Another article")  # a signature without checks
    page = as_role("auditor").get("/audit").get_data(as_text=True)
    assert page.count('<ul class="attested"') == 1
    row_start = page.rindex("<tr ", 0, page.index('<ul class="attested"'))
    row = page[row_start:page.index("</tr>", row_start)]
    assert "<code>article.approve</code>" in row
    for line in LINES:
        assert f"<li>{line}</li>" in row


def test_unconfirmed_and_undeclared_checks_are_said_so() -> None:
    from review_flow.web.templating import attested

    assert attested({"checklist": False, "conflict_of_interest": None}) == [
        "Review checklist completed: not confirmed", "Conflict of interest: not declared"]
    assert attested(None) == []
