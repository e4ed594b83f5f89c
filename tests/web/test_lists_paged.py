"""Browser lists read a page at a time by keyset: the home page (with its title search),
"My articles" and the review queue. Following "next" links from the first page shows
every row exactly once, in order, even when rows are added meanwhile; a mangled position
shows the first page; hostile search text gets a clear message, never a 500."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from review_flow.web import authoring, public, review
from tests.support.pager import next_link, walk

_HOME_TITLE = re.compile(r'<li><a href="/articles/[^"]+">([^<]+)</a>')
_TABLE_TITLE = re.compile(r'<td><a href="/(?:write|review)/\d+">([^<]+)</a>')




def _approved(story: Any, *titles: str) -> list[int]:
    return [story.in_state("approved", title=t) for t in titles]


def test_home_lists_reviewed_articles_newest_approval_first(client: Any, story: Any) -> None:
    first, second, third = _approved(story, "Alpha Topic", "Beta Topic", "Gamma Topic")
    story.in_state("submitted", title="Pending Topic")
    story.in_state("draft", title="Draft Topic")
    story.in_state("rejected", title="Rejected Topic")
    assert walk(client, "/", "Older articles", _HOME_TITLE) == [
        ["Gamma Topic", "Beta Topic", "Alpha Topic"]]
    # Approving a new revision of the oldest brings it to the top, under its new title;
    # while the new revision is in review, readers keep the approved one where it was.
    story.edit(first, title="Alpha Topic, revised")
    story.act(first, "submit", "author")
    assert walk(client, "/", "Older articles", _HOME_TITLE) == [
        ["Gamma Topic", "Beta Topic", "Alpha Topic"]]
    story.act(first, "start_review", "reviewer")
    story.act(first, "approve", "reviewer")
    assert walk(client, "/", "Older articles", _HOME_TITLE) == [
        ["Alpha Topic, revised", "Gamma Topic", "Beta Topic"]]
    # A retraction takes it off the home page (its page shows the notice).
    story.act(third, "retract", "editor", comment="Superseded guidance.")
    assert walk(client, "/", "Older articles", _HOME_TITLE) == [
        ["Alpha Topic, revised", "Beta Topic"]]
    assert second


def test_home_pages_show_every_article_once_even_as_new_ones_arrive(
        client: Any, story: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "HOME_PAGE", 2)
    _approved(story, *(f"Topic {i}" for i in range(5)))
    pages = walk(client, "/", "Older articles", _HOME_TITLE)
    assert pages == [["Topic 4", "Topic 3"], ["Topic 2", "Topic 1"], ["Topic 0"]]
    # Page 2 is read from page 1's last row: an approval in between does not shift it.
    html = client.get("/").get_data(as_text=True)
    older = next_link(html, "Older articles")
    assert older is not None and "after=" in older
    _approved(story, "Topic 5")
    rest = walk(client, older, "Older articles", _HOME_TITLE)
    assert rest == [["Topic 2", "Topic 1"], ["Topic 0"]]
    assert "Newest articles" in client.get(older).get_data(as_text=True)


@pytest.mark.parametrize("after", ["", "x", "12-", "-3", "1-0", "99999999999999999-1",
                                   "1-99999999999999999999", "1764500000000000-1;drop"])
def test_a_mangled_position_shows_the_first_page(client: Any, story: Any, after: str) -> None:
    _approved(story, "Only Topic")
    response = client.get("/", query_string={"after": after})
    assert response.status_code == 200
    assert _HOME_TITLE.findall(response.get_data(as_text=True)) == ["Only Topic"]


def test_search_finds_public_titles_by_word_prefixes(client: Any, story: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _approved(story, "Heart failure: what to expect", "Living with asthma",
              "Heartburn after meals", "Café culture and caffeine")
    story.in_state("under_review", title="Heart murmurs in children")  # not public yet
    retracted = story.in_state("approved", title="Heart valve myths")
    story.act(retracted, "retract", "editor", comment="Wrong.")

    def found(q: str) -> list[str]:
        response = client.get("/", query_string={"q": q})
        assert response.status_code == 200, q
        return [unescape(t) for t in _HOME_TITLE.findall(response.get_data(as_text=True))]

    assert found("heart") == ["Heartburn after meals", "Heart failure: what to expect"]
    assert found("HEART fail") == ["Heart failure: what to expect"]
    assert found("fail heart") == ["Heart failure: what to expect"]
    assert found("asthma") == ["Living with asthma"]
    # Accents count on both databases (PostgreSQL's built-in search does not fold them).
    assert found("café") == ["Café culture and caffeine"] and found("cafe") == []
    assert found("CAFÉ caff") == ["Café culture and caffeine"]
    assert found("murmurs") == [] and found("valve") == []
    assert found("kidney") == []
    assert "No reviewed article has a title with those words." in client.get(
        "/?q=kidney").get_data(as_text=True)
    # Search results page like the home page, the search kept in the links.
    monkeypatch.setattr(public, "HOME_PAGE", 1)
    pages = walk(client, "/?q=heart", "Older articles", _HOME_TITLE)
    assert pages == [["Heartburn after meals"], ["Heart failure: what to expect"]]


@pytest.mark.parametrize(("q", "finds"), [
    ('heart"', True), ('"heart', True), ("heart*", True), ("(heart)", True), ("^heart", True),
    ("heart" + "\u0301", True), ("heart:* & !x", False),
    ("heart:* & !fail", True), ("NEAR(heart", False), ("NEAR(heart fail)", False),
    ("heart OR", False), ("AND", False), ("title:heart", False), ("héart", False),
    ("'; DROP TABLE articles; --", False), ("x" * 200, False),
    ("\uff48\uff45\uff41\uff52\uff54", False),  # "heart" in full-width letters
])
def test_hostile_search_text_is_only_words(client: Any, story: Any, q: str, finds: bool
                                           ) -> None:
    """Search syntax is never interpreted: the words in it are all required, as words
    (so "heart OR" needs a word starting with "or"), and nothing else counts."""
    _approved(story, "Heart failure: what to expect")
    response = client.get("/", query_string={"q": q})
    assert response.status_code == 200, q
    html = response.get_data(as_text=True)
    assert "\x00" not in html
    expected = ["Heart failure: what to expect"] if finds else []
    assert [unescape(t) for t in _HOME_TITLE.findall(html)] == expected, q


@pytest.mark.parametrize(("q", "message"), [
    ('"', "Search: type at least one word of letters or digits."),
    ('"*()', "Search: type at least one word of letters or digits."),
    ("*", "Search: type at least one word of letters or digits."),
    ("x" * 201, "Search: at most 200 characters, please (this was 201)."),
    (" ".join(["heart"] * 9), "Search: at most 8 words, please (this was 9)."),
])
def test_search_text_without_words_or_too_long_gets_a_clear_message(
        client: Any, story: Any, q: str, message: str) -> None:
    _approved(story, "Heart failure: what to expect")
    response = client.get("/", query_string={"q": q})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert _HOME_TITLE.findall(html) == []


@pytest.mark.parametrize("q", ["heart\x00", "\x00\x00"])
def test_a_nul_in_the_search_is_refused_by_the_site_wide_gate(client: Any, story: Any, q: str
                                                              ) -> None:
    """NUL is refused in every web field and query value (web/input_gate.py), search too."""
    _approved(story, "Heart failure: what to expect")
    response = client.get("/", query_string={"q": q})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The query argument &#39;q&#39; contains a NUL character" in html
    assert "\x00" not in html
    assert _HOME_TITLE.findall(html) == []


def test_blank_search_is_the_home_page(client: Any, story: Any) -> None:
    _approved(story, "Heart failure: what to expect")
    html = client.get("/?q=+++").get_data(as_text=True)
    assert "Recently reviewed" in html
    assert _HOME_TITLE.findall(html) == ["Heart failure: what to expect"]


def test_my_articles_pages_through_every_article_once(
        as_role: Any, story: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authoring, "MY_ARTICLES_PAGE", 2)
    ids = [story.create(title=f"Draft {i}") for i in range(5)]
    author = as_role("author").client
    pages = walk(author, "/my-articles", "Next page", _TABLE_TITLE)
    assert pages == [["Draft 4", "Draft 3"], ["Draft 2", "Draft 1"], ["Draft 0"]]
    # Changing an article moves it to the front; a page read from its position before the
    # change neither repeats it nor skips another.
    second = next_link(author.get("/my-articles").get_data(as_text=True), "Next page")
    assert second is not None
    story.edit(ids[0], title="Draft 0, edited")
    assert walk(author, second, "Next page", _TABLE_TITLE) == [["Draft 2", "Draft 1"]]
    assert walk(author, "/my-articles", "Next page", _TABLE_TITLE)[0] == [
        "Draft 0, edited", "Draft 4"]


def test_review_queue_pages_oldest_first_by_state(
        as_role: Any, story: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(review, "QUEUE_PAGE", 2)
    for i in range(5):
        story.in_state("under_review" if i % 2 else "submitted", title=f"Waiting {i}")
    story.in_state("approved", title="Done")
    reviewer = as_role("reviewer").client
    assert walk(reviewer, "/review", "Next page", _TABLE_TITLE) == [
        ["Waiting 0", "Waiting 1"], ["Waiting 2", "Waiting 3"], ["Waiting 4"]]
    assert walk(reviewer, "/review?state=submitted", "Next page", _TABLE_TITLE) == [
        ["Waiting 0", "Waiting 2"], ["Waiting 4"]]
    assert walk(reviewer, "/review?state=under_review", "Next page", _TABLE_TITLE) == [
        ["Waiting 1", "Waiting 3"]]
    html = reviewer.get("/review?after=bogus").get_data(as_text=True)
    assert _TABLE_TITLE.findall(html) == ["Waiting 0", "Waiting 1"]


@pytest.mark.parametrize(("walk_first", "page"), [(1, 1), (1, 2), (2, 1), (3, 2), (1000, 20)])
def test_search_gives_the_same_pages_however_it_reads_them(
        client: Any, story: Any, monkeypatch: pytest.MonkeyPatch, walk_first: int, page: int
) -> None:
    """A search page is read by walking the list in order when the first ``WALK_FIRST``
    rows hold a page of matches, else through the search index: the same pages either
    way, whatever the matches' places in the list."""
    from review_flow.articles import search

    titles = ["Heart one", "Asthma one", "Asthma two", "Heart two", "Asthma three",
              "Asthma four", "Heart three", "Asthma five"]
    _approved(story, *titles)
    monkeypatch.setattr(search, "WALK_FIRST", walk_first)
    monkeypatch.setattr(public, "HOME_PAGE", page)
    pages = walk(client, "/?q=heart", "Older articles", _HOME_TITLE)
    assert [t for p in pages for t in p] == ["Heart three", "Heart two", "Heart one"]
    assert all(len(p) <= page for p in pages)
