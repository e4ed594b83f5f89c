"""Two people editing one article in the browser: a save made against a version that is
no longer current is refused (409) and says who changed what and when, keeps what the
person typed, links to the other change, and saves over it only when asked to."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.web.conftest import BODY, REFS


def _form(body: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": "Understanding High Blood Pressure", "body": body,
                            "op": "save", **extra}
    for i, ref in enumerate(REFS):
        for key in ("title", "url", "doi", "pmid"):
            data[f"references-{i}-{key}"] = ref.get(key, "")
    return data


def _opened_version(page: str) -> str:
    match = re.search(r'name="expected_version" value="(\d+)"', page)
    assert match, "the editor carries the version it was opened at"
    return match.group(1)


def test_a_stale_save_is_refused_naming_the_change_and_keeping_the_text(
        as_role: Any, story: Any) -> None:
    article_id = story.create()
    author, editor = as_role("author"), as_role("editor")
    mine = _opened_version(author.get(f"/write/{article_id}").text)
    theirs = _opened_version(editor.get(f"/write/{article_id}").text)
    saved = editor.post(f"/write/{article_id}", _form(BODY + "\nThe editor's line [1].\n",
                                                      expected_version=theirs))
    assert saved.status_code == 303
    events = len(story.events("article.edit"))

    refused = author.post(f"/write/{article_id}", _form("My own rewrite [1].",
                                                        expected_version=mine))
    assert refused.status_code == 409
    page = html.unescape(refused.text)
    assert "Someone else changed this article since you opened it." in page
    assert re.search(r"Revision 2 saved by Erin Editor on <time datetime=\"[^\"]+\">", page)
    assert f'href="/write/{article_id}/revisions/2">View revision 2</a>' in page
    assert '<textarea id="body" name="body" rows="16" aria-describedby="body-hint">My own ' \
           'rewrite [1].</textarea>' in page
    assert f'name="expected_version" value="{mine}"' in page  # a second click is refused too
    assert 'form="editor-form" name="op" value="overwrite-2"' in page
    assert story.revisions(article_id) == 2
    assert len(story.events("article.edit")) == events

    again = author.post(f"/write/{article_id}", _form("My own rewrite [1].",
                                                      expected_version=mine))
    assert again.status_code == 409 and story.revisions(article_id) == 2

    kept = author.post(f"/write/{article_id}", _form("My own rewrite [1].",
                                                     expected_version=mine, op="overwrite-2"))
    assert kept.status_code == 303
    assert "Saved as revision 3." in author.get(kept.headers["Location"]).text
    assert story.revisions(article_id) == 3


def test_saving_over_a_change_that_moved_on_again_is_refused(as_role: Any,
                                                             story: Any) -> None:
    article_id = story.create()
    story.edit(article_id, who="editor", body=BODY + "\nFirst [1].\n")  # version 2
    story.edit(article_id, who="editor", body=BODY + "\nSecond [1].\n")  # version 3
    author = as_role("author")
    response = author.post(f"/write/{article_id}", _form("Mine [1].", expected_version="1",
                                                         op="overwrite-2"))
    assert response.status_code == 409
    page = html.unescape(response.text)
    assert "Revision 3 saved by Erin Editor" in page
    assert 'value="overwrite-3"' in page
    assert story.revisions(article_id) == 3


def test_a_save_after_the_article_was_submitted_elsewhere_shows_the_unsaved_text(
        as_role: Any, story: Any) -> None:
    article_id = story.create()
    author = as_role("author")
    mine = _opened_version(author.get(f"/write/{article_id}").text)
    story.act(article_id, "submit", "author")  # the same person, in another tab
    response = author.post(f"/write/{article_id}", _form("Typed in the old tab [1].",
                                                         expected_version=mine))
    assert response.status_code == 409
    page = html.unescape(response.text)
    assert "Submit for review by Alex Author" in page
    assert "Your text (not saved)" in page
    assert ">Typed in the old tab [1].</textarea>" in page
    assert "overwrite-" not in page  # nothing to save over: the text is not editable now
    assert story.state(article_id) == "submitted" and story.revisions(article_id) == 1


def test_a_stale_workflow_button_is_refused_naming_the_change(as_role: Any,
                                                              story: Any) -> None:
    article_id = story.in_state("under_review")
    version = story.version(article_id)
    story.act(article_id, "request_changes", "reviewer", comment="Add a dosage table.")
    response = as_role("author").post(f"/articles/{article_id}/actions/withdraw", {
        "expected_version": version, "return_to": f"/write/{article_id}"})
    assert response.status_code == 409
    assert "request_changes by Dr. Maya Reed" in html.unescape(response.text)
    assert story.state(article_id) == "changes_requested"
