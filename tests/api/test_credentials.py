"""Verified credentials over the JSON API: a lapsed verification stops signing only, so a
reviewer's token still starts reviews and comments; a token never signs at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from review_flow.users import changes
from review_flow.users import service as users
from tests.api.conftest import draft


def test_a_lapsed_reviewer_still_reviews_over_the_api_but_nothing_is_signed(
        api_as: Any, people: Any, db: Any, snapshot: Any) -> None:
    today = datetime.now(UTC).date()
    with db.transaction() as s:
        changes.update_person(s, users.get_by_email(s, "reed@example.org"), changed_by=None,
                              today=today, credentials_verified_until=today - timedelta(days=1))
    author, reviewer = api_as(people["author"]), api_as(people["reviewer"])
    aid = author.post("/articles", json=draft()).json["id"]
    author.act(aid, "submit")
    r = reviewer.act(aid, "start_review")
    assert r.status_code == 200 and r.json["to_state"] == "under_review"
    before = snapshot()
    r = reviewer.act(aid, "approve")
    assert r.status_code == 403
    assert r.json["error"]["code"] == "token_cannot_sign"
    assert snapshot() == before
