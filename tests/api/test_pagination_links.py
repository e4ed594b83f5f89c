"""Every paginated list says where its next page is in a ``Link: <...>; rel="next"`` header
beside ``next_cursor``, keeping the request's filters, and says nothing on the last page.

The header is read with ``requests``' RFC 8288 parser, as a generic client would."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.utils import parse_header_links

from tests.api.conftest import draft


def _next(response: Any) -> str | None:
    """The target of ``rel="next"``, or None when the header is absent."""
    header = response.headers.get("Link")
    if header is None:
        return None
    [link] = [x for x in parse_header_links(header) if x.get("rel") == "next"]
    return link["url"]


def _walk(api: Any, first: str) -> tuple[list[Any], list[str]]:
    """Follow Link headers from ``first`` (an /api/v1 path) to the end; (items, links)."""
    items: list[Any] = []
    links: list[str] = []
    path: str | None = first
    while path is not None:
        r = api.get(path)
        assert r.status_code == 200, r.json
        items += r.json["items"]
        target = _next(r)
        if target is None:
            assert r.json["next_cursor"] is None
            break
        # The link carries exactly the cursor the body gives, beside the same filters.
        query = dict(parse_qsl(urlsplit(target).query))
        assert query["cursor"] == r.json["next_cursor"]
        assert urlsplit(target).path.startswith("/api/v1/")
        links.append(target)
        path = target.removeprefix("/api/v1")
        assert len(links) < 50, "Link headers never ended"
    return items, links


def test_article_pages_follow_link_headers_and_keep_the_filter(
    api_as: Any, people: Any
) -> None:
    api = api_as(people["author"])
    drafts = [api.post("/articles", json=draft(title=f"Draft {i}")).json["id"] for i in range(5)]
    submitted = api.post("/articles", json=draft(title="Sent")).json["id"]
    assert api.act(submitted, "submit").status_code == 200
    items, links = _walk(api, "/articles?state=draft&limit=2")
    assert [a["id"] for a in items] == sorted(drafts, reverse=True)
    assert len(links) == 2  # pages of 2, 2 and 1
    for link in links:
        query = dict(parse_qsl(urlsplit(link).query))
        assert (query["state"], query["limit"]) == ("draft", "2")
    # Exactly one page: no Link header at all.
    one = api.get("/articles?limit=50")
    assert one.json["next_cursor"] is None and "Link" not in one.headers


def test_history_revisions_and_audit_pages_have_links(api_as: Any, people: Any) -> None:
    author = api_as(people["author"])
    aid = author.post("/articles", json=draft()).json["id"]
    for n in range(3):
        r = author.put(f"/articles/{aid}", json=draft(body=f"Edit {n} [1]."))
        assert r.status_code == 200, r.json
    revisions, rev_links = _walk(author, f"/articles/{aid}/revisions?limit=2")
    assert [r["number"] for r in revisions] == [1, 2, 3, 4] and len(rev_links) == 1
    history, hist_links = _walk(author, f"/articles/{aid}/history?limit=3")
    assert len(history) == 4 and len(hist_links) == 1
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    auditor = api_as(people["auditor"])
    events, audit_links = _walk(auditor, "/audit?action=article.edit&limit=1")
    assert [e["action"] for e in events] == ["article.edit"] * 3 and len(audit_links) == 2
    assert all("action=article.edit" in link for link in audit_links)


def test_delivery_pages_have_links(api_as: Any, people: Any, make_user: Any) -> None:
    admin = api_as(make_user("admin@example.org", "admin"))
    hook = admin.post("/webhooks", json={"url": "https://hooks.example.org/in", "events": ["*"]})
    assert hook.status_code == 201, hook.json
    author = api_as(people["author"])
    for i in range(3):
        assert author.post("/articles", json=draft(title=f"Draft {i}")).status_code == 201
    deliveries, links = _walk(admin, f"/webhooks/{hook.json['id']}/deliveries?limit=2")
    assert len(deliveries) == 3 and len(links) == 1
    assert len({d["message_id"] for d in deliveries}) == 3


def test_an_error_answer_has_no_link(api_as: Any, people: Any) -> None:
    api = api_as(people["author"])
    r = api.get("/articles?cursor=not-a-cursor")
    assert r.status_code == 400 and "Link" not in r.headers
