"""Query counts: the busy pages read a fixed number of statements, however much data."""

from __future__ import annotations

from typing import Any


def _count(count_queries: Any, client: Any, url: str) -> int:
    with count_queries() as q:
        response = client.get(url)
        assert response.status_code == 200, url
    return q.count


def test_public_page_and_index_do_not_grow_with_data(shared_db: Any, app: Any, story: Any,
                                                     client: Any, count_queries: Any) -> None:
    app.config["PUBLIC_PAGE_CACHE"] = False  # count the full render (see the test below)
    first = story.in_state("approved", title="First Approved")
    slug = story.slug(first)
    approved_page = _count(count_queries, client, f"/articles/{slug}")
    index_few = _count(count_queries, client, "/")
    for i in range(8):
        story.in_state("approved", title=f"More {i}")
        story.in_state("submitted", title=f"Pending {i}")
    assert _count(count_queries, client, f"/articles/{slug}") == approved_page
    assert _count(count_queries, client, "/") == index_few
    assert approved_page == 2  # the article with its shown revision; its approvals
    pending = story.in_state("submitted", title="Pending Page")
    assert _count(count_queries, client, f"/articles/{story.slug(pending)}") == 1
    assert index_few == 1  # the page of reviewed articles


def test_a_cached_public_page_costs_one_validation_query(shared_db: Any, story: Any,
                                                         client: Any, count_queries: Any,
                                                         monkeypatch: Any) -> None:
    from review_flow.web import read_models

    calls = []
    original = read_models.public_validator

    def counting(engine: Any, slug: str) -> Any:
        calls.append(slug)
        return original(engine, slug)

    monkeypatch.setattr(read_models, "public_validator", counting)
    slug = story.slug(story.in_state("approved"))
    assert _count(count_queries, client, f"/articles/{slug}") == 2  # miss: full render
    assert _count(count_queries, client, f"/articles/{slug}") == 0  # hit: no ORM query...
    assert calls == [slug, slug]  # ...only the one validation statement each time


def test_queue_and_my_articles_do_not_grow_with_data(shared_db: Any, story: Any, as_role: Any,
                                                      count_queries: Any) -> None:
    story.in_state("submitted", title="One")
    reviewer = as_role("reviewer").client
    author = as_role("author").client
    queue_few = _count(count_queries, reviewer, "/review")
    mine_few = _count(count_queries, author, "/my-articles")
    for i in range(10):
        story.in_state("under_review" if i % 2 else "submitted", title=f"Waiting {i}")
    assert _count(count_queries, reviewer, "/review") == queue_few
    assert _count(count_queries, author, "/my-articles") == mine_few
    assert queue_few == 3  # the signed-in user with roles, the rows, the per-state counts
    assert mine_few == 2  # the signed-in user with roles, the rows


def test_review_page_query_count_is_bounded(shared_db: Any, story: Any, as_role: Any,
                                            count_queries: Any) -> None:
    article_id = story.in_state("under_review")
    reviewer = as_role("reviewer").client
    few = _count(count_queries, reviewer, f"/review/{article_id}")
    for i in range(5):
        story.act(article_id, "withdraw", "author") if i == 0 else None
        story.edit(article_id, body=f"Revision {i} [1].\n")
    story.act(article_id, "submit", "author")
    for _ in range(6):
        reviewer_client = as_role("reviewer2")
        reviewer_client.post(f"/articles/{article_id}/comments", {"body": "A remark."})
    many = _count(count_queries, reviewer, f"/review/{article_id}")
    assert many <= few + 1  # the diff base is looked up once there is a previous revision
