"""The public page asks "Which best describes you?" and shows the matching text.

The choice is a plain link (no JavaScript, no account) remembered in a cookie; the page
cache keeps one page per audience; the JSON-LD says whom the shown text is for.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from review_flow.articles.actions import perform_action
from review_flow.articles.writes import create_article
from review_flow.web.audience import COOKIE, PROFESSIONAL_DISCLAIMER
from review_flow.web.public import DISCLAIMER
from tests.conftest import PASSWORD
from tests.web.conftest import BODY, REFS

PRO = "Start a thiazide-type diuretic or an ACE inhibitor at stage 2 [1].\n"
QUESTION = "Which best describes you?"


def _approved(db: Any, people: Any, pro: str | None) -> str:
    with db.transaction() as s:
        article = create_article(s, people["author"], title="High blood pressure", body=BODY,
                                 references=REFS, professional_body=pro)
        aid, slug = article.id, article.slug
    for action, who, kw in (("submit", "author", {}), ("start_review", "reviewer", {}),
                            ("approve", "reviewer", {"password": PASSWORD})):
        with db.transaction() as s:
            perform_action(s, people[who], aid, action, **kw)
    return slug


def _jsonld(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found.group(1))


def test_without_a_professional_text_no_choice_is_offered(client, db, people):
    slug = _approved(db, people, None)
    page = client.get(f"/articles/{slug}").get_data(as_text=True)
    assert QUESTION not in page
    assert "High blood pressure often has no symptoms" in page
    assert DISCLAIMER in page and PROFESSIONAL_DISCLAIMER not in page
    # Asking for the professional version of a one-text article shows the one text.
    page = client.get(f"/articles/{slug}?audience=professional").get_data(as_text=True)
    assert "High blood pressure often has no symptoms" in page and QUESTION not in page
    assert _jsonld(page)["audience"]["audienceType"] == "Patient"


@pytest.mark.parametrize("page_cache", [True, False])
def test_the_choice_shows_its_text_and_disclaimer_and_is_remembered(app, client, db, people,
                                                                    page_cache):
    app.config["PUBLIC_PAGE_CACHE"] = page_cache
    slug = _approved(db, people, PRO)
    first = client.get(f"/articles/{slug}")
    page = first.get_data(as_text=True)
    assert QUESTION in page
    assert "High blood pressure often has no symptoms" in page and PRO.strip() not in page
    assert DISCLAIMER in page and PROFESSIONAL_DISCLAIMER not in page
    assert '<a href="?audience=patient" aria-current="true">Patient or caregiver</a>' in page
    assert _jsonld(page)["audience"]["audienceType"] == "Patient"
    assert first.headers["Cache-Control"].startswith("public")

    chose = client.get(f"/articles/{slug}?audience=professional")
    page = chose.get_data(as_text=True)
    assert "Start a thiazide-type diuretic" in page and "often has no symptoms" not in page
    assert "Professional Medical Disclaimer" in page and PROFESSIONAL_DISCLAIMER in page
    assert DISCLAIMER not in page
    assert ('<a href="?audience=professional" aria-current="true">Healthcare professional</a>'
            in page)
    data = _jsonld(page)
    assert data["audience"] == data["medicalAudience"] == {
        "@type": "MedicalAudience", "audienceType": "Clinician",
        "name": "Healthcare professionals"}
    assert {p["audience"]["audienceType"] for p in data["hasPart"]} == {"Patient", "Clinician"}
    # The response that sets the cookie is private: no shared cache may keep it.
    assert chose.headers["Cache-Control"] == "private, no-store"
    cookie = chose.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=professional;") and "HttpOnly" in cookie

    # Remembered: the plain URL now shows the professional text (and is cacheable).
    again = client.get(f"/articles/{slug}")
    assert "Start a thiazide-type diuretic" in again.get_data(as_text=True)
    assert again.headers["Cache-Control"].startswith("public")
    assert "Cookie" in again.headers["Vary"]

    # A reader without the cookie still gets the patients' page (the cache kept both).
    other = app.test_client()
    page = other.get(f"/articles/{slug}").get_data(as_text=True)
    assert "often has no symptoms" in page and "Start a thiazide-type diuretic" not in page

    back = client.get(f"/articles/{slug}?audience=patient")
    assert "often has no symptoms" in back.get_data(as_text=True)
    assert back.headers["Set-Cookie"].startswith(f"{COOKIE}=patient;")


def test_an_unknown_audience_is_ignored(client, db, people):
    slug = _approved(db, people, PRO)
    r = client.get(f"/articles/{slug}?audience=<script>")
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert "often has no symptoms" in r.get_data(as_text=True)


def test_citations_link_both_ways(client, db, people):
    slug = _approved(db, people, PRO)
    page = client.get(f"/articles/{slug}").get_data(as_text=True)
    assert 'href="#ref-1" class="cite" id="cite-1-1"' in page
    assert '<li id="ref-1">' in page
    assert 'class="backref" href="#cite-1-1"' in page
    page = client.get(f"/articles/{slug}?audience=professional").get_data(as_text=True)
    assert 'href="#ref-1" class="cite" id="cite-1-1"' in page and 'href="#cite-1-1"' in page
    assert 'href="#cite-2-1"' not in page  # the professional text does not cite [2]
