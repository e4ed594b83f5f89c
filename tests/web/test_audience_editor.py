"""Authors write the professional text in a second text area; reviewers see it and its
changes beside the patients' text."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from review_flow.articles.queries import get_article
from tests.web.conftest import BODY, REFS

PRO = "Offer a thiazide-type diuretic first [1].\n"


def _form(body: str = BODY, pro: str = PRO, **extra: Any) -> dict[str, Any]:
    data = {"title": "High blood pressure", "body": body, "professional_body": pro,
            "op": "save", **extra}
    for i, ref in enumerate(REFS):
        for key in ("title", "url", "doi", "pmid"):
            data[f"references-{i}-{key}"] = ref.get(key, "")
    return data


def _revision(story: Any, article_id: int) -> Any:
    with story.db.reading() as s:
        rev = get_article(s, article_id).current_revision
        return SimpleNamespace(number=rev.number, professional_body=rev.professional_body)


def test_the_editor_saves_and_shows_the_professional_text(as_role: Any, story: Any) -> None:
    author = as_role("author")
    page = author.get("/write/new").get_data(as_text=True)
    assert '<label for="professional_body">Text for healthcare professionals (optional)' in page
    response = author.post("/write/new", _form())
    assert response.status_code == 303
    article_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _revision(story, article_id).professional_body == PRO
    page = author.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="professional_body" rows="10" aria-describedby="professional-body-hint">{PRO}' \
        in page
    # Emptying the text area removes it: a new revision with one text.
    version = story.version(article_id)
    response = author.post(f"/write/{article_id}", _form(pro="", expected_version=version))
    assert response.status_code == 303
    rev = _revision(story, article_id)
    assert rev.number == 2 and rev.professional_body is None


def test_the_review_page_shows_and_diffs_the_professional_text(as_role: Any,
                                                               story: Any) -> None:
    article_id = story.create()
    story.edit(article_id, professional_body=PRO)  # revision 2 adds the professional text
    story.act(article_id, "submit", "author")
    story.act(article_id, "start_review", "reviewer")
    page = as_role("reviewer").get(f"/review/{article_id}").get_data(as_text=True)
    assert "<h3>For healthcare professionals</h3>" in page
    assert '<h3>Text for healthcare professionals</h3>' in page
    assert f"<ins>{PRO}</ins>" in page
    # Each text's citation links have their own ids (no duplicates on one page).
    assert 'id="cite-1-1"' in page and 'id="pro-cite-1-1"' in page
