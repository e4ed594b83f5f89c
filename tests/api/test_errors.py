"""Every error code in the DESIGN.md shape, and nothing written when refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import draft


def _err(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.json
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def test_400_malformed_json(api_as: Any, people: Any, snapshot: Any) -> None:
    api = api_as(people["author"])
    before = snapshot()
    r = api.client.post(
        "/api/v1/articles",
        data=b'{"title": "x", ',
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    _err(r, 400, "malformed_json")
    r = api.client.post(
        "/api/v1/articles",
        data=b'{"title": "\\ud800", "body": ""}',
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    _err(r, 400, "malformed_json")
    _err(api.get("/articles?cursor=not-a-cursor"), 400, "invalid_cursor")
    _err(
        api.put("/articles/1", json=draft(), headers={"If-Match": "nonsense"}),
        400,
        "invalid_if_match",
    )
    assert snapshot() == before


def test_401_without_or_with_a_bad_token(client: Any, people: Any, snapshot: Any) -> None:
    before = snapshot()
    _err(client.post("/api/v1/articles", json=draft()), 401, "missing_token")
    _err(
        client.get("/api/v1/articles", headers={"Authorization": "Basic abc"}),
        401,
        "malformed_authorization",
    )
    _err(
        client.post(
            "/api/v1/articles",
            json=draft(),
            headers={"Authorization": "Bearer rf_not-a-real-token"},
        ),
        401,
        "invalid_token",
    )
    # Even a malformed body from a stranger is answered 401, not 400.
    _err(
        client.post(
            "/api/v1/articles",
            data=b"{",
            content_type="application/json",
            headers={"Authorization": "Bearer rf_nope"},
        ),
        401,
        "invalid_token",
    )
    assert snapshot() == before


def test_403_forbidden_actions(api_as: Any, people: Any, snapshot: Any) -> None:
    author, reviewer = api_as(people["author"]), api_as(people["reviewer"])
    aid = author.post("/articles", json=draft()).json["id"]
    author.act(aid, "submit")
    before = snapshot()
    # The author holds no reviewer role; a reviewer cannot submit someone else's draft.
    _err(author.act(aid, "start_review"), 403, "role_required")
    _err(reviewer.act(aid, "withdraw"), 403, "not_the_author")
    _err(reviewer.post("/articles", json=draft()), 403, "role_required")
    _err(author.get("/audit"), 403, "role_required")
    _err(author.get("/webhooks"), 403, "role_required")
    assert snapshot() == before


def test_404_unknown_and_invisible(api_as: Any, people: Any, make_user: Any) -> None:
    author = api_as(people["author"])
    other = api_as(make_user("other@example.org", "author"))
    aid = author.post("/articles", json=draft()).json["id"]
    _err(author.get("/articles/999999"), 404, "not_found")
    _err(author.get("/no-such-endpoint"), 404, "not_found")
    # Another author's draft is not revealed.
    _err(other.get(f"/articles/{aid}"), 404, "not_found")
    _err(other.put(f"/articles/{aid}", json=draft()), 404, "not_found")
    assert other.get("/articles").json["items"] == []
    assert api_as(people["reviewer"]).get(f"/articles/{aid}").status_code == 200


def test_405_in_the_error_shape(api_as: Any, people: Any) -> None:
    r = api_as(people["author"]).client.delete("/api/v1/articles")
    err = _err(r, 405, "method_not_allowed")
    assert "POST" in err["details"]["allowed_methods"]


def test_409_stale_version_says_the_current_one(api_as: Any, people: Any, snapshot: Any) -> None:
    author = api_as(people["author"])
    aid = author.post("/articles", json=draft()).json["id"]
    assert author.put(f"/articles/{aid}", json=draft(title="Second title")).status_code == 200
    before = snapshot()
    for resp in (
        author.put(f"/articles/{aid}", json=draft(title="Third", expected_version=1)),
        author.put(f"/articles/{aid}", json=draft(title="Third"), headers={"If-Match": '"v1"'}),
        author.act(aid, "submit", expected_version=1),
        author.act(aid, "submit", headers={"If-Match": 'W/"v1"'}),
    ):
        err = _err(resp, 409, "conflict")
        assert err["details"]["current_version"] == 2
        assert err["details"]["expected_version"] == 1
        assert resp.headers["ETag"] == '"v2"'
        assert "article.edit" in err["message"] or "edit" in err["message"]
    assert snapshot() == before
    _err(
        author.put(
            f"/articles/{aid}", json=draft(expected_version=2), headers={"If-Match": '"v1"'}
        ),
        409,  # both are well formed: their disagreement is a conflict, not a malformed request
        "precondition_mismatch",
    )


def test_409_invalid_transition(api_as: Any, people: Any, snapshot: Any) -> None:
    author = api_as(people["author"])
    aid = author.post("/articles", json=draft()).json["id"]
    before = snapshot()
    err = _err(author.act(aid, "withdraw"), 409, "invalid_transition")
    assert err["details"]["state"] == "draft"
    assert err["details"]["allowed_actions"] == ["submit"]
    assert snapshot() == before


def test_413_body_over_the_limit(app: Any, api_as: Any, people: Any, snapshot: Any) -> None:
    app.config["API_MAX_CONTENT_LENGTH"] = 4096
    api = api_as(people["author"])
    before = snapshot()
    err = _err(api.post("/articles", json=draft(body="x" * 5000)), 413, "request_too_large")
    assert err["details"]["limit"] == 4096
    assert snapshot() == before
    assert api.post("/articles", json=draft(body="x" * 100)).status_code == 201


def test_415_not_json(api_as: Any, people: Any, snapshot: Any) -> None:
    api = api_as(people["author"])
    before = snapshot()
    r = api.client.post(
        "/api/v1/articles", data={"title": "x"}, headers={"Authorization": f"Bearer {api.token}"}
    )
    _err(r, 415, "unsupported_media_type")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "no title"}, "title"),
        (draft(title=""), "title"),
        (draft(references=[{"title": "A study", "url": "ftp://nope"}]), "references[0].url"),
        (draft(references=[{"title": "A study"}]), "references[0]"),
        (draft(generator={"model": "x"}), "generator.name"),
        (draft(unexpected=True), "unexpected"),
        (draft(title="bad\u0000title"), "title"),
    ],
)
def test_422_names_the_failing_field(
    api_as: Any, people: Any, snapshot: Any, body: dict[str, Any], field: str
) -> None:
    api = api_as(people["author"])
    before = snapshot()
    err = _err(api.post("/articles", json=body), 422, "validation_failed")
    assert field in err["details"]["fields"], err
    assert snapshot() == before


def test_422_guard_failure_from_the_workflow(api_as: Any, people: Any, snapshot: Any) -> None:
    api = api_as(people["author"])
    aid = api.post("/articles", json=draft(body="See [2].")).json["id"]
    before = snapshot()
    err = _err(api.act(aid, "submit"), 422, "dangling_citation")
    assert "[2]" in err["message"]
    assert snapshot() == before


def test_422_lists_every_bad_reference_numbered_for_people(
    api_as: Any, people: Any, snapshot: Any
) -> None:
    """``fields`` keeps the 0-based JSON paths; ``problems`` has one message per problem,
    numbering references from 1 as a person counts them."""
    api = api_as(people["author"])
    before = snapshot()
    body = draft(title="", references=[{"title": "A", "pmid": "1"},
                                        {"title": "B", "doi": "nope"},
                                        {"title": "C", "url": "ftp://x"}])
    err = _err(api.post("/articles", json=body), 422, "validation_failed")
    assert set(err["details"]["fields"]) == {"title", "references[1].doi", "references[2].url"}
    assert [(p["code"], p["field"], p["message"]) for p in err["details"]["problems"]] == [
        ("validation_failed", "title", "Give the article a title."),
        ("validation_failed", "references[1].doi",
         "Reference 2: the DOI \u201cnope\u201d is not a DOI (it should look like 10.1234/abcd)."),
        ("validation_failed", "references[2].url",
         "Reference 3: the URL \u201cftp://x\u201d is not a web address (it should start with "
         "https:// or http://)."),
    ]
    assert "references[" not in err["message"]
    assert snapshot() == before
