"""Reviewers: the queue, the review page, the buttons offered, the signature step."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from review_flow.articles.models import Article
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow
from review_flow.web.review import waited
from tests.conftest import PASSWORD
from tests.web.conftest import BODY

BUTTON = re.compile(r"<button[^>]*>([^<]+)</button>")


def _buttons(html: str) -> set[str]:
    """The workflow's buttons: the round's assignment forms are tested on their own
    (tests/web/test_rounds_web.py)."""
    if '<section class="panel" aria-labelledby="round-heading">' in html:
        start = html.index('<section class="panel" aria-labelledby="round-heading">')
        html = html[:start] + html[html.index("</section>", start):]
    # The reference-check forms too (tests/web/test_reference_checks_web.py).
    return {b.strip() for b in BUTTON.findall(html)
            if not b.strip().startswith("Save check of reference")} - {"Log out",
                                                                       "Post comment"}


def _backdate(db: Any, article_id: int, days: int) -> None:
    with db.transaction() as s:
        s.execute(update(Article).where(Article.id == article_id)
                  .values(submitted_at=utcnow() - timedelta(days=days))
                  .execution_options(synchronize_session=False))


def test_queue_lists_waiting_articles_oldest_first(as_role: Any, story: Any, db: Any) -> None:
    newer = story.in_state("submitted", title="Newer Submission")
    older = story.in_state("under_review", title="Older Under Review")
    story.in_state("draft", title="A Draft Nobody Reviews")
    story.in_state("approved", title="Already Approved")
    _backdate(db, older, 3)
    _backdate(db, newer, 1)
    page = as_role("reviewer").get("/review").get_data(as_text=True)
    assert page.index("Older Under Review") < page.index("Newer Submission")
    assert "A Draft Nobody Reviews" not in page and "Already Approved" not in page
    assert ">3 days</time>" in page and ">1 day</time>" in page
    assert "All waiting (2)" in page
    only_submitted = as_role("reviewer").get("/review?state=submitted").get_data(as_text=True)
    assert "Newer Submission" in only_submitted and "Older Under Review" not in only_submitted
    assert '<strong aria-current="page">Submitted (1)</strong>' in only_submitted


def test_waited_reads_like_a_person_would_say_it() -> None:
    now = utcnow()
    assert waited(now - timedelta(seconds=20), now) == "just now"
    assert waited(now - timedelta(minutes=1), now) == "1 minute"
    assert waited(now - timedelta(hours=5, minutes=3), now) == "5 hours"
    assert waited(now - timedelta(days=12), now) == "12 days"
    assert waited(None, now) == "-"


def test_review_page_shows_rendered_text_citations_and_only_allowed_buttons(
        as_role: Any, story: Any) -> None:
    article_id = story.in_state("submitted")
    page = as_role("reviewer").get(f"/review/{article_id}").get_data(as_text=True)
    assert '<a href="#ref-1" class="cite"' in page
    assert '<li id="ref-1">Guideline on hypertension' in page
    assert 'href="https://doi.org/10.1161/HYP.0000000000000065"' in page
    assert _buttons(page) == {"Start review"}
    as_author = story.people["author"]
    assert as_author  # the author cannot open the review page at all (403 in the matrix)


def test_buttons_follow_the_state_and_the_person(as_role: Any, story: Any,
                                                 make_user: Any) -> None:
    article_id = story.in_state("under_review")
    assert _buttons(as_role("reviewer").get(f"/review/{article_id}").text) == {
        "Request changes", "Approve", "Reject"}
    assert _buttons(as_role("auditor").get(f"/review/{article_id}").text) == set()
    assert _buttons(as_role("editor").get(f"/review/{article_id}").text) == set()
    approved = story.in_state("approved", title="Approved One")
    assert _buttons(as_role("editor").get(f"/review/{approved}").text) == {"Retract"}


def test_separation_of_duties_hides_and_refuses_approval(as_role: Any, story: Any,
                                                         make_user: Any) -> None:
    make_user("both@example.org", "author", "reviewer", name="Dr. Both Roles",
              credentials="MD")
    from tests.web.conftest import Browser

    both = Browser(as_role("anonymous").client)
    assert both.sign_in("both@example.org").status_code == 303
    own = both.post("/write/new", {"title": "My Own Article", "body": "Text [1].",
                                   "references-0-title": "Source", "references-0-pmid": "123",
                                   "op": "submit"})
    article_id = int(own.headers["Location"].rsplit("/", 1)[1])
    assert _buttons(both.get(f"/review/{article_id}").text) == {"Withdraw"}  # as its author
    refused = both.post(f"/articles/{article_id}/actions/start_review", {})
    assert refused.status_code == 403
    assert ("Separation of duties: you wrote or edited this article, so you may not review "
            "it.") in refused.text.replace("&#39;", "'")
    assert story.state(article_id) == "submitted"


def test_start_review_and_request_changes(as_role: Any, story: Any) -> None:
    article_id = story.in_state("submitted")
    reviewer = as_role("reviewer")
    started = reviewer.post(f"/articles/{article_id}/actions/start_review", {
        "expected_version": story.version(article_id), "return_to": f"/review/{article_id}"})
    assert started.headers["Location"] == f"/review/{article_id}"
    assert "Review started." in reviewer.get(started.headers["Location"]).text
    assert story.state(article_id) == "under_review"
    no_comment = reviewer.post(f"/articles/{article_id}/actions/request_changes", {
        "expected_version": story.version(article_id), "comment": " "})
    assert "Write a comment telling the author what to change." in reviewer.get(
        no_comment.headers["Location"]).text
    assert story.state(article_id) == "under_review"
    reviewer.post(f"/articles/{article_id}/actions/request_changes", {
        "expected_version": story.version(article_id), "comment": "Cite the 2017 guideline."})
    assert story.state(article_id) == "changes_requested"
    [event] = story.events("article.request_changes")
    assert event.comment == "Cite the 2017 guideline."
    assert event.request_id and event.client_addr == "127.0.0.1"


def test_a_stale_page_gets_a_friendly_conflict(as_role: Any, story: Any) -> None:
    article_id = story.in_state("submitted")
    stale = story.version(article_id)
    story.act(article_id, "withdraw", "author")
    story.act(article_id, "submit", "author")
    response = as_role("reviewer").post(f"/articles/{article_id}/actions/start_review", {
        "expected_version": stale, "return_to": f"/review/{article_id}"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This article changed since you opened the page" in page
    assert "withdraw by Alex Author" in page
    assert f'href="/review/{article_id}">Reload the latest version</a>' in page
    assert story.state(article_id) == "submitted"


def test_diff_against_the_approved_revision(as_role: Any, story: Any) -> None:
    article_id = story.in_state("approved")
    story.edit(article_id, body=BODY.replace("often has no symptoms", "usually has no symptoms"))
    story.act(article_id, "submit", "author")
    page = as_role("reviewer").get(f"/review/{article_id}").get_data(as_text=True)
    assert "Changes since the last approved revision (revision 1)" in page
    assert "<del>often</del><ins>usually</ins>" in page
    assert "1 words added, 1 removed" in page


def test_diff_against_the_previous_revision(as_role: Any, story: Any) -> None:
    article_id = story.create()
    story.edit(article_id, title="Understanding Low Blood Pressure")
    story.act(article_id, "submit", "author")
    page = as_role("reviewer").get(f"/review/{article_id}").get_data(as_text=True)
    assert "Changes since the previous revision (revision 1)" in page
    assert "<del>High</del><ins>Low</ins>" in page


def _sign(browser: Any, story: Any, article_id: int, action: str, **data: Any) -> Any:
    page = browser.get(f"/review/{article_id}/sign/{action}").get_data(as_text=True)
    content_hash = re.search(r'name="content_hash" value="([^"]+)"', page)
    assert content_hash
    form = {"content_hash": content_hash.group(1),
            "expected_version": story.version(article_id), **data}
    return browser.post(f"/review/{article_id}/sign/{action}", form,
                        page=f"/review/{article_id}/sign/{action}")


def test_signature_page_shows_what_is_signed(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    page = as_role("reviewer").get(f"/review/{article_id}/sign/approve").get_data(as_text=True)
    assert "I approve this revision as medically accurate" in page
    assert "Dr. Maya Reed, MD, FACP" in page
    assert re.search(r'<code class="hash">sha256:[0-9a-f]{64}</code>', page)
    assert '<label for="password">Password</label>' in page
    assert ">Sign</button>" in page


def test_approve_with_signature(as_role: Any, story: Any, db: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    response = _sign(reviewer, story, article_id, "approve", password=PASSWORD)
    assert response.status_code == 303
    assert "Approved with your signature (1 of 1 approvals)" in reviewer.get(
        response.headers["Location"]).text
    assert story.state(article_id) == "approved"
    with db.reading() as s:
        decision = s.scalar(select(Decision).where(Decision.article_id == article_id))
        assert decision is not None
        assert decision.printed_name == "Dr. Maya Reed" and decision.credentials == "MD, FACP"
        assert decision.meaning == "I approve this revision as medically accurate"


def test_wrong_password_is_refused_and_nothing_is_signed(as_role: Any, story: Any,
                                                         db: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    before = story.event_count()
    response = _sign(reviewer, story, article_id, "approve", password="not-it")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Signature refused: the password is not correct." in page
    assert "not-it" not in page
    assert story.state(article_id) == "under_review"
    # The only record of it is the security event (tests/web/test_signature_throttle.py).
    assert story.event_count() == before + 1
    assert [e.action for e in story.events()][-1] == "signature.failed"


def test_signing_changed_text_is_refused(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/review/{article_id}").get_data(as_text=True)
    old_hash = re.search(r'name="content_hash" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    # Meanwhile the author withdraws, edits and resubmits, and review restarts.
    story.act(article_id, "withdraw", "author")
    story.edit(article_id, body=BODY + "\nNew claim [1].\n")
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer")
    opened = reviewer.get(f"/review/{article_id}/sign/approve?content_hash={old_hash}")
    assert opened.status_code == 409
    assert "changed since you opened it" in opened.text
    posted = reviewer.post(f"/review/{article_id}/sign/approve", {
        "content_hash": old_hash, "password": PASSWORD})
    assert posted.status_code == 409
    assert "review the new text before signing" in posted.text
    assert story.state(article_id) == "under_review"


def test_review_checks_are_required_when_the_policy_says_so(as_role: Any, story: Any) -> None:
    """The old tick boxes are gone: the checklist is answered item by item, the
    references are checked on the review page (records), the conflict is declared."""
    story.set_policy(review_checks=["checklist", "references_verified", "conflict_of_interest"],
                     checklist=["Claims match the cited sources"])
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/review/{article_id}/sign/approve").get_data(as_text=True)
    assert "I completed the review checklist" not in page
    assert "I verified every reference" not in page
    assert "<legend>Claims match the cited sources</legend>" in page
    assert "Conflict of interest declaration" in page
    assert "Reference 1 (Guideline on hypertension) is not checked yet" in page
    missing = _sign(reviewer, story, article_id, "approve", password=PASSWORD,
                    conflict_of_interest="none", **{"checklist-1": "yes"})
    assert missing.status_code == 422
    assert "Reference 1 (Guideline on hypertension) is not checked yet" in missing.text
    assert "references_verified" not in re.sub(r"<[^>]*>", "", missing.text)  # no field names
    assert 'name="checklist-1" value="yes" checked' in missing.text  # the answer is kept
    assert story.state(article_id) == "under_review"
    for n in (1, 2):
        reviewer.post(f"/review/{article_id}/references/{n}/check", data={"status": "verified"})
    done = _sign(reviewer, story, article_id, "approve", password=PASSWORD,
                 conflict_of_interest="none", **{"checklist-1": "yes"})
    assert done.status_code == 303
    assert story.state(article_id) == "approved"
    signed = reviewer.get(f"/review/{article_id}").text
    assert "Claims match the cited sources: <strong>Yes</strong>" in signed


def test_two_approvals_when_the_policy_requires_them(as_role: Any, story: Any) -> None:
    story.set_policy(required_approvals=2)
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    first = _sign(reviewer, story, article_id, "approve", password=PASSWORD)
    assert "(1 of 2 approvals needed)" in reviewer.get(first.headers["Location"]).text
    assert story.state(article_id) == "under_review"
    assert "Approve" not in _buttons(reviewer.get(f"/review/{article_id}").text)
    _sign(as_role("reviewer2"), story, article_id, "approve", password=PASSWORD)
    assert story.state(article_id) == "approved"


def test_reject_needs_a_reason_and_a_signature(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    page = reviewer.get(f"/review/{article_id}/sign/reject").get_data(as_text=True)
    assert "I reject this revision as not fit for publication" in page
    assert '<label for="comment">Reason</label>' in page
    no_reason = _sign(reviewer, story, article_id, "reject", password=PASSWORD)
    assert no_reason.status_code == 422
    assert story.state(article_id) == "under_review"
    done = _sign(reviewer, story, article_id, "reject", password=PASSWORD,
                 comment="Claims are not supported.")
    assert done.status_code == 303
    assert story.state(article_id) == "rejected"


def test_signature_actions_cannot_skip_the_signature_step(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    response = as_role("reviewer").post(f"/articles/{article_id}/actions/approve", {})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/review/{article_id}/sign/approve"
    assert story.state(article_id) == "under_review"
    assert as_role("reviewer").get(f"/review/{article_id}/sign/retract").status_code == 404


def test_editor_retracts_with_a_reason(as_role: Any, story: Any) -> None:
    article_id = story.in_state("approved")
    editor = as_role("editor")
    response = editor.post(f"/articles/{article_id}/actions/retract", {
        "comment": "Superseded.", "expected_version": story.version(article_id),
        "return_to": f"/review/{article_id}"})
    assert "Retracted: readers now see the retraction notice." in editor.get(
        response.headers["Location"]).text
    assert story.state(article_id) == "retracted"
    assert _buttons(editor.get(f"/review/{article_id}").text) == {"Reopen"}


def test_unknown_action_and_missing_article(as_role: Any, story: Any) -> None:
    article_id = story.in_state("submitted")
    reviewer = as_role("reviewer")
    unknown = reviewer.post(f"/articles/{article_id}/actions/launch", {})
    assert unknown.status_code == 303  # flashed back: "Unknown action 'launch'"
    assert "Unknown action" in reviewer.get(unknown.headers["Location"]).text
    assert reviewer.get("/review/999999").status_code == 404
    assert reviewer.post("/articles/999999/actions/start_review", {}).status_code == 404


def test_return_to_must_stay_on_the_site(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    response = as_role("reviewer").post(f"/articles/{article_id}/comments", {
        "body": "Fine.", "return_to": "https://evil.example/"})
    assert response.headers["Location"] == f"/review/{article_id}"


def test_a_rereview_offers_approve_again_to_the_earlier_rounds_approver(
    as_role: Any, story: Any, db: Any
) -> None:
    """Same revision, new round: the reviewer who approved it in round 1 sees Approve,
    and the signature they give is accepted."""
    article_id = story.in_state("approved")
    with db.transaction() as s:
        s.execute(update(Article).where(Article.id == article_id)
                  .values(review_due=utcnow() - timedelta(days=1))
                  .execution_options(synchronize_session=False))
    story.act(article_id, "request_rereview", "editor")
    story.act(article_id, "start_review", "reviewer")
    reviewer = as_role("reviewer")
    assert "Approve" in _buttons(reviewer.get(f"/review/{article_id}").text)
    done = _sign(reviewer, story, article_id, "approve", password=PASSWORD)
    assert done.status_code == 303
    assert story.state(article_id) == "approved"


def test_every_problem_of_a_signature_is_shown_at_once(as_role: Any, story: Any) -> None:
    """A wrong password, an unticked check and a declared conflict: three problems, one try."""
    story.set_policy(review_checks=["checklist"])
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer")
    refused = _sign(reviewer, story, article_id, "approve", password="not my password",
                    conflict_of_interest="I own shares in the maker")
    assert refused.status_code == 422  # the first problem's status: the conflict, as before
    alert = re.search(r'<div class="flash flash-error" role="alert" id="sign-error">(.*?)</div>',
                      refused.text, re.S)
    assert alert, refused.text
    items = [re.sub(r"\s+", " ", i).strip()
             for i in re.findall(r"<li>(.*?)</li>", alert.group(1), re.S)]
    assert "Please fix these 3 problems" in alert.group(1)
    assert len(items) == 3, items
    assert items[0].startswith("Approval refused: you declared a conflict of interest (I own "
                               "shares in the maker)")
    assert items[1] == "Signature refused: the password is not correct."
    assert items[2] == ("Before approving, this board&#39;s policy asks you to confirm that "
                        "you completed the review checklist.")
    assert story.state(article_id) == "under_review"
    assert len(story.events("signature.failed")) == 1  # the wrong password still counts
    # Fix them all: it signs.
    done = _sign(reviewer, story, article_id, "approve", password=PASSWORD, checklist="y",
                 conflict_of_interest="none")
    assert done.status_code == 303 and story.state(article_id) == "approved"
