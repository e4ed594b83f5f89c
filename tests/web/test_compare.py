"""The "Compare revisions" page: any two revisions, side by side or inline, every character
escaped, bad choices refused naming the parameter, reached from the revision lists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import REFS

HOSTILE = '<script>alert("x")</script> & "><img src=x onerror=alert(1)>'


@pytest.fixture
def revised(story: Any) -> int:
    aid = story.create(title="Blood pressure")
    story.edit(aid, title="High blood pressure",
               body="High blood pressure often has no symptoms [1].\n\n"
                    "Take medicines every day as prescribed [2].\n")
    story.edit(aid, references=[REFS[0], {**REFS[1], "title": "MedlinePlus: hypertension"}],
               body=f"{HOSTILE} [1] [2]\n")
    return aid


def test_the_default_is_the_last_change_side_by_side(as_role: Any, revised: int) -> None:
    html = as_role("auditor").get(f"/review/{revised}/compare").get_data(as_text=True)
    assert "<h2 id=\"result\">Revision 2 → revision 3</h2>" in html
    assert '<table class="diff-side">' in html
    assert "<td>[2] MedlinePlus: <del>high blood pressure </del>— https" in html
    assert "<td>[2] MedlinePlus: <ins>hypertension </ins>— https" in html


def test_any_two_revisions_inline(as_role: Any, revised: int) -> None:
    html = as_role("reviewer").get(
        f"/review/{revised}/compare?from=1&to=2&view=inline").get_data(as_text=True)
    assert "Revision 1 → revision 2" in html
    assert '<pre class="source diff-inline"><del>Blood </del><ins>High blood </ins>pressure' in html
    assert "<ins>every day </ins>" in html
    # Backwards works too: what was added is now removed.
    html = as_role("editor").get(
        f"/review/{revised}/compare?from=2&to=1&view=inline").get_data(as_text=True)
    assert "<del>every day </del>" in html
    html = as_role("editor").get(f"/review/{revised}/compare?from=2&to=2").get_data(
        as_text=True)
    assert "No changes to the text between these revisions." in html


@pytest.mark.parametrize("view", ["side", "inline"])
def test_hostile_text_is_escaped(as_role: Any, revised: int, view: str) -> None:
    html = as_role("auditor").get(
        f"/review/{revised}/compare?from=2&to=3&view={view}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(("query", "message"), [
    ("from=4", "from must be the number of one of this article's revisions (1 to 3), not '4'."),
    ("to=abc", "to must be the number of one of this article's revisions (1 to 3), not 'abc'."),
    ("from=0", "not '0'"),
    ("view=table", "view must be side or inline, not 'table'."),
])
def test_a_bad_choice_is_refused_naming_it(as_role: Any, story: Any, revised: int,
                                           query: str, message: str) -> None:
    auditor = as_role("auditor")
    before = story.event_count()
    response = auditor.get(f"/review/{revised}/compare?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert story.event_count() == before


def test_an_unknown_article_is_not_found(as_role: Any, revised: int) -> None:
    assert as_role("auditor").get("/review/999999/compare").status_code == 404


def test_reached_from_the_revision_lists(as_role: Any, revised: int) -> None:
    editor = as_role("editor")
    html = editor.get(f"/write/{revised}").get_data(as_text=True)
    assert f'href="/review/{revised}/compare">Compare revisions</a>' in html
    html = editor.get(f"/write/{revised}/revisions/3").get_data(as_text=True)
    assert f'href="/review/{revised}/compare?from=1&amp;to=3">compare with revision 3' in html
    html = as_role("auditor").get(f"/review/{revised}").get_data(as_text=True)
    assert f'href="/review/{revised}/compare">Compare revisions</a>' in html
    # The author may not open the page, so is not offered it.
    html = as_role("author").get(f"/write/{revised}").get_data(as_text=True)
    assert "Compare revisions" not in html
    assert as_role("author").get(f"/review/{revised}/compare").status_code == 403


def test_the_page_changes_nothing_by_post(as_role: Any, story: Any, revised: int) -> None:
    for role in ("auditor", "reviewer", "editor"):
        client = as_role(role)
        before = story.event_count()
        assert client.post(f"/review/{revised}/compare", {}).status_code == 405
        assert story.event_count() == before
