"""Comment threads in the browser UI (test client, SQLite and PostgreSQL): the review
page's paragraphs, posting and settling threads, and the editor that keeps the author's
unsaved text when a reply is posted."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import select

from review_flow.threads.models import CommentThread, ThreadMessage

BODY = (
    "Hypertension often has no symptoms [1].\n\n"
    "Adults should limit salt to 5 g a day [2].\n\n"
    "Check your blood pressure once a year.\n"
)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _under_review(story: Any) -> int:
    aid = story.create(body=BODY)
    story.act(aid, "submit", "author")
    story.act(aid, "start_review", "reviewer")
    return aid


def _threads(story: Any) -> list[Any]:
    t = CommentThread
    with story.db.reading() as s:
        return list(s.execute(select(t.id, t.paragraph, t.quote, t.blocking, t.state)
                              .order_by(t.id)).all())


def _messages(story: Any) -> list[str]:
    with story.db.reading() as s:
        return list(s.scalars(select(ThreadMessage.body).order_by(ThreadMessage.id)))


def test_each_paragraph_offers_a_comment_form(as_role: Any, story: Any) -> None:
    aid = _under_review(story)
    html = as_role("reviewer").get(f"/review/{aid}").get_data(as_text=True)
    assert html.count("Comment on this paragraph") == 3
    for n in (1, 2, 3):
        assert f'<label for="thread-body-{n}">Your comment on paragraph {n}</label>' in html
    assert "Blocking: approval waits until this is resolved" in html
    # An editor may comment but not block.
    html = as_role("editor").get(f"/review/{aid}").get_data(as_text=True)
    assert "Comment on this paragraph" in html
    assert "Blocking: approval waits" not in html


def test_a_reviewer_opens_a_blocking_thread_that_shows_under_its_paragraph(
        as_role: Any, story: Any) -> None:
    aid = _under_review(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    response = reviewer.post(f"/articles/{aid}/threads", {
        "body": "Which guideline says **5 g**?", "paragraph": "2", "quote": "5 g a day",
        "blocking": "y", "revision": "1", "return_to": page}, page=page)
    assert response.status_code == 303
    (thread,) = _threads(story)
    assert (thread.paragraph, thread.quote, thread.blocking) == (2, "5 g a day", True)
    html = reviewer.get(page).get_data(as_text=True)
    assert "Blocking comment posted: approval waits until it is resolved." in html
    para = html[html.index('id="paragraph-2"'):html.index('id="paragraph-3"')]
    assert "Comment by Dr. Maya Reed" in _text(para)
    assert "<strong>5 g</strong>" in para  # the message's Markdown, rendered
    assert "Resolve blocking comment on paragraph 2 by Dr. Maya Reed" in _text(para)
    assert "Approval is held back by 1 open blocking comment" in _text(html)
    # Approval is refused, naming the thread, and resolving lets it through.
    signed = reviewer.post(f"/review/{aid}/sign/approve", {"password": "correct horse battery"},
                           page=page)
    assert "Blocking comment on paragraph 2 by Dr. Maya Reed is still open." in unescape(
        signed.get_data(as_text=True))
    assert story.state(aid) == "under_review"
    assert reviewer.post(f"/articles/{aid}/threads/{thread.id}/resolve",
                         {"return_to": page}, page=page).status_code == 303
    assert _threads(story)[0].state == "resolved"
    html = reviewer.get(page).get_data(as_text=True)
    assert "Reopen blocking comment on paragraph 2 by Dr. Maya Reed" in _text(html)
    assert "Resolved by Dr. Maya Reed on revision 1" in _text(html)


def test_bad_thread_input_is_named_and_writes_nothing(as_role: Any, story: Any) -> None:
    aid = _under_review(story)
    # From the editor page (an editor may comment there) a refusal is a message after a
    # redirect; on the review page the form comes back (the next test).
    reviewer = as_role("editor")
    page = f"/write/{aid}"
    before = story.event_count()
    for data, message in [
        ({"body": "", "paragraph": "2"}, "Write a comment before posting it. Nothing was posted."),
        ({"body": "x", "paragraph": "2", "quote": "sugar"},
         "The quoted passage is not in paragraph 2. Nothing was posted."),
        ({"body": "x", "paragraph": "7"},
         "There is no paragraph 7: revision 1 has 3 paragraphs. Nothing was posted."),
    ]:
        response = reviewer.post(f"/articles/{aid}/threads", {**data, "return_to": page},
                                 page=page, follow_redirects=True)
        assert message in unescape(response.get_data(as_text=True))
    assert story.event_count() == before
    assert _threads(story) == []


def test_a_refused_comment_comes_back_in_its_form(as_role: Any, story: Any) -> None:
    """On the review page the typed comment is not lost when the passage is mistyped."""
    aid = _under_review(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    response = reviewer.post(f"/articles/{aid}/threads", {
        "body": "A long and careful comment.", "paragraph": "2", "quote": "5 grams",
        "blocking": "y", "return_to": page}, page=page)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    form = html[html.index('id="paragraph-2"'):html.index('id="paragraph-3"')]
    assert '<details class="new-thread" open>' in form
    assert ">A long and careful comment.</textarea>" in form
    assert 'value="5 grams"' in form
    assert 'name="blocking" type="checkbox" value="y" checked' in form
    assert "The quoted passage is not in paragraph 2. Nothing was posted." in form
    assert _threads(story) == []


def test_someone_not_on_the_article_is_refused(as_role: Any, story: Any) -> None:
    aid = _under_review(story)
    # An admin (an auditor is refused earlier, by the central no-writes rule for auditors).
    response = as_role("admin").post(f"/articles/{aid}/threads",
                                     {"body": "Hm", "paragraph": "1"}, page="/admin/people")
    assert response.status_code == 403
    assert ("Only the article&#39;s author, its reviewers and editors may comment on it."
            in response.get_data(as_text=True))


def test_where_assignment_is_required_only_the_assigned_reviewer_comments(
        as_role: Any, story: Any) -> None:
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    story.set_policy(require_assignment=True, allow_claiming=False)
    aid = story.create(body=BODY)
    story.act(aid, "submit", "author")
    with story.db.transaction() as s:
        assignments.assign(s, story.people["editor"], aid,
                           users.get_by_email(s, "reed@example.org"))
    with story.db.transaction() as s:
        assignments.respond(s, story.people["reviewer"], aid, "accept")
    page = f"/review/{aid}"
    refusal = ("Only reviewers assigned to this review can comment; ask the managing editor "
               "to assign you.")
    assigned = as_role("reviewer").get(page).get_data(as_text=True)
    assert assigned.count("Comment on this paragraph") == 3
    assert refusal not in unescape(assigned)
    other = as_role("reviewer2")
    html = unescape(other.get(page).get_data(as_text=True))
    assert "Comment on this paragraph" not in html
    assert f'<p class="notice thread-refusal" role="note">{refusal}</p>' in html
    response = other.post(f"/articles/{aid}/threads", {"body": "Hm", "paragraph": "1",
                                                       "return_to": page}, page=page)
    assert response.status_code == 403
    assert refusal in unescape(response.get_data(as_text=True))
    assert _threads(story) == []


def test_replying_from_the_editor_keeps_the_unsaved_edits(as_role: Any, story: Any) -> None:
    aid = _under_review(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    reviewer.post(f"/articles/{aid}/threads", {"body": "Source for 5 g?", "paragraph": "2",
                                                "blocking": "y", "return_to": page}, page=page)
    story.act(aid, "request_changes", "reviewer", comment="See my comments.")
    (thread,) = _threads(story)
    author = as_role("author")
    editor_page = f"/write/{aid}"
    html = author.get(editor_page).get_data(as_text=True)
    assert f'form="editor-form" name="op" value="thread-reply-{thread.id}"' in html
    edited = BODY.replace("5 g a day [2]", "5 g a day, as the WHO advises [2]")
    response = author.post(editor_page, {
        "title": "My unsaved title", "body": edited, "expected_version": story.version(aid),
        "references-0-title": "ACC/AHA guideline", "references-0-doi": "10.1161/X",
        f"reply-{thread.id}": "Added the WHO source.", "op": f"thread-reply-{thread.id}",
    }, page=editor_page)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Reply posted. Your edits are still here, not saved yet." in html
    assert 'value="My unsaved title"' in html
    assert "5 g a day, as the WHO advises [2]" in html
    assert 'value="10.1161/X"' in html
    assert _messages(story) == ["Source for 5 g?", "Added the WHO source."]
    assert story.revisions(aid) == 1  # nothing saved
    # The plain "Reply to the reviewers" comment keeps the text too.
    response = author.post(editor_page, {
        "title": "My unsaved title", "body": edited, "expected_version": story.version(aid),
        "comment_body": "Thanks, fixing it.", "op": "comment"}, page=editor_page)
    assert 'value="My unsaved title"' in response.get_data(as_text=True)
    assert "Thanks, fixing it." in response.get_data(as_text=True)
    # An empty reply is refused by name, the text still in place, nothing written.
    before = story.event_count()
    response = author.post(editor_page, {
        "title": "My unsaved title", "body": edited, f"reply-{thread.id}": " ",
        "op": f"thread-reply-{thread.id}"}, page=editor_page)
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert ("Write a comment before posting it. Nothing was posted; your edits are still "
            "here") in html
    assert "My unsaved title" in html
    assert story.event_count() == before
    # The author resolves from the editor too, still without losing the text.
    response = author.post(editor_page, {
        "title": "My unsaved title", "body": edited, "op": f"thread-resolve-{thread.id}"},
        page=editor_page)
    assert "Thread resolved. Your edits are still here" in response.get_data(as_text=True)
    assert _threads(story)[0].state == "resolved"


def test_a_thread_on_a_rewritten_passage_is_shown_as_outdated(as_role: Any,
                                                              story: Any) -> None:
    aid = _under_review(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    reviewer.post(f"/articles/{aid}/threads", {"body": "Yearly?", "paragraph": "3",
                                                "return_to": page}, page=page)
    reviewer.post(f"/articles/{aid}/threads", {"body": "Source?", "paragraph": "2",
                                                "return_to": page}, page=page)
    story.act(aid, "request_changes", "reviewer", comment="See my comments.")
    story.edit(aid, body="A new first paragraph.\n\n" + BODY.replace(
        "Check your blood pressure once a year.", "Measure it at every visit."))
    story.act(aid, "submit", "author")
    story.act(aid, "start_review", "reviewer")
    html = reviewer.get(page).get_data(as_text=True)
    outdated = html[html.index('id="outdated-threads-heading"'):]
    assert "Yearly?" in outdated
    assert "Check your blood pressure once a year." in outdated  # the quote it was about
    moved = html[html.index('id="paragraph-3"'):html.index('id="paragraph-4"')]
    assert "Source?" in moved
    assert "Moved here from paragraph 2 of revision 1." in moved


NOT_ASSIGNED = ("Only reviewers assigned to this review can comment; ask the managing editor "
                "to assign you.")


def _assigned_round(story: Any, email: str = "reed@example.org") -> tuple[int, int]:
    """An article in a round that requires assignment, ``email`` assigned and accepted;
    returns (article id, assignment id)."""
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    story.set_policy(require_assignment=True, allow_claiming=False)
    aid = story.create(body=BODY)
    story.act(aid, "submit", "author")
    with story.db.transaction() as s:
        assignment = assignments.assign(s, story.people["editor"], aid,
                                        users.get_by_email(s, email)).id
    who = next(p for p in story.people.values() if p.user.email == email)
    with story.db.transaction() as s:
        assignments.respond(s, who, aid, "accept")
    return aid, assignment


def _cancel(story: Any, assignment: int) -> None:
    from review_flow.rounds import assignments

    with story.db.transaction() as s:
        assignments.cancel(s, story.people["editor"], assignment, reason="Reassigned.")


def _written(story: Any) -> tuple[Any, ...]:
    from sqlalchemy import func

    from review_flow.articles.models import Comment
    from review_flow.outbox.models import OutboxMessage

    with story.db.reading() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(model)) or 0
                       for model in (CommentThread, ThreadMessage, Comment, OutboxMessage))
    return (*counts, story.event_count())


def test_a_stale_thread_form_after_the_assignment_was_cancelled_keeps_the_comment(
        as_role: Any, story: Any) -> None:
    """The reviewer's form was open when the editor cancelled the assignment: Post brings
    back the review page with the comment in its form and the reason beside it (403), not a
    bare error page; nothing is written."""
    aid, assignment = _assigned_round(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    assert reviewer.get(page).get_data(as_text=True).count("Comment on this paragraph") == 3
    _cancel(story, assignment)
    before = _written(story)
    response = reviewer.post(f"/articles/{aid}/threads", {
        "body": "A long and careful comment.", "paragraph": "2", "quote": "5 g a day",
        "revision": "1", "return_to": page}, page=page)
    assert response.status_code == 403
    html = unescape(response.get_data(as_text=True))
    form = html[html.index('id="paragraph-2"'):html.index('id="paragraph-3"')]
    assert '<details class="new-thread" open>' in form
    assert ">A long and careful comment.</textarea>" in form
    assert 'value="5 g a day"' in form
    assert (f'<p class="field-error" role="alert" id="thread-error-2">{NOT_ASSIGNED} '
            "Nothing was posted.</p>") in form
    assert "Comment on this paragraph" not in html.replace(form, "")  # only the refused one
    assert _written(story) == before


def test_a_stale_reply_form_keeps_the_reply_and_a_refused_resolve_says_why(
        as_role: Any, story: Any) -> None:
    aid, assignment = _assigned_round(story)
    reviewer = as_role("reviewer")
    page = f"/review/{aid}"
    reviewer.post(f"/articles/{aid}/threads", {"body": "Source for 5 g?", "paragraph": "2",
                                                "return_to": page}, page=page)
    (thread,) = _threads(story)
    _cancel(story, assignment)
    before = _written(story)
    response = reviewer.post(f"/articles/{aid}/threads/{thread.id}/replies",
                             {"body": "My careful answer.", "return_to": page}, page=page)
    assert response.status_code == 403
    html = unescape(response.get_data(as_text=True))
    card = html[html.index(f'id="thread-{thread.id}"'):html.index('id="paragraph-3"')]
    assert (f'<p class="field-error" role="alert" id="thread-{thread.id}-error">'
            f"{NOT_ASSIGNED} Nothing was posted.</p>") in card
    assert ">My careful answer.</textarea>" in card
    assert _written(story) == before
    # Resolving is for the thread's opener or the author: another reviewer (assigned, so
    # the page is theirs to use) is told so on the page, not on a bare error page.
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    with story.db.transaction() as s:
        assignments.assign(s, story.people["editor"], aid,
                           users.get_by_email(s, "okafor@example.org"))
    with story.db.transaction() as s:
        assignments.respond(s, story.people["reviewer2"], aid, "accept")
    okafor = as_role("reviewer2")
    before = _written(story)
    response = okafor.post(f"/articles/{aid}/threads/{thread.id}/resolve", {"return_to": page},
                           page=page)
    assert response.status_code == 403
    html = unescape(response.get_data(as_text=True))
    card = html[html.index(f'id="thread-{thread.id}"'):html.index('id="paragraph-3"')]
    assert ("Only the article's author or Dr. Maya Reed, who opened this thread, may "
            "resolve it. Nothing was posted.") in card
    assert _written(story) == before
    assert _threads(story)[0].state == "open"


def test_where_assignment_is_required_general_comments_follow_the_same_rule(
        as_role: Any, story: Any) -> None:
    aid, _ = _assigned_round(story)
    page = f"/review/{aid}"
    note = f'<p class="notice comment-refusal" role="note">{NOT_ASSIGNED}</p>'
    # Not assigned: no sidebar comment box, the reason instead.
    other = as_role("reviewer2")
    html = unescape(other.get(page).get_data(as_text=True))
    assert 'id="comment-body"' not in html
    assert note in html
    # A stale (or hand-made) post: refused on the page, the text kept, nothing written.
    before = _written(story)
    response = other.post(f"/articles/{aid}/comments",
                          {"body": "My general remark.", "return_to": page}, page=page)
    assert response.status_code == 403
    html = unescape(response.get_data(as_text=True))
    side = html[html.index('aria-label="Review discussion"'):]
    assert (f'<p class="field-error" role="alert" id="comment-error">{NOT_ASSIGNED} '
            "Nothing was posted.</p>") in side
    assert ">My general remark.</textarea>" in side
    assert "Comment added." not in html
    assert _written(story) == before
    # The assigned reviewer and an editor comment on the review page, the author on the
    # editor.
    for role, at in (("reviewer", page), ("editor", page), ("author", f"/write/{aid}")):
        browser = as_role(role)
        html = unescape(browser.get(at).get_data(as_text=True))
        assert ('id="comment-body"' in html, note in html) == (True, False), role
        response = browser.post(f"/articles/{aid}/comments",
                                {"body": f"From the {role}.", "return_to": at}, page=at,
                                follow_redirects=True)
        assert "Comment added." in response.get_data(as_text=True), role
    assert _written(story)[2] == before[2] + 3


def test_without_the_assignment_rule_any_reviewer_posts_a_general_comment(
        as_role: Any, story: Any) -> None:
    aid = story.create(body=BODY)
    story.act(aid, "submit", "author")
    page = f"/review/{aid}"
    other = as_role("reviewer2")
    html = unescape(other.get(page).get_data(as_text=True))
    assert 'id="comment-body"' in html and "comment-refusal" not in html
    response = other.post(f"/articles/{aid}/comments", {"body": "Looks fine.",
                                                         "return_to": page},
                          page=page, follow_redirects=True)
    assert "Comment added." in response.get_data(as_text=True)
