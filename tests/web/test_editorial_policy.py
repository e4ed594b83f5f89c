"""The editorial-policy page states the policy in force (quorum and specialties,
intervals, due periods, conflicts, checklist) and draws the workflow as an inline SVG."""

from __future__ import annotations

from typing import Any


def test_it_states_the_policy_in_force(client: Any, story: Any) -> None:
    story.set_policy(required_approvals=3, required_specialties={"Cardiology": 1,
                                                                 "pharmacology": 1},
                     rereview_months=18, response_due_days=5, review_due_days=10,
                     conflicts="disclose", require_assignment=True, allow_claiming=False,
                     checklist=["Dosages match the cited guideline",
                                "Contraindications are listed"])
    page = client.get("/editorial-policy").get_data(as_text=True)
    assert ("3 approvals from different board members, including 1 from a specialist in "
            "cardiology and 1 from a specialist in pharmacology") in page
    assert "Every 18 months after approval (calendar months" in page
    assert "within 5 days and completes the review within 10 days" in page
    assert "the conflict is then shown beside their name on the article" in page
    assert "An editor assigns each review to a board member, who accepts or declines it<" \
        in page
    assert "<li>Dosages match the cited guideline</li>" in page
    assert "<li>Contraindications are listed</li>" in page
    assert "(version 2)" in page


def test_the_default_policy_in_words(client: Any) -> None:
    page = client.get("/editorial-policy").get_data(as_text=True)
    assert "1 approval from different board members</dd>" in page
    assert "A reviewer who declares a conflict may not approve the article." in page
    assert "Any board member who did not write or edit the article may take up its review" \
        in page
    assert "No fixed checklist" in page


def test_the_workflow_is_a_picture_not_diagram_source(client: Any) -> None:
    page = client.get("/editorial-policy").get_data(as_text=True)
    assert 'role="img" aria-labelledby="workflow-diagram-title workflow-diagram-desc"' in page
    assert '<title id="workflow-diagram-title">Review workflow</title>' in page
    assert "Approve: from Under review to Approved." in page  # the description
    for source_text in ("stateDiagram", "classDef", "-->", "--&gt;", 'class="mermaid"'):
        assert source_text not in page, source_text
    # The table of steps is there for screen readers (and anyone) too.
    assert "<caption>Workflow steps</caption>" in page
    assert "<td>Approve</td><td>Under review</td><td>Approved</td>" in page
    assert "<td>Edit approved text</td><td>Approved</td><td>Draft</td>" in page


def test_a_new_policy_version_shows_at_once(client: Any, story: Any) -> None:
    first = client.get("/editorial-policy")
    assert "1 approval from" in first.text
    etag = first.headers["ETag"]
    assert client.get("/editorial-policy", headers={"If-None-Match": etag}).status_code == 304
    story.set_policy(required_approvals=2)
    after = client.get("/editorial-policy", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert "2 approvals from different board members" in after.text
