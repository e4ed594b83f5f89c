"""The "As of" page reproduces the public page exactly as readers saw it.

A scripted history is played through the service layer; after each step the real public
page is fetched (as an anonymous reader) and its article part kept, once as a patient
reads it and once as a healthcare professional does (``?audience=professional``).
Afterwards the "As of" page for each of those instants and audiences must show the same
article part, byte for byte, and the parts a reader notices (title, banner, step,
reviewers, text, retraction) are compared one by one so a failure names what differs.

The one difference allowed is the audience links' address: the live page's
``?audience=professional`` is the as-of page's ``?at=<that instant>&audience=professional``
(the same link, keeping the instant); :func:`_as_public` puts the live one back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from review_flow.timeutil import utcnow
from tests.web.conftest import BODY

_ARTICLE = re.compile(r'<article class="public-article">.*?</article>', re.S)


_AS_OF_LINK = re.compile(r'href="\?at=[^"&]+&amp;audience=')
PRO_BODY = ("Hypertension is often asymptomatic; screen opportunistically [1].\n\n"
            "Reinforce adherence to antihypertensive therapy [2].\n")


def _article(html: str) -> str | None:
    found = _ARTICLE.search(html)
    return found.group(0) if found else None


def _as_public(article: str | None) -> str | None:
    """The as-of article with its audience links written as the live page writes them."""
    return None if article is None else _AS_OF_LINK.sub('href="?audience=', article)


def _parts(article: str | None) -> dict[str, Any]:
    """What a reader notices on the page (None: no page, readers got 404)."""
    if article is None:
        return {"public": False}

    def text(pattern: str) -> list[str]:
        return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(pattern, article, re.S)]

    return {
        "public": True,
        "title": text(r"<h1>(.*?)</h1>"),
        "caution": 'class="caution"' in article,
        "step": text(r'aria-current="step">(.*?)</li>'),
        "reviewers": text(r'<p class="reviewed-by">(.*?)</p>'),
        "retraction": text(r'<section class="retraction".*?</section>'),
        "body": text(r'<div class="prose">(.*?)</div>'),
        "next_review": text(r'<p class="dates next-review">(.*?)</p>'),
        "disclaimer": text(r'<h2 id="disclaimer-heading">(.*?)</h2>'),
        "reading": text(r'<p class="audience-shown">(.*?)</p>'),
    }


class Script:
    """Steps with the public page taken after each."""

    def __init__(self, story: Any, client: Any, professional: Any) -> None:
        self.story, self.client, self.professional = story, client, professional
        self.snapshots: list[tuple[str, Any, str | None, int]] = []
        self.pro_snapshots: dict[str, str | None] = {}

    @staticmethod
    def _take(client: Any, url: str, label: str) -> tuple[str | None, int]:
        response = client.get(url)
        assert response.status_code in (200, 404), label
        html = response.get_data(as_text=True)
        return (_article(html) if response.status_code == 200 else None), response.status_code

    def snap(self, label: str, aid: int) -> None:
        url = f"/articles/{self.story.slug(aid)}"
        article, status = self._take(self.client, url, label)
        pro, pro_status = self._take(self.professional, url + "?audience=professional", label)
        assert pro_status == status, label
        self.snapshots.append((label, utcnow(), article, status))
        self.pro_snapshots[label] = pro


def _as_of(auditor: Any, aid: int, at: Any, audience: str = "") -> tuple[str, str | None]:
    chosen = f"&audience={audience}" if audience else ""
    response = auditor.get(f"/audit/articles/{aid}/as-of?at={quote(at.isoformat())}{chosen}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    return html, _article(html)


def test_as_of_reproduces_the_public_page_at_each_step(story: Any, app: Any,
                                                       as_role: Any) -> None:
    reader = app.test_client()
    script = Script(story, reader, app.test_client())
    story.set_policy(show_pending_publicly=False)
    aid = story.create(title="Understanding High Blood Pressure", professional_body=PRO_BODY)
    script.snap("draft", aid)
    story.act(aid, "submit", "author")
    script.snap("submitted while the policy hid pending text", aid)
    story.set_policy(show_pending_publicly=True)  # no event of the article: a policy record
    script.snap("submitted, pending text shown by the new policy", aid)
    story.act(aid, "start_review", "reviewer")
    script.snap("under review", aid)
    story.act(aid, "approve", "reviewer")
    script.snap("approved", aid)
    story.edit(aid, title="High Blood Pressure: What To Do",
               body=BODY + "\nCheck your blood pressure at home [1].\n")
    script.snap("edited: a new draft, the approved text stays public", aid)
    story.act(aid, "submit", "author")
    story.act(aid, "start_review", "reviewer2")
    script.snap("revision 2 under review, revision 1 public", aid)
    story.act(aid, "approve", "reviewer2")
    script.snap("revision 2 approved", aid)
    story.act(aid, "retract", "editor", comment="Superseded by the 2026 guideline.")
    script.snap("retracted", aid)

    expected = {
        "draft": {"public": False},
        "submitted while the policy hid pending text": {"public": False},
    }
    auditor = as_role("auditor")
    for label, at, public, status in script.snapshots:
        html, reconstructed = _as_of(auditor, aid, at)
        assert "As readers saw it at" in html
        assert _parts(reconstructed) == _parts(public), label
        assert _as_public(reconstructed) == public, label  # the very same article markup
        # The professionals' text at the same instant, chosen by the as-of page's link.
        _, pro = _as_of(auditor, aid, at, "professional")
        assert _parts(pro) == _parts(script.pro_snapshots[label]), label
        assert _as_public(pro) == script.pro_snapshots[label], label
        if label in expected:
            assert _parts(public) == expected[label]
            assert status == 404
            assert "Not public (readers got “not found”)" in html

    # What the snapshots say, so the comparison above compares something.
    parts = {label: _parts(public) for label, _, public, _ in script.snapshots}
    assert parts["submitted, pending text shown by the new policy"]["caution"] is True
    assert parts["submitted, pending text shown by the new policy"]["step"] == ["Submitted"]
    assert parts["under review"]["step"] == ["Under Review"]
    assert parts["approved"]["reviewers"][0].startswith("Medically reviewed by Dr. Maya Reed, "
                                                        "MD, FACP on ")
    assert parts["edited: a new draft, the approved text stays public"]["title"] == [
        "Understanding High Blood Pressure"]
    assert parts["revision 2 under review, revision 1 public"]["reviewers"] == parts[
        "approved"]["reviewers"]
    assert parts["revision 2 approved"]["title"] == ["High Blood Pressure: What To Do"]
    assert parts["revision 2 approved"]["reviewers"][0].startswith(
        "Medically reviewed by Dr. Chidi Okafor, MD, MPH")
    assert "Check your blood pressure at home" in parts["revision 2 approved"]["body"][0]
    assert parts["retracted"]["retraction"][0].startswith("This article has been retracted")
    assert "Superseded by the 2026 guideline." in parts["retracted"]["retraction"][0]
    assert parts["retracted"]["body"] == []
    pros = {label: _parts(pro) for label, pro in script.pro_snapshots.items()}
    assert pros["approved"]["reading"] == ["You are reading the version for healthcare "
                                           "professionals."]
    assert pros["approved"]["disclaimer"] == ["Professional Medical Disclaimer"]
    assert parts["approved"]["disclaimer"] == ["Medical disclaimer"]
    assert "Reinforce adherence" in pros["approved"]["body"][0]
    assert "Reinforce adherence" not in parts["approved"]["body"][0]
    assert pros["retracted"]["body"] == []

    # The frame names the revision shown and the banner.
    _, at, _, _ = script.snapshots[5]
    html, _ = _as_of(auditor, aid, at)
    assert "Revision 1, <code" in html
    # Its audience links keep the instant; choosing one sets no cookie.
    assert f'href="?at={quote(at.isoformat(), safe=":")}&amp;audience=professional"' in html
    response = auditor.get(f"/audit/articles/{aid}/as-of?at={quote(at.isoformat())}"
                           "&audience=professional")
    assert "rf_audience" not in response.headers.get("Set-Cookie", "")
    assert 'name="audience" value="professional"' in response.get_data(as_text=True)
    assert "Medically reviewed by Dr. Maya Reed, MD, FACP" in html
    # Before the article existed.
    html, article = _as_of(auditor, aid, script.snapshots[0][1] - timedelta(days=1))
    assert article is None and "the article did not exist yet" in html


def test_a_time_that_is_not_one_is_refused(as_role: Any, story: Any) -> None:
    aid = story.in_state("approved")
    response = as_role("editor").get(f"/audit/articles/{aid}/as-of?at=yesterday")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "“yesterday” is not a date and time" in html
    assert '<article class="public-article">' not in html
    for hostile in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2026-13-01"):
        response = as_role("auditor").get(f"/audit/articles/{aid}/as-of?at={quote(hostile)}")
        assert response.status_code == 400, hostile
        assert "is not a date and time" in response.get_data(as_text=True)
    assert as_role("auditor").get("/audit/articles/999999/as-of").status_code == 404


@pytest.mark.parametrize("role", ["author", "reviewer"])
def test_only_auditors_editors_and_admins(as_role: Any, story: Any, role: str) -> None:
    aid = story.in_state("approved")
    for path in (f"/audit/articles/{aid}/as-of", f"/audit/articles/{aid}/timeline"):
        assert as_role(role).get(path).status_code == 403
        assert as_role("admin").get(path).status_code == 200


def test_a_forged_approval_is_shown_as_the_live_page_shows_it(story: Any, app: Any,
                                                              as_role: Any, db: Any,
                                                              people: Any) -> None:
    """A decision row that no chained event wrote: the live page names no one and shows
    the pending banner; so does the As of page, which also says why."""
    from sqlalchemy import select

    from review_flow.articles.models import Article
    from review_flow.signatures.models import Decision

    aid = story.in_state("approved")
    with db.transaction() as s:
        real = s.scalars(select(Decision).where(Decision.article_id == aid)).one()
        s.add(Decision(article_id=aid, revision_id=real.revision_id,
                       revision_number=real.revision_number, content_hash=real.content_hash,
                       reviewer_id=people["reviewer2"].id, kind="approve",
                       printed_name="Dr. Forged", credentials="MD", meaning=real.meaning,
                       signed_at=utcnow(), policy_version=real.policy_version,
                       round_id=real.round_id))
        slug = s.get(Article, aid).slug  # type: ignore[union-attr]
    live = _article(app.test_client().get(f"/articles/{slug}").get_data(as_text=True))
    at = utcnow()
    html, reconstructed = _as_of(as_role("auditor"), aid, at)
    assert reconstructed == live
    assert _parts(live)["caution"] is True and _parts(live)["reviewers"] == []
    assert "Dr. Forged" not in (live or "")
    assert "The record does not support what the page would have said" in html
    assert "(Dr. Forged) matches no approval event of revision 1" in html
