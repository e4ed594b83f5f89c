"""The admin's token and webhook lists read a page at a time by keyset on the id, in the
browser (``?before=<id>``, newest first) and in the API (``cursor``, oldest first): every
row shows exactly once across the pages, even when rows are added meanwhile; a mangled
browser position shows the first page, a mangled API cursor a clear 400, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest

from review_flow.tokens import service as tokens
from review_flow.web import admin
from tests.support.pager import next_link, walk
from tests.support.webhook_config import register

_TOKEN_PREFIX = re.compile(r"<td><code>([^<]+)…</code></td>")
_WEBHOOK_ID = re.compile(r"<tr>\s*<td>(\d+)</td>")
HOSTILE = ["", "x", "0", "-1", "1.5", "1e3", "\uff12", "99999999999999999999999", str(2**62 + 1),
           "1;drop table api_tokens", "%00", "1 ", "0x10"]




def _make_tokens(db: Any, owner: Any, count: int) -> list[str]:
    """``count`` new tokens of ``owner``; their prefixes, oldest first."""
    made = []
    with db.transaction() as session:
        user = session.merge(owner.user, load=True)
        for i in range(count):
            made.append(tokens.create_token(session, user, name=f"pipeline {i}").token.prefix)
    return made


def _make_webhooks(db: Any, admin_actor: Any, count: int) -> list[str]:
    """``count`` new endpoints; their ids (as text), oldest first."""
    with db.transaction() as session:
        user = session.merge(admin_actor.user, load=True)
        return [str(register(session, url=f"http://127.0.0.1:9/hook/{i}", events=["*"],
                             created_by=user).id) for i in range(count)]


def test_token_pages_show_every_token_once_even_as_new_ones_arrive(
        as_role: Any, db: Any, people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "LIST_PAGE", 2)
    made = _make_tokens(db, people["author"], 5)
    browser = as_role("admin").client
    newest_first = made[::-1]
    assert walk(browser, "/admin/tokens", "Older tokens", _TOKEN_PREFIX) == [
        newest_first[0:2], newest_first[2:4], newest_first[4:]]
    # Page 2 is read from page 1's last row: a token created in between does not shift it.
    second = next_link(browser.get("/admin/tokens").get_data(as_text=True), "Older tokens")
    assert second is not None and "before=" in second
    newer = _make_tokens(db, people["author"], 1)
    assert walk(browser, second, "Older tokens", _TOKEN_PREFIX) == [
        newest_first[2:4], newest_first[4:]]
    first_page = browser.get("/admin/tokens").get_data(as_text=True)
    assert _TOKEN_PREFIX.findall(first_page) == [newer[0], newest_first[0]]
    assert "Newest tokens" not in first_page
    assert "Newest tokens" in browser.get(second).get_data(as_text=True)


def test_webhook_pages_show_every_endpoint_once(
        as_role: Any, db: Any, people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "LIST_PAGE", 2)
    made = _make_webhooks(db, people["admin"], 5)
    browser = as_role("admin").client
    pages = walk(browser, "/admin/webhooks", "Older webhooks", _WEBHOOK_ID)
    assert pages == [made[4:2:-1], made[2:0:-1], made[:1]]
    second = next_link(browser.get("/admin/webhooks").get_data(as_text=True), "Older webhooks")
    assert second is not None
    newer = _make_webhooks(db, people["admin"], 1)
    assert walk(browser, second, "Older webhooks", _WEBHOOK_ID) == pages[1:]
    assert _WEBHOOK_ID.findall(browser.get("/admin/webhooks").get_data(as_text=True)) == [
        newer[0], made[4]]


@pytest.mark.parametrize("before", HOSTILE)
def test_a_mangled_position_shows_the_newest_page(
        as_role: Any, db: Any, people: Any, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    monkeypatch.setattr(admin, "LIST_PAGE", 2)
    made_tokens = _make_tokens(db, people["author"], 3)
    made_hooks = _make_webhooks(db, people["admin"], 3)
    browser = as_role("admin").client
    response = browser.get("/admin/tokens", query_string={"before": before})
    assert response.status_code == 200, before
    html = response.get_data(as_text=True)
    assert _TOKEN_PREFIX.findall(html) == made_tokens[:0:-1]
    assert "Newest tokens" not in html and "Older tokens" in html
    response = browser.get("/admin/webhooks", query_string={"before": before})
    assert response.status_code == 200, before
    assert _WEBHOOK_ID.findall(response.get_data(as_text=True)) == made_hooks[:0:-1]


def test_a_position_past_the_oldest_row_says_so(as_role: Any, db: Any, people: Any) -> None:
    _make_tokens(db, people["author"], 1)
    _make_webhooks(db, people["admin"], 1)
    browser = as_role("admin").client
    html = browser.get("/admin/tokens?before=1").get_data(as_text=True)
    assert "No older tokens." in html and _TOKEN_PREFIX.findall(html) == []
    html = browser.get("/admin/webhooks?before=1").get_data(as_text=True)
    assert "No older webhooks." in html and _WEBHOOK_ID.findall(html) == []


@pytest.mark.parametrize("role", ["author", "reviewer", "editor", "auditor"])
def test_later_pages_are_for_admins_only(as_role: Any, db: Any, people: Any, role: str
                                         ) -> None:
    _make_tokens(db, people["author"], 3)
    _make_webhooks(db, people["admin"], 3)
    browser = as_role(role).client
    for url in ("/admin/tokens?before=3", "/admin/webhooks?before=3"):
        response = browser.get(url)
        assert response.status_code == 403, (role, url)
        assert "tok_" not in response.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client: Any) -> None:
    for url in ("/admin/tokens?before=3", "/admin/webhooks?before=3"):
        response = client.get(url)
        assert response.status_code in (302, 303) and "/sign-in" in response.location, url


# --- the API lists ----------------------------------------------------------------------


def _api_walk(client: Any, path: str, bearer: str, key: str) -> list[list[Any]]:
    pages: list[list[Any]] = []
    url: str | None = path
    while url is not None:
        response = client.get(url, headers={"Authorization": f"Bearer {bearer}"})
        assert response.status_code == 200, (url, response.get_json())
        body = response.get_json()
        pages.append([item[key] for item in body["items"]])
        cursor = body["next_cursor"]
        link = response.headers.get("Link")
        if cursor is None:
            assert link is None
            url = None
        else:
            assert link is not None and "rel=\"next\"" in link
            url = f"{path}&cursor={cursor}"
        assert len(pages) < 50, "the pager never ends"
    return pages


def _bearer(db: Any, actor: Any) -> tuple[str, str]:
    with db.transaction() as session:
        user = session.merge(actor.user, load=True)
        made = tokens.create_token(session, user, name="api")
        return made.plaintext, made.token.prefix


def test_api_token_list_pages_once_each_and_only_own_for_non_admins(
        client: Any, db: Any, people: Any) -> None:
    admin_bearer, admin_prefix = _bearer(db, people["admin"])
    author_bearer, author_prefix = _bearer(db, people["author"])
    author_tokens = _make_tokens(db, people["author"], 4)
    editor_tokens = _make_tokens(db, people["editor"], 2)
    everything = [admin_prefix, author_prefix, *author_tokens, *editor_tokens]
    pages = _api_walk(client, "/api/v1/tokens?limit=3", admin_bearer, "prefix")
    assert pages == [everything[0:3], everything[3:6], everything[6:]]
    own = _api_walk(client, "/api/v1/tokens?limit=2", author_bearer, "prefix")
    assert own == [[author_prefix, author_tokens[0]], author_tokens[1:3], author_tokens[3:]]
    # A cursor from the admin's list shows the author nothing that is not theirs.
    first = client.get("/api/v1/tokens?limit=1",
                       headers={"Authorization": f"Bearer {admin_bearer}"}).get_json()
    later = client.get(f"/api/v1/tokens?limit=50&cursor={first['next_cursor']}",
                       headers={"Authorization": f"Bearer {author_bearer}"}).get_json()
    assert [t["prefix"] for t in later["items"]] == [author_prefix, *author_tokens]


def test_api_webhook_list_pages_once_each(client: Any, db: Any, people: Any) -> None:
    admin_bearer, _ = _bearer(db, people["admin"])
    made = [int(i) for i in _make_webhooks(db, people["admin"], 5)]
    pages = _api_walk(client, "/api/v1/webhooks?limit=2", admin_bearer, "id")
    assert pages == [made[0:2], made[2:4], made[4:]]
    author_bearer, _ = _bearer(db, people["author"])
    response = client.get("/api/v1/webhooks?limit=2",
                          headers={"Authorization": f"Bearer {author_bearer}"})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/webhooks"])
@pytest.mark.parametrize("cursor", [
    "x", "W10", "WyJ0b2tlbnMiXQ", "WyJhdWRpdCIsMV0",  # [], ["tokens"], ["audit",1]
    "WyJ0b2tlbnMiLC0xXQ", "WyJ0b2tlbnMiLDk5OTk5OTk5OTk5OTk5OTk5OTk5OV0",  # -1, huge
    "WyJ0b2tlbnMiLHRydWVd", "WyJ3ZWJob29rcyIsIjEiXQ", "%00", "a" * 200])
def test_api_mangled_cursor_is_a_clear_400(client: Any, db: Any, people: Any, path: str,
                                           cursor: str) -> None:
    admin_bearer, _ = _bearer(db, people["admin"])
    response = client.get(path, query_string={"cursor": cursor},
                          headers={"Authorization": f"Bearer {admin_bearer}"})
    assert response.status_code == 400, (cursor, response.get_data(as_text=True)[:200])
    error = response.get_json()["error"]
    assert "cursor" in error["message"] or "cursor" in str(error.get("details")), error


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/webhooks"])
@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "1e2"])
def test_api_bad_limit_is_a_clear_error(client: Any, db: Any, people: Any, path: str,
                                        limit: str) -> None:
    admin_bearer, _ = _bearer(db, people["admin"])
    response = client.get(path, query_string={"limit": limit},
                          headers={"Authorization": f"Bearer {admin_bearer}"})
    assert response.status_code in (400, 422), (limit, response.status_code)
    assert "limit" in response.get_data(as_text=True)
