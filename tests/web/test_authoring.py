"""Authors: "My articles", the editor, references rows, save / submit / withdraw, revisions."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import BODY, REFS


def _ref_fields(refs: list[dict[str, str]]) -> dict[str, str]:
    data = {}
    for i, ref in enumerate(refs):
        for key in ("title", "url", "doi", "pmid"):
            data[f"references-{i}-{key}"] = ref.get(key, "")
    return data


def _form(title: str = "Understanding High Blood Pressure", body: str = BODY,
          refs: list[dict[str, str]] | None = None, op: str = "save",
          **extra: Any) -> dict[str, Any]:
    return {"title": title, "body": body, **_ref_fields(REFS if refs is None else refs),
            "op": op, **extra}


def _row_titles(html: str) -> list[str]:
    return re.findall(r'name="references-\d+-title" type="text" value="([^"]*)"', html)


def test_new_article_saves_a_draft(as_role: Any, story: Any) -> None:
    author = as_role("author")
    page = author.get("/write/new").get_data(as_text=True)
    for name in ('<label for="title">Title</label>', '<label for="body">Body</label>',
                 ">Save draft</button>", ">Submit for review</button>", ">Add reference</button>"):
        assert name in page
    response = author.post("/write/new", _form())
    assert response.status_code == 303
    article_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert story.state(article_id) == "draft"
    assert story.revisions(article_id) == 1
    editor_page = author.get(response.headers["Location"]).get_data(as_text=True)
    assert "Draft saved as revision 1." in editor_page
    assert _row_titles(editor_page) == [r["title"] for r in REFS]


def test_save_makes_a_revision_only_when_something_changed(as_role: Any, story: Any) -> None:
    article_id = story.create()
    author = as_role("author")
    version = story.version(article_id)
    same = author.post(f"/write/{article_id}", _form(expected_version=version))
    assert same.status_code == 303
    assert "No changes: no new revision was made." in author.get(same.headers["Location"]).text
    assert story.revisions(article_id) == 1
    changed = author.post(f"/write/{article_id}",
                          _form(body=BODY + "\nSee your doctor [1].\n", expected_version=version))
    assert changed.status_code == 303
    assert "Saved as revision 2." in author.get(changed.headers["Location"]).text
    assert story.revisions(article_id) == 2
    assert len(story.events("article.edit")) == 1


def test_reference_rows_add_remove_and_reorder_without_saving(as_role: Any, story: Any) -> None:
    author = as_role("author")
    before = story.event_count()
    refs = [{"title": "A", "pmid": "1"}, {"title": "B", "pmid": "2"}, {"title": "C", "pmid": "3"}]
    added = author.post("/write/new", _form(refs=refs, op="add")).get_data(as_text=True)
    assert _row_titles(added) == ["A", "B", "C", ""]
    assert "Remove <span class=\"visually-hidden\">reference 4</span>" in added
    moved = author.post("/write/new", _form(refs=refs, op="up-2")).get_data(as_text=True)
    assert _row_titles(moved) == ["A", "C", "B"]
    down = author.post("/write/new", _form(refs=refs, op="down-0")).get_data(as_text=True)
    assert _row_titles(down) == ["B", "A", "C"]
    removed = author.post("/write/new", _form(refs=refs, op="remove-1")).get_data(as_text=True)
    assert _row_titles(removed) == ["A", "C"]
    assert 'value="Understanding High Blood Pressure"' in removed  # the typed text stays
    assert story.event_count() == before  # nothing saved


def test_invalid_reference_writes_nothing_and_keeps_the_text(as_role: Any, story: Any) -> None:
    author = as_role("author")
    before = story.event_count()
    bad = [{"title": "Guideline", "doi": "not-a-doi"}, {"title": "", "url": "", "doi": "",
                                                        "pmid": ""}]
    response = author.post("/write/new", _form(refs=bad, body="My careful text [1]."))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert ('<a href="#references-0-doi">Reference 1</a>: the DOI \u201cnot-a-doi\u201d is not '
            "a DOI (it should look like 10.1234/abcd).") in summary
    row = page.split('class="ref-row invalid"')[1].split('class="row-buttons"')[0]
    assert ('The DOI \u201cnot-a-doi\u201d is not a DOI (it should look like 10.1234/abcd).'
            in row)
    assert "references[" not in summary and "references[" not in row  # no internal names
    assert "My careful text [1]." in page
    assert story.event_count() == before


def test_submit_for_review_from_the_editor(as_role: Any, story: Any) -> None:
    article_id = story.create()
    author = as_role("author")
    response = author.post(f"/write/{article_id}",
                           _form(op="submit", expected_version=story.version(article_id)))
    assert response.status_code == 303
    assert story.state(article_id) == "submitted"
    page = author.get(response.headers["Location"]).get_data(as_text=True)
    assert "Submitted for review." in page
    assert "its text cannot be edited now" in page
    assert ">Withdraw</button>" in page
    assert ">Save draft</button>" not in page


def test_a_refused_submit_saves_nothing_and_says_why(as_role: Any, story: Any) -> None:
    article_id = story.create()
    author = as_role("author")
    before = story.event_count()
    response = author.post(f"/write/{article_id}", _form(
        body="Cites a missing source [3].", op="submit",
        expected_version=story.version(article_id)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The body cites [3] but the article has 2 references." in page
    assert "Cites a missing source [3]." in page
    assert story.state(article_id) == "draft"
    assert story.revisions(article_id) == 1
    assert story.event_count() == before


def test_new_article_can_be_submitted_at_once(as_role: Any, story: Any) -> None:
    response = as_role("author").post("/write/new", _form(op="submit"))
    assert response.status_code == 303
    article_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert story.state(article_id) == "submitted"


def test_withdraw(as_role: Any, story: Any) -> None:
    article_id = story.in_state("under_review")
    author = as_role("author")
    response = author.post(f"/articles/{article_id}/actions/withdraw", {
        "expected_version": story.version(article_id),
        "return_to": f"/write/{article_id}"})
    assert response.headers["Location"] == f"/write/{article_id}"
    assert story.state(article_id) == "draft"
    assert "Withdrawn: the article is a draft again." in author.get(f"/write/{article_id}").text


def test_stale_editor_save_is_a_conflict_and_keeps_the_text(as_role: Any, story: Any) -> None:
    article_id = story.create()
    old_version = story.version(article_id)
    story.edit(article_id, body=BODY + "\nEdited elsewhere [1].\n")
    author = as_role("author")
    response = author.post(f"/write/{article_id}", _form(body="My version [1].",
                                                         expected_version=old_version))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this article since you opened it." in page
    assert "My version [1]." in page
    assert story.revisions(article_id) == 2


def test_comments_and_change_requests_are_shown_beside_the_draft(as_role: Any,
                                                                  story: Any) -> None:
    article_id = story.in_state("changes_requested")
    author = as_role("author")
    page = author.get(f"/write/{article_id}").get_data(as_text=True)
    assert "Reviewers\u2019 comments" in page
    assert "Change request" in page and "Please cite the 2017 guideline." in page
    assert "Dr. Maya Reed, MD, FACP" in page
    reply = author.post(f"/articles/{article_id}/comments", {
        "body": "Added the citation.", "return_to": f"/write/{article_id}"})
    assert reply.headers["Location"] == f"/write/{article_id}"
    assert "Added the citation." in author.get(f"/write/{article_id}").text
    empty = author.post(f"/articles/{article_id}/comments", {
        "body": "  ", "return_to": f"/write/{article_id}"})
    assert "Write a comment before posting it." in author.get(empty.headers["Location"]).text


def test_earlier_revisions_can_be_viewed(as_role: Any, story: Any) -> None:
    article_id = story.create()
    story.edit(article_id, title="Blood Pressure, Revised")
    author = as_role("author")
    first = author.get(f"/write/{article_id}/revisions/1").get_data(as_text=True)
    assert "Revision 1: Understanding High Blood Pressure" in first
    assert f'href="/write/{article_id}/revisions/2"' in first
    second = author.get(f"/write/{article_id}/revisions/2").get_data(as_text=True)
    assert "Revision 2: Blood Pressure, Revised" in second
    assert "this is the current revision" in second
    assert author.get(f"/write/{article_id}/revisions/9").status_code == 404


def test_another_author_may_not_open_the_editor(as_role: Any, story: Any,
                                                make_user: Any) -> None:
    article_id = story.create()
    make_user("second@example.org", "author", name="Sam Second")
    from tests.web.conftest import Browser

    other = Browser(as_role("anonymous").client)
    other.sign_in("second@example.org")
    response = other.get(f"/write/{article_id}")
    assert response.status_code == 403
    assert "Only the article&#39;s author or an editor may edit it." in response.text
    assert other.post(f"/write/{article_id}", _form(title="Hijacked")).status_code == 403
    assert other.get(f"/write/{article_id}/revisions/1").status_code == 403
    assert story.revisions(article_id) == 1


def test_my_articles_shows_states_and_who_is_next(as_role: Any, story: Any) -> None:
    for state in ("draft", "under_review", "changes_requested", "approved"):
        story.in_state(state)
    story.edit(story.ids["approved"], body=BODY + "\nMore [1].\n")
    page = as_role("author").get("/my-articles").get_data(as_text=True)
    for badge in ("badge state-draft", "badge state-under_review",
                  "badge state-changes_requested"):
        assert badge in page
    assert "You: revise and resubmit" in page
    assert "Dr. Maya Reed: reviewing" in page
    assert "You: finish the draft and submit it" in page
    assert "Readers see the last approved revision meanwhile." in page


def test_every_problem_is_named_once_in_a_person_s_words(as_role: Any, story: Any) -> None:
    """Reference numbers are those printed beside the rows (a blank row between counts),
    each problem once in the summary, linked to its field, and once at its row."""
    author = as_role("author")
    before = story.event_count()
    rows = [{"title": "Guideline", "pmid": "1"}, {"title": "", "url": "", "doi": "", "pmid": ""},
            {"title": "Trial", "doi": "10.1/x"}, {"title": "", "url": "https://x.org"}]
    response = author.post("/write/new", _form(refs=rows, title=" ", body="Text [1]."))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    lines = re.findall(r"<p>(.*?)</p>", summary, re.S)
    assert lines == [
        '<a href="#title">Give the article a title.</a>',
        '<a href="#references-2-doi">Reference 3</a>: the DOI \u201c10.1/x\u201d is not a DOI '
        "(it should look like 10.1234/abcd).",
        '<a href="#references-3-title">Reference 4</a>: give the title of the study, '
        "guideline or page.",
    ]
    assert page.count("is not a DOI") == 2  # the summary and its row, nowhere else
    assert 'value="Text [1]."' in page or "Text [1]." in page
    assert story.event_count() == before


def test_preview_renders_the_text_and_keeps_every_field(as_role: Any, story: Any) -> None:
    """Preview works without JavaScript: the form comes back with every value as typed
    (a blank reference row too) and the text rendered above it; nothing is saved."""
    author = as_role("author")
    before = story.event_count()
    rows = [{"title": "Guideline", "pmid": "123"}, {"title": "", "url": "", "doi": "", "pmid": ""},
            {"title": "Trial", "doi": "10.1161/HYP.65"}]
    body = "## Salt\r\n\r\nEat **less** salt [1, 2].\r\n"
    page = author.post("/write/new", _form(refs=rows, title="My & title", body=body,
                                           op="preview")).get_data(as_text=True)
    preview = page.split('id="preview"')[1].split("</section>\n</section>")[0]
    assert '<h3>Salt</h3>' in preview  # the page's own h2 "Preview" sits above it
    assert "Eat <strong>less</strong> salt" in preview
    assert '<a href="#ref-1" class="cite"' in preview and '<li id="ref-3">Trial' not in preview
    assert 'https://pubmed.ncbi.nlm.nih.gov/123/' in preview
    assert 'href="https://doi.org/10.1161/HYP.65"' in preview
    assert 'name="title" type="text" value="My &amp; title"' in page
    textarea = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert textarea and textarea.group(1).replace("\r\n", "\n").strip() == (
        "## Salt\n\nEat **less** salt [1, 2].")
    assert _row_titles(page) == ["Guideline", "", "Trial"]
    assert 'name="references-0-pmid" type="text" inputmode="numeric" value="123"' in page
    assert 'name="references-2-doi" type="text" value="10.1161/HYP.65"' in page
    assert story.event_count() == before  # nothing saved


def test_preview_and_reference_rows_keep_the_professional_text(as_role: Any,
                                                               story: Any) -> None:
    """Every path that shows the form again keeps the text for professionals as typed (a
    re-shown form that dropped it would save a revision without it on the next click)."""
    author = as_role("author")
    pro = "Sodium under 2 g a day lowers systolic pressure [1]."
    for op in ("preview", "add"):
        page = author.post("/write/new", _form(op=op, professional_body=pro)).get_data(
            as_text=True)
        textarea = re.search(r'<textarea id="professional_body"[^>]*>(.*?)</textarea>', page,
                             re.S)
        assert textarea and textarea.group(1).strip() == pro, op


def test_preview_of_a_saved_article_keeps_the_version(as_role: Any, story: Any) -> None:
    article_id = story.create()
    author = as_role("author")
    version = story.version(article_id)
    page = author.post(f"/write/{article_id}", _form(body="Changed *text* [1].", op="preview",
                                                     expected_version=version))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Changed <em>text</em>" in html.split('id="preview"')[1]
    assert f'name="expected_version" value="{version}"' in html
    assert story.revisions(article_id) == 1 and story.version(article_id) == version
    # The live preview is the page's own script file: no inline script, no other origin.
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "default-src 'self'" in csp
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script src="/assets/editor-preview.js" defer>'] or all(
        "editor-preview.js" in t or "ld+json" in t for t in scripts), scripts
