"""HTTP caching of the public pages: strong ETags answered with 304, a Cache-Control a CDN
may act on for readers without a session, and ``private, no-store`` for everyone else."""

from __future__ import annotations

from typing import Any

import pytest

PUBLIC = "public, max-age=0, s-maxage=60, stale-while-revalidate=60, stale-if-error=86400"
ROLES = ["author", "reviewer", "editor", "auditor", "admin"]


def _pages(story: Any) -> list[str]:
    return [f"/articles/{story.slug(story.in_state('approved'))}", "/", "/editorial-policy"]


def test_readers_without_a_session_may_be_cached_and_revalidate_to_304(
    as_role: Any, story: Any
) -> None:
    reader = as_role("anonymous")
    for url in _pages(story):
        first = reader.get(url)
        assert first.status_code == 200, url
        assert first.headers["Cache-Control"] == PUBLIC, url
        assert "Cookie" in first.headers["Vary"], url
        assert "Set-Cookie" not in first.headers, url  # a shared cache must not keep one
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/"), url  # strong
        again = reader.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", url
        assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == PUBLIC
        listed = reader.get(url, headers={"If-None-Match": f'"other", {etag}'})
        assert listed.status_code == 304, url
        assert reader.get(url, headers={"If-None-Match": "*"}).status_code == 304, url
        # A proxy that compresses the page weakens its ETag; If-None-Match compares weakly.
        weak = reader.get(url, headers={"If-None-Match": f"W/{etag}"})
        assert weak.status_code == 304, url
        other = reader.get(url, headers={"If-None-Match": '"not-this-page"'})
        assert other.status_code == 200 and other.data == first.data, url


def test_an_old_etag_gets_the_new_page_after_a_change(client: Any, story: Any) -> None:
    article_id = story.in_state("approved")
    url = f"/articles/{story.slug(article_id)}"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    story.act(article_id, "retract", "editor", comment="Withdrawn pending new evidence.")
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert "This article has been retracted" in after.text
    assert after.headers["ETag"] != etag
    assert client.get(url, headers={"If-None-Match": after.headers["ETag"]}).status_code == 304


def test_with_the_page_cache_off_the_etag_and_304_still_hold(app: Any, story: Any) -> None:
    app.config["PUBLIC_PAGE_CACHE"] = False
    client = app.test_client()
    url = f"/articles/{story.slug(story.in_state('approved'))}"
    first = client.get(url)
    assert first.headers["Cache-Control"] == PUBLIC
    assert client.get(url).headers["ETag"] == first.headers["ETag"]  # rendered twice, same
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("role", ROLES)
def test_signed_in_people_get_private_uncached_pages(as_role: Any, story: Any, role: str) -> None:
    """Their page carries their name and a Log out button: no shared cache may keep it,
    and an ETag a reader's cache holds never turns their request into a 304."""
    pages = _pages(story)
    reader_etags = {url: as_role("anonymous").get(url).headers["ETag"] for url in pages}
    person = as_role(role)
    for url in pages:
        response = person.get(url, headers={"If-None-Match": reader_etags[url]})
        assert response.status_code == 200, (role, url)
        assert response.headers["Cache-Control"] == "private, no-store", (role, url)
        assert "ETag" not in response.headers, (role, url)
        assert "Cookie" in response.headers["Vary"], (role, url)
        assert "Log out" in response.text, (role, url)


def test_a_reader_carrying_only_a_session_cookie_is_not_served_shared_pages(
    app: Any, story: Any
) -> None:
    """A session (a flash message after signing out, say) may change the page: private."""
    client = app.test_client()
    client.set_cookie("session", "anything", domain="localhost")
    for url in _pages(story):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url


def test_a_missing_page_is_not_cached_as_public(client: Any, story: Any) -> None:
    response = client.get("/articles/no-such-article")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
