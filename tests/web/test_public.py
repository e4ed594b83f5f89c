"""The public article page, the article list and the editorial-policy page."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.web.conftest import BODY

CAUTION = "Educational purpose only • Exercise caution as content is pending human review"


def _jsonld(html: str) -> dict[str, Any] | None:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


def _current_step(html: str) -> str:
    match = re.search(r'<li class="step current" aria-current="step">([^<]+)</li>', html)
    assert match, "no current step"
    return match.group(1)


def test_pending_article_is_public_under_the_caution_banner(client: Any, story: Any) -> None:
    article_id = story.in_state("submitted")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert CAUTION in page
    assert "All articles are reviewed for accuracy by our Medical Advisory Board" in page
    assert "Article Review Status" in page
    assert [s for s in re.findall(r'<li class="step [a-z]+"[^>]*>([^<]+)</li>', page)] == [
        "Submitted", "Under Review", "Approved"]
    assert _current_step(page) == "Submitted"
    assert "Last updated:" in page
    assert "Medically reviewed by" not in page
    assert _jsonld(page) is None
    assert '<a href="/editorial-policy">View editorial policy</a>' in page
    assert "Medical disclaimer" in page


def test_stepper_follows_the_state(client: Any, story: Any) -> None:
    under = story.in_state("under_review")
    changes = story.in_state("changes_requested", title="Changes")
    assert _current_step(client.get(f"/articles/{story.slug(under)}").text) == "Under Review"
    assert _current_step(client.get(f"/articles/{story.slug(changes)}").text) == "Submitted"
    under_page = client.get(f"/articles/{story.slug(under)}").text
    assert '<li class="step done">Submitted</li>' in under_page
    assert '<li class="step todo">Approved</li>' in under_page


def test_approved_article_names_its_reviewer_and_carries_structured_data(
        client: Any, story: Any) -> None:
    article_id = story.in_state("approved")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert CAUTION not in page
    assert _current_step(page) == "Approved"
    assert re.search(r"Medically reviewed by Dr\. Maya Reed, MD, FACP on <time datetime=\"[^\"]+\">"
                     r"[A-Z][a-z]+ \d+, \d{4}</time>", page)
    data = _jsonld(page)
    assert data is not None
    assert data["@type"] == "MedicalWebPage"
    assert data["reviewedBy"]["@type"] == "Person"
    assert data["reviewedBy"]["name"] == "Dr. Maya Reed"
    assert data["reviewedBy"]["honorificSuffix"] == "MD, FACP"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["lastReviewed"])
    assert data["dateModified"].startswith(data["lastReviewed"][:4])
    assert '<a href="#ref-1" class="cite"' in page
    assert '<li id="ref-2">MedlinePlus: high blood pressure' in page


def test_readers_keep_seeing_the_approved_text_while_it_is_revised(client: Any,
                                                                   story: Any) -> None:
    article_id = story.in_state("approved")
    story.edit(article_id, body="Completely new unapproved claims [1].\n")
    story.act(article_id, "submit", "author")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert "often has no symptoms" in page
    assert "unapproved claims" not in page
    assert CAUTION not in page
    assert _current_step(page) == "Approved"
    assert _jsonld(page) is not None


def test_retracted_article_shows_the_notice_instead_of_the_body(client: Any,
                                                                story: Any) -> None:
    article_id = story.in_state("retracted")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert "This article has been retracted" in page
    assert "Reason: Superseded by a newer guideline." in page
    assert "often has no symptoms" not in page
    assert _jsonld(page) is None
    assert "Medically reviewed by" not in page
    # Reopening for rework does not bring the withdrawn text back.
    story.act(article_id, "reopen", "editor")
    again = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert "This article has been retracted" in again
    assert "often has no symptoms" not in again


def test_reapproval_after_retraction_publishes_again(client: Any, story: Any) -> None:
    article_id = story.in_state("retracted")
    story.act(article_id, "reopen", "editor")
    story.edit(article_id, body="Updated guidance [1].\n")
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer2")
    story.act(article_id, "approve", "reviewer2")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert "This article has been retracted" not in page
    assert "Updated guidance" in page
    assert "Medically reviewed by Dr. Chidi Okafor, MD, MPH" in page


def test_drafts_and_rejected_text_never_appear(client: Any, story: Any) -> None:
    draft = story.in_state("draft")
    rejected = story.in_state("rejected", title="Rejected")
    assert client.get(f"/articles/{story.slug(draft)}").status_code == 404
    assert client.get(f"/articles/{story.slug(rejected)}").status_code == 404
    assert client.get("/articles/no-such-article").status_code == 404
    index = client.get("/").get_data(as_text=True)
    assert "Article draft" not in index and "Rejected" not in index


def test_pending_text_can_be_kept_private_by_policy(client: Any, story: Any) -> None:
    pending = story.in_state("under_review")
    approved = story.in_state("approved", title="Approved Article")
    story.set_policy(show_pending_publicly=False)
    assert client.get(f"/articles/{story.slug(pending)}").status_code == 404
    assert client.get(f"/articles/{story.slug(approved)}").status_code == 200
    index = client.get("/").get_data(as_text=True)
    assert "Approved Article" in index and "Article under review" not in index


def test_index_lists_what_readers_may_open(client: Any, story: Any) -> None:
    """The home page lists reviewed articles only; pending ones are opened by link."""
    story.in_state("approved", title="Approved Article")
    story.in_state("submitted", title="Pending Article")
    story.in_state("retracted", title="Retracted Article")
    page = client.get("/").get_data(as_text=True)
    assert "Approved Article" in page and "Medically reviewed" in page
    assert "Pending Article" not in page and "Retracted Article" not in page


def test_generator_is_disclosed(client: Any, story: Any) -> None:
    article_id = story.create(generator={"name": "demo-writer", "model": "example-model",
                                         "version": "2026.11"})
    story.act(article_id, "submit", "author")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert ("Drafted with an automated writing tool: demo-writer (example-model, "
            "version 2026.11)") in page
    assert "It has not been approved by a reviewer yet." in page


def test_editorial_policy_page(client: Any, story: Any) -> None:
    story.set_policy(required_approvals=2, rereview_months=6, review_checks=["checklist"])
    page = client.get("/editorial-policy").get_data(as_text=True)
    assert "2 approvals from different board members" in page
    assert "Every 6 months after approval" in page
    assert "Review checklist completed" in page
    assert "<strong>Dr. Maya Reed</strong>, MD, FACP" in page
    assert "<strong>Dr. Chidi Okafor</strong>, MD, MPH" in page
    assert "Alex Author" not in page  # authors are not board members
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="workflow-diagram"' in page
    assert "stateDiagram-v2" not in page  # no diagram source for readers
    assert "<td>Approve</td><td>Under review</td><td>Approved</td>" in page


def test_last_updated_is_the_shown_revisions_date(client: Any, story: Any, db: Any) -> None:
    from review_flow.articles.queries import get_article

    article_id = story.in_state("approved")
    with db.reading() as s:
        created = get_article(s, article_id).current_revision.created_at  # type: ignore[union-attr]
    story.edit(article_id, body=BODY + "\nLater [1].\n")
    page = client.get(f"/articles/{story.slug(article_id)}").get_data(as_text=True)
    assert f'Last updated: <time datetime="{created.isoformat()}">' in page


def test_page_cache_sees_changes_made_elsewhere(client: Any, story: Any) -> None:
    """The cache is checked against the database on every request, so an action taken in
    another process (here: straight through the service layer) shows at once."""
    article_id = story.in_state("under_review")
    url = f"/articles/{story.slug(article_id)}"
    first = client.get(url)
    assert CAUTION in first.text and first.headers["ETag"]
    assert client.get(url).headers["ETag"] == first.headers["ETag"]  # served from the cache
    story.act(article_id, "approve", "reviewer")
    after = client.get(url)
    assert CAUTION not in after.text
    assert "Medically reviewed by Dr. Maya Reed" in after.text
    assert after.headers["ETag"] != first.headers["ETag"]
    story.set_policy(show_pending_publicly=False)  # a policy change also invalidates
    story.act(article_id, "retract", "editor", comment="Withdrawn.")
    assert "This article has been retracted" in client.get(url).text


def test_conditional_get_answers_not_modified(client: Any, story: Any) -> None:
    url = f"/articles/{story.slug(story.in_state('approved'))}"
    etag = client.get(url).headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"].startswith("public, max-age=0, s-maxage=60")


def test_readers_with_a_session_get_a_fresh_page(as_role: Any, story: Any) -> None:
    """Signed-in people see their own header (name, Log out), never a cached reader's page."""
    url = f"/articles/{story.slug(story.in_state('approved'))}"
    reader_page = as_role("anonymous").get(url).text
    assert "Log out" not in reader_page
    editor_page = as_role("editor").get(url).text
    assert "Erin Editor" in editor_page and "Log out" in editor_page
    assert "ETag" not in as_role("editor").get(url).headers
