"""The board's process in the browser: assigning from the review page, answering the
invitation, the queue's views, the editors' "All articles", and what readers see."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from review_flow.rounds.models import Assignment
from review_flow.users import service as users
from tests.conftest import PASSWORD


@pytest.fixture
def cardio(db: Any) -> int:
    with db.transaction() as s:
        return users.add_user(s, email="heart@example.org", name="Dr. Ada Heart",
                              roles=("reviewer",), password=PASSWORD, credentials="MD, FACC",
                              specialties=["Cardiology"]).id


def _assignments(db: Any) -> list[tuple[int, str]]:
    with db.reading() as s:
        return [(a.reviewer_id, a.state) for a in s.scalars(select(Assignment).order_by(
            Assignment.id))]


def test_editor_assigns_from_a_list_with_specialties_and_load(
        as_role: Any, story: Any, people: Any, cardio: int, db: Any) -> None:
    aid = story.in_state("submitted")
    editor = as_role("editor")
    page = editor.get(f"/review/{aid}").get_data(as_text=True)
    assert '<h2 id="round-heading">Review round 1</h2>' in page
    assert "Dr. Ada Heart, MD, FACC (Cardiology; 0 open)" in page
    assert '<label for="assign-reviewer">Board member</label>' in page
    r = editor.post(f"/review/{aid}/assignments", {"reviewer": str(cardio), "due": "2099-01-31"},
                    page=f"/review/{aid}")
    assert r.status_code == 303
    page = editor.get(f"/review/{aid}").get_data(as_text=True)
    assert "is invited to review" in page and "2099-01-31" in page
    assert "Dr. Ada Heart, MD, FACC (Cardiology; 1 open)" in page
    # Refusals are messages, and write nothing.
    r = editor.post(f"/review/{aid}/assignments", {"reviewer": str(cardio)},
                    page=f"/review/{aid}")
    page = editor.get(f"/review/{aid}").get_data(as_text=True)
    assert "Dr. Ada Heart is already assigned to round 1" in page
    r = editor.post(f"/review/{aid}/assignments", {"reviewer": str(people["reviewer"].id),
                                                   "due": "someday"}, page=f"/review/{aid}")
    page = editor.get(f"/review/{aid}").get_data(as_text=True)
    assert "“someday” is not a date; enter the review due date as YYYY-MM-DD." in page
    assert _assignments(db) == [(cardio, "invited")]


def test_reviewer_accepts_or_declines_on_the_review_page(
        as_role: Any, story: Any, people: Any, db: Any) -> None:
    aid = story.in_state("submitted")
    editor = as_role("editor")
    for who in ("reviewer", "reviewer2"):
        editor.post(f"/review/{aid}/assignments", {"reviewer": str(people[who].id)},
                    page=f"/review/{aid}")
    reed = as_role("reviewer")
    page = reed.get(f"/review/{aid}").get_data(as_text=True)
    assert "You are invited to review this article" in page
    assert ">Accept</button>" in page and ">Decline</button>" in page
    reed.post(f"/review/{aid}/respond", {"answer": "accept"}, page=f"/review/{aid}")
    okafor = as_role("reviewer2")
    okafor.post(f"/review/{aid}/respond", {"answer": "decline"}, page=f"/review/{aid}")
    page = okafor.get(f"/review/{aid}").get_data(as_text=True)
    assert "Give the reason for declining." in page
    okafor.post(f"/review/{aid}/respond", {"answer": "decline", "comment": "Travelling."},
                page=f"/review/{aid}")
    assert _assignments(db) == [(people["reviewer"].id, "accepted"),
                                (people["reviewer2"].id, "declined")]
    page = editor.get(f"/review/{aid}").get_data(as_text=True)
    assert "Travelling." in page


def test_editor_cancels_and_reassigns(as_role: Any, story: Any, people: Any, db: Any) -> None:
    aid = story.in_state("submitted")
    editor = as_role("editor")
    editor.post(f"/review/{aid}/assignments", {"reviewer": str(people["reviewer"].id)},
                page=f"/review/{aid}")
    first = _ids(db)[0]
    editor.post(f"/review/{aid}/assignments/{first}/reassign",
                {"reviewer": str(people["reviewer2"].id)}, page=f"/review/{aid}")
    second = _ids(db)[1]
    editor.post(f"/review/{aid}/assignments/{second}/cancel", {}, page=f"/review/{aid}")
    assert _assignments(db) == [(people["reviewer"].id, "cancelled"),
                                (people["reviewer2"].id, "cancelled")]


def _ids(db: Any) -> list[int]:
    with db.reading() as s:
        return list(s.scalars(select(Assignment.id).order_by(Assignment.id)))


def test_queue_views_show_due_dates(as_role: Any, story: Any, people: Any, db: Any) -> None:
    mine = story.in_state("submitted", title="Statins explained")
    story.in_state("submitted", title="Nobody holds this")
    editor = as_role("editor")
    editor.post(f"/review/{mine}/assignments", {"reviewer": str(people["reviewer"].id),
                                                "due": "2099-03-01"}, page=f"/review/{mine}")
    reed = as_role("reviewer")
    page = reed.get("/review/assigned").get_data(as_text=True)
    assert "Statins explained" in page and "2099-03-01" in page
    assert '<strong aria-current="page">Assigned to me</strong>' in page
    page = reed.get("/review/unassigned").get_data(as_text=True)
    assert "Nobody holds this" in page and "Statins explained" not in page
    assert "Nothing is overdue." in reed.get("/review/overdue").get_data(as_text=True)
    with db.transaction() as s:  # its answer was due yesterday
        a = s.scalars(select(Assignment)).one()
        from datetime import timedelta

        from review_flow.timeutil import utcnow
        a.response_due = utcnow() - timedelta(days=1)
    page = reed.get("/review/overdue").get_data(as_text=True)
    assert "Statins explained" in page and "Overdue" in page
    queue = reed.get("/review").get_data(as_text=True)
    for label in ("Assigned to me", "Unassigned", "Overdue"):
        assert f">{label}</a>" in queue


def test_all_articles_for_editors_with_filters(as_role: Any, story: Any, people: Any) -> None:
    approved = story.in_state("approved", title="Approved one")
    held = story.in_state("submitted", title="Held one")
    story.in_state("draft", title="Draft one")
    editor = as_role("editor")
    editor.post(f"/review/{held}/assignments", {"reviewer": str(people["reviewer2"].id),
                                                "due": "2099-02-01"}, page=f"/review/{held}")
    page = editor.get("/").get_data(as_text=True)
    assert '<a href="/editor/articles">All articles</a>' in page
    page = editor.get("/editor/articles").get_data(as_text=True)
    assert all(t in page for t in ("Approved one", "Held one", "Draft one"))
    assert f'href="/review/{approved}"' in page
    page = editor.get("/editor/articles?state=approved").get_data(as_text=True)
    assert "Approved one" in page and "Held one" not in page
    page = editor.get(f"/editor/articles?assignee={people['reviewer2'].id}").get_data(
        as_text=True)
    assert "Held one" in page and "Approved one" not in page and "Dr. Chidi Okafor" in page
    assert "Held one" in editor.get("/editor/articles?due=2099-02-01").get_data(as_text=True)
    assert "No articles match." in editor.get("/editor/articles?due=2099-01-01").get_data(
        as_text=True)
    # Garbage filters mean no filter, not an error.
    assert editor.get("/editor/articles?assignee=x&due=y&before=-3").status_code == 200
    assert ">All articles</a>" not in as_role("reviewer").get("/").get_data(as_text=True)


def test_all_articles_pages_by_keyset(as_role: Any, story: Any, monkeypatch: Any) -> None:
    from review_flow.web import rounds as web_rounds

    monkeypatch.setattr(web_rounds, "PAGE", 2)
    ids = [story.in_state("draft", title=f"Paged {i}") for i in range(5)]
    editor = as_role("editor")
    seen: list[int] = []
    url = "/editor/articles"
    while url:
        page = editor.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'href="/review/(\d+)"', page)]
        nxt = re.search(r'href="(/editor/articles\?[^"]*before=\d+)">Next page', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert seen == sorted(ids, reverse=True)


def test_public_page_names_each_approver_with_a_disclosed_conflict(
        as_role: Any, story: Any, people: Any, client: Any) -> None:
    story.set_policy(required_approvals=2, conflicts="disclose")
    aid = story.in_state("under_review", title="Aspirin for prevention")
    story.act(aid, "approve", "reviewer", conflict="none")
    story.act(aid, "approve", "reviewer2", conflict="Speaker fees from Acme Pharma, 2025")
    page = client.get(f"/articles/{story.slug(aid)}").get_data(as_text=True)
    assert "Medically reviewed by Dr. Maya Reed, MD, FACP" in page
    assert ("Medically reviewed by Dr. Chidi Okafor, MD, MPH" in page)
    assert "(disclosed conflict of interest: Speaker fees from Acme Pharma, 2025)" in page
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page,
                              re.S).group(1))
    names = [p["name"] for p in ld["reviewedBy"]]
    assert names == ["Dr. Maya Reed", "Dr. Chidi Okafor"]
    assert ld["reviewedBy"][1]["description"] == (
        "Disclosed conflict of interest: Speaker fees from Acme Pharma, 2025")


def test_the_approve_form_takes_the_declaration(as_role: Any, story: Any) -> None:
    aid = story.in_state("under_review")
    reed = as_role("reviewer")
    page = reed.get(f"/review/{aid}/sign/approve").get_data(as_text=True)
    assert '<label for="conflict_of_interest">Conflict of interest declaration</label>' in page
    assert "A declared conflict means you cannot approve." in page
    from tests.web.conftest import csrf_token

    html = reed.get(f"/review/{aid}/sign/approve").get_data(as_text=True)
    content_hash = re.search(r'name="content_hash" value="([^"]+)"', html).group(1)
    r = reed.client.post(f"/review/{aid}/sign/approve", data={
        "csrf_token": csrf_token(html), "content_hash": content_hash,
        "password": PASSWORD, "conflict_of_interest": "I own shares in the maker"})
    assert r.status_code == 422
    assert "Approval refused: you declared a conflict of interest (I own shares in the maker)" \
        in r.get_data(as_text=True)
    assert story.state(aid) == "under_review"
