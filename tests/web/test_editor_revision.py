"""An editor's revision of approved text in the browser: the "Submit for review" button
shows for the editor who made it and works; another editor's forced submit says why and
saves nothing; the author sees a note saying whose revision it is."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import BODY
from tests.web.test_authoring import _form

NEW_BODY = BODY + "\nUpdated dosage guidance [1].\n"
SUBMIT_BUTTON = '<button type="submit" name="op" value="submit">Submit for review</button>'


def _revised_by_editor(as_role: Any, story: Any) -> tuple[int, Any]:
    aid = story.in_state("approved")
    editor = as_role("editor")
    response = editor.post(f"/write/{aid}", _form(body=NEW_BODY,
                                                  expected_version=story.version(aid)))
    assert response.status_code == 303
    assert story.state(aid) == "draft"
    return aid, editor


def test_the_revising_editor_gets_the_button_and_submits(as_role: Any, story: Any) -> None:
    aid, editor = _revised_by_editor(as_role, story)
    page = editor.get(f"/write/{aid}").get_data(as_text=True)
    assert SUBMIT_BUTTON in page
    assert "Revision 2 was written by Erin Editor</strong>, not by the article\u2019s author, " \
        "Alex Author." in page
    response = editor.post(f"/write/{aid}", _form(body=NEW_BODY, op="submit",
                                                  expected_version=story.version(aid)))
    assert response.status_code == 303
    assert story.state(aid) == "submitted"
    assert "Submitted for review." in editor.get(response.headers["Location"]).text
    [event] = story.events("article.submit")[-1:]
    assert event.actor_name == "Erin Editor"


def test_another_editors_forced_submit_says_why_and_saves_nothing(
    as_role: Any, story: Any, app: Any, make_user: Any
) -> None:
    from tests.web.conftest import Browser

    aid, _ = _revised_by_editor(as_role, story)
    make_user("second-editor@example.org", "editor", name="Sam Second")
    other = Browser(app.test_client())
    other.sign_in("second-editor@example.org")
    page = other.get(f"/write/{aid}").get_data(as_text=True)
    assert SUBMIT_BUTTON not in page
    before = (story.version(aid), story.revisions(aid), story.event_count())
    # The text unchanged (no revision of theirs), "Submit for review" forced anyway:
    response = other.post(f"/write/{aid}", _form(body=NEW_BODY, op="submit",
                                                 expected_version=story.version(aid)))
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Only the article&#39;s author, or an editor who revised it, may submit for " \
        "review." in html
    assert "Nothing was saved. Your text is still in the form below." in html
    assert (story.version(aid), story.revisions(aid), story.event_count()) == before
    assert story.state(aid) == "draft"


def test_an_editor_who_saves_a_change_and_submits_is_a_reviser_too(
    as_role: Any, story: Any, app: Any, make_user: Any
) -> None:
    """Saving makes the revision theirs, so "Submit for review" with a change goes through
    (and they may not review it)."""
    from tests.web.conftest import Browser

    aid, _ = _revised_by_editor(as_role, story)
    make_user("second-editor@example.org", "editor", name="Sam Second")
    other = Browser(app.test_client())
    other.sign_in("second-editor@example.org")
    response = other.post(f"/write/{aid}", _form(body=NEW_BODY + "More [2].\n", op="submit",
                                                 expected_version=story.version(aid)))
    assert response.status_code == 303
    assert story.state(aid) == "submitted"
    assert story.revisions(aid) == 3


def test_the_author_sees_whose_revision_it_is_and_may_submit_it(as_role: Any,
                                                                story: Any) -> None:
    aid, _ = _revised_by_editor(as_role, story)
    author = as_role("author")
    page = author.get(f"/write/{aid}").get_data(as_text=True)
    assert "<strong>Erin Editor revised your article.</strong> Revision 2 is theirs, not yours." \
        in page
    assert "Readers keep seeing the approved revision 1 until this one is approved." in page
    assert "The author or Erin Editor may submit it for review; Erin Editor may not review it." \
        in page
    assert SUBMIT_BUTTON in page
    response = author.post(f"/write/{aid}", _form(body=NEW_BODY, op="submit",
                                                  expected_version=story.version(aid)))
    assert response.status_code == 303
    assert story.state(aid) == "submitted"


def test_no_note_when_the_author_revised_it(as_role: Any, story: Any) -> None:
    aid = story.in_state("approved")
    author = as_role("author")
    author.post(f"/write/{aid}", _form(body=NEW_BODY, expected_version=story.version(aid)))
    assert story.state(aid) == "draft"
    assert "revised your article" not in author.get(f"/write/{aid}").get_data(as_text=True)


def test_the_revising_editor_may_not_review_it(as_role: Any, story: Any,
                                               make_user: Any, app: Any) -> None:
    """Separation of duties holds for a person who is editor and reviewer."""
    from tests.web.conftest import Browser

    make_user("both@example.org", "editor", "reviewer", name="Dr. Both")
    aid = story.in_state("approved")
    both = Browser(app.test_client())
    both.sign_in("both@example.org")
    both.post(f"/write/{aid}", _form(body=NEW_BODY, expected_version=story.version(aid)))
    both.post(f"/write/{aid}", _form(body=NEW_BODY, op="submit",
                                     expected_version=story.version(aid)))
    assert story.state(aid) == "submitted"
    response = both.post(f"/articles/{aid}/actions/start_review",
                         {"expected_version": story.version(aid)})
    assert response.status_code == 403
    assert "Separation of duties: you wrote or edited this article" in response.text
    assert story.state(aid) == "submitted"
