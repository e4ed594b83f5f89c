"""The review page's reference checks and lint, the edit page's lint, and checklist
answers on the revision page: rendered text and stored rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from review_flow.review_checks.models import ReferenceCheck
from tests.conftest import PASSWORD

ALLERGY = "Antihistamines relieve sneezing and itching [1].\n"


def rows(story: Any) -> list[tuple[Any, ...]]:
    with story.db.reading() as s:
        return [(r.reference_number, r.status, r.note)
                for r in s.scalars(select(ReferenceCheck).order_by(ReferenceCheck.id))]


def test_reviewer_marks_references_and_sees_the_checks(as_role: Any, story: Any) -> None:
    aid = story.in_state("under_review")
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/review/{aid}").text
    assert 'id="refcheck-heading">Reference checks</h2>' in page
    assert page.count("Not checked by anyone yet.") == 2
    done = reviewer.post(f"/review/{aid}/references/1/check", {"status": "verified"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#ref-check-1")
    refused = reviewer.post(f"/review/{aid}/references/2/check", {"status": "problem"})
    assert refused.status_code == 303
    assert "say what the problem is in the note" in reviewer.get(refused.headers["Location"]).text
    reviewer.post(f"/review/{aid}/references/2/check",
                  {"status": "problem", "note": "<b>Wrong</b> page"})
    assert rows(story) == [(1, "verified", None), (2, "problem", "<b>Wrong</b> page")]
    page = reviewer.get(f"/review/{aid}").text
    assert "<strong>Verified</strong> by Dr. Maya Reed" in page
    assert "<strong>Problem</strong> by Dr. Maya Reed: “&lt;b&gt;Wrong&lt;/b&gt; page”" in page
    assert 'id="ref-2-problem" name="status" value="problem" checked' in page
    # The problem stands in the way of anyone's approval, said on the signature step.
    sign = as_role("reviewer2").get(f"/review/{aid}/sign/approve").text
    assert ("Reference 2 (MedlinePlus: high blood pressure) is marked as a problem by "
            "Dr. Maya Reed") in sign


def test_no_check_forms_for_who_may_not_check(as_role: Any, story: Any) -> None:
    aid = story.in_state("under_review")
    for role in ("editor", "auditor"):
        page = as_role(role).get(f"/review/{aid}").text
        assert "Reference checks" in page and "Save check of reference" not in page
    refused = as_role("editor").post(f"/review/{aid}/references/1/check", {"status": "verified"})
    assert refused.status_code == 403 and rows(story) == []


def test_lint_on_the_edit_and_review_pages(as_role: Any, story: Any) -> None:
    aid = story.create(title="Managing Seasonal Allergies", body=ALLERGY)
    editor_page = as_role("author").get(f"/write/{aid}").text
    assert "Reference lint: 1 thing to look at" in editor_page
    assert ("Reference 2 (MedlinePlus: high blood pressure) is never cited in the body."
            in editor_page)
    story.act(aid, "submit", "author")
    review_page = as_role("reviewer").get(f"/review/{aid}").text
    assert "Reference 2 (MedlinePlus: high blood pressure) is never cited in the body." in (
        review_page)
    clean = story.in_state("submitted", title="Clean")
    assert "Reference lint" not in as_role("reviewer").get(f"/review/{clean}").text


def test_the_revision_page_shows_the_checklist_answers(as_role: Any, story: Any) -> None:
    story.set_policy(checklist=["Claims match the cited sources",
                                "Plain-language version suitable for patients"])
    aid = story.in_state("under_review")
    story.act(aid, "approve", "reviewer", password=PASSWORD,
              checklist={"Claims match the cited sources": "yes",
                         "Plain-language version suitable for patients": "not_applicable"})
    page = as_role("author").get(f"/write/{aid}/revisions/1").text
    assert "Claims match the cited sources: <strong>Yes</strong>" in page
    assert "Plain-language version suitable for patients: <strong>Not applicable</strong>" in (
        page)


def test_the_audit_log_shows_the_checklist_answers_of_the_approval(as_role: Any,
                                                                   story: Any) -> None:
    story.set_policy(checklist=["Claims match the cited sources"])
    aid = story.in_state("under_review")
    story.act(aid, "approve", "reviewer", password=PASSWORD,
              checklist={"Claims match the cited sources": "yes"})
    page = as_role("auditor").get(f"/audit?article={aid}&action=article.approve").text
    assert page.count('aria-label="Checklist answered with this signature"') == 1
    assert "Claims match the cited sources: <strong>Yes</strong>" in page
