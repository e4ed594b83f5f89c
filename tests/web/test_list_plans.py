"""Every list reads its page through an index, on SQLite and PostgreSQL: no full scan of
articles, revisions or audit events, and no sort of a whole table, whatever the data's size.

Test tables are too small for timings to show a scan, so the plans are checked instead:
each list is requested the way a person or a client does (first page, a later page,
filters), every statement it runs is captured and explained (SQLite's EXPLAIN QUERY PLAN;
PostgreSQL's EXPLAIN (FORMAT JSON) with sequential scans and sorts priced out, so a plan
that still has one has no index to use). A walk of a whole index in order (SQLite's SCAN,
PostgreSQL's index scan without a condition) is allowed only for the index that list
pages by, where it stops after one page; ``None`` names the primary key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from review_flow.tokens import service as tokens

BIG_TABLES = ("articles", "revisions", "audit_events")


@contextmanager
def captured(db: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on ``db`` meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def on(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", on)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on)


def _touches_big_table(statement: str, tables: tuple[str, ...] = BIG_TABLES) -> bool:
    return any(re.search(rf"\b{t}\b", statement) for t in tables)


def sqlite_problems(db: Any, statement: str, params: Any, walks: set[str],
                    may_sort: bool, tables: tuple[str, ...] = BIG_TABLES) -> list[str]:
    with db.engine.connect() as conn:
        steps = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                        params)]
    problems = []
    for step in steps:
        scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", step)
        if scan and scan.group(1) in tables and scan.group(2) not in walks:
            problems.append(step)
        if "TEMP B-TREE FOR ORDER BY" in step and not may_sort:
            problems.append(step)
    return problems


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def postgresql_problems(db: Any, statement: str, params: Any, walks: set[str | None],
                        may_sort: bool, tables: tuple[str, ...] = BIG_TABLES) -> list[str]:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_sort = off")
        try:
            raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
        finally:
            conn.exec_driver_sql("RESET enable_seqscan")
            conn.exec_driver_sql("RESET enable_sort")
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    problems = []
    for node in _nodes(plan):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables:
            problems.append(f"Seq Scan on {node['Relation Name']}")
        walked = (node["Node Type"] in ("Index Scan", "Index Only Scan")
                  and node.get("Relation Name") in tables and "Index Cond" not in node)
        name = node.get("Index Name")
        if walked and name not in walks and not (None in walks and name.startswith("pk_")):
            problems.append(f"a walk of all of {name}")
        if node["Node Type"] in ("Sort", "Incremental Sort") and not may_sort:
            problems.append(f"Sort by {node.get('Sort Key')}")
    return problems


@pytest.fixture
def explain(shared_db: Any, backend: str) -> Callable[..., None]:
    """``explain(client, url, walks={...}, may_sort=False)``: request ``url`` and fail on
    any statement over a big table (or one of ``tables``) that scans it (or sorts, unless
    ``may_sort``)."""

    def check(client: Any, url: str, *, walks: set[str] = frozenset(), may_sort: bool = False,
              headers: dict[str, str] | None = None,
              tables: tuple[str, ...] = BIG_TABLES) -> None:
        with captured(shared_db) as statements:
            response = client.get(url, headers=headers or {})
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        checked = 0
        for statement, params in statements:
            if not _touches_big_table(statement, tables):
                continue
            checked += 1
            if backend == "sqlite":
                problems = sqlite_problems(shared_db, statement, params, set(walks), may_sort,
                                           tables)
            else:
                problems = postgresql_problems(shared_db, statement, params, set(walks),
                                               may_sort, tables)
            assert problems == [], f"{url}: {problems}\n{statement}"
        assert checked, f"{url} read none of {tables}"

    return check


@pytest.fixture
def filled(story: Any) -> dict[str, int]:
    """A few articles in every state, so every list has rows and a next page to read."""
    ids = {state: story.in_state(state, title=f"Heart {state}")
           for state in ("draft", "submitted", "under_review", "approved", "retracted")}
    story.in_state("approved", title="Heart failure basics")
    return ids


def test_home_page_and_search_read_by_index(client: Any, filled: Any,
                                            explain: Callable[..., None]) -> None:
    walks = {"ix_articles_published"}
    explain(client, "/", walks=walks)
    explain(client, "/?after=1764500000000000-5", walks=walks)
    # Search: SQLite reads the matching ids from FTS5, PostgreSQL from the GIN index (or
    # walks the home page's index and checks each title); either may sort the matches.
    explain(client, "/?q=heart", walks=walks, may_sort=True)
    explain(client, "/?q=heart+fail&after=1764500000000000-5", walks=walks, may_sort=True)


def test_my_articles_and_queue_read_by_index(as_role: Any, filled: Any,
                                             explain: Callable[..., None]) -> None:
    author = as_role("author").client
    explain(author, "/my-articles", walks={"ix_articles_author_updated"})
    explain(author, "/my-articles?after=1764500000000000-5", walks={"ix_articles_author_updated"})
    reviewer = as_role("reviewer").client
    for url in ("/review", "/review?state=submitted", "/review?state=under_review",
                "/review?after=1764500000000000-2", "/review?state=submitted&after=1-1"):
        explain(reviewer, url, walks={"ix_articles_waiting"})


AUDIT_FILTERS = (
    "", "article=1", "actor=2", "action=article.approve", "since=2000-01-01T00:00:00Z",
    "until=2999-01-01T00:00:00Z", "since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    "article=1&action=article.approve", "actor=2&action=article.start_review",
    "article=1&actor=2&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
)
AUDIT_STATE_FILTERS = ("state=approved", "state=draft&article=1",
                       "state=submitted&actor=2&since=2000-01-01T00:00:00Z")


def test_audit_log_page_reads_by_index(as_role: Any, filled: Any,
                                       explain: Callable[..., None]) -> None:
    """Every filter, alone and combined, on the first page and a later one: one range of
    the filter's (column, at, seq) index, or the log walked back by time."""
    auditor = as_role("auditor").client
    walks = {"ix_audit_events_at_seq"}
    for query in AUDIT_FILTERS:
        for before in ("", "&before=1764500000000000-5"):
            explain(auditor, f"/audit?{query}{before}", walks=walks)
    # A state is left or entered: a page from each state index, merged and sorted (two
    # pages of rows at most).
    for query in AUDIT_STATE_FILTERS:
        for before in ("", "&before=1764500000000000-5"):
            explain(auditor, f"/audit?{query}{before}", walks=walks, may_sort=True)


@pytest.fixture
def bearer(db: Any, people: Any) -> Callable[[str], dict[str, str]]:
    def make(role: str) -> dict[str, str]:
        with db.transaction() as session:
            user = session.merge(people[role].user, load=True)
            return {"Authorization": "Bearer "
                    + tokens.create_token(session, user, name="plans").plaintext}
    return make


def test_api_lists_read_by_index(client: Any, filled: Any, bearer: Any,
                                 explain: Callable[..., None]) -> None:
    editor, author = bearer("editor"), bearer("author")
    article = filled["approved"]
    # Newest first: all articles walk the primary key (None: SQLite's rowid); a state or
    # an author's own narrow it through an index that keeps id order.
    explain(client, "/api/v1/articles", walks={None}, headers=editor)
    explain(client, "/api/v1/articles?state=approved", walks={"ix_articles_state_id"},
            headers=editor)
    explain(client, "/api/v1/articles", walks={"ix_articles_author_id_id"}, headers=author)
    explain(client, "/api/v1/articles?state=approved", headers=author)
    explain(client, f"/api/v1/articles/{article}/history", headers=editor)
    explain(client, f"/api/v1/articles/{article}/revisions", headers=editor)
    explain(client, "/api/v1/audit", walks={None}, headers=editor)
    explain(client, "/api/v1/audit?action=article.approve", walks={None}, headers=editor)
    # ``since`` (and ``until``): one seek of the time index each, then the page by sequence
    # from there; times never go back along the chain, so nothing is sorted.
    for url in ("/api/v1/audit?since=2000-01-01T00:00:00Z",
                "/api/v1/audit?since=2999-01-01T00:00:00Z",
                "/api/v1/audit?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
                "/api/v1/audit?since=2000-01-01T00:00:00Z&limit=2&cursor=audit_2",
                "/api/v1/audit?since=2000-01-01T00:00:00Z&action=article.approve"):
        explain(client, url, walks={None}, headers=editor)


def test_api_audit_since_page_has_one_lower_bound_on_the_sequence(
        client: Any, filled: Any, bearer: Any, shared_db: Any) -> None:
    """A ``since`` page after a cursor starts its walk at the later of the cursor and the
    first event at or after ``since``, given as one bound: with two (``seq > cursor AND
    seq >= first``) SQLite's planner starts from one and filters to the other, walking
    every event in between (500,000 at a million events) under the same plan text."""
    editor = bearer("editor")
    with captured(shared_db) as statements:
        response = client.get("/api/v1/audit?since=2000-01-01T00:00:00Z&limit=2"
                              "&cursor=audit_2", headers=editor)
    assert response.status_code == 200 and response.json["items"][0]["seq"] == 3
    pages = [st for st, _ in statements if re.search(r"FROM audit_events\s", st)
             and "ORDER BY audit_events.seq" in st]
    assert pages, statements
    for st in pages:
        where = st.split("WHERE", 1)[1]
        assert len(re.findall(r"audit_events\.seq >", where)) == 1, st


def test_api_audit_since_read_through_the_time_index(
        client: Any, filled: Any, bearer: Any, explain: Callable[..., None],
        monkeypatch: pytest.MonkeyPatch, shared_db: Any) -> None:
    """In a log written before times were kept in order (events before the head's
    ``ordered_from``), read by time (forced here; chosen when fewer events follow
    ``since`` than precede it), a page's events are picked from
    ``ix_audit_events_at_seq``'s entries alone, then fetched by sequence."""
    from sqlalchemy import text

    from review_flow.api import audit_routes

    monkeypatch.setattr(audit_routes, "INDEX_ENTRY_COST",
                        dict.fromkeys(("sqlite", "postgresql"), 0))
    monkeypatch.setattr(audit_routes, "NEAR", 1)
    editor = bearer("editor")
    with shared_db.transaction() as s:  # the whole log as an old one
        s.execute(text("UPDATE audit_chain_head SET ordered_from = seq + 1"))
    try:
        for url in ("/api/v1/audit?since=2000-01-01T00:00:00Z",
                    "/api/v1/audit?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
                    "/api/v1/audit?since=2000-01-01T00:00:00Z&limit=2&cursor=audit_2"):
            explain(client, url, walks={None}, may_sort=True, headers=editor)
    finally:
        with shared_db.transaction() as s:
            s.execute(text("UPDATE audit_chain_head SET ordered_from = 1"))


def test_postgresql_search_tests_the_stored_vector(client: Any, filled: Any, shared_db: Any,
                                                   backend: str) -> None:
    """Walking the list, each title is tested by its stored ``title_search``: computing
    ``to_tsvector`` per row cost 10 µs a row (PERFORMANCE.md)."""
    if backend != "postgresql":
        pytest.skip("the stored tsvector is PostgreSQL's; SQLite searches FTS5")
    with captured(shared_db) as statements:
        assert client.get("/?q=heart").status_code == 200
    searching = [s for s, _ in statements if "@@" in s]
    assert searching and not any("to_tsvector" in s for s in searching), searching


ADMIN_TABLES = ("api_tokens", "webhooks", "outbox_messages", "outbox_attempts", "users")


def test_admin_token_and_webhook_lists_read_by_index(
        as_role: Any, filled: Any, bearer: Any, db: Any, people: Any,
        explain: Callable[..., None]) -> None:
    """Tokens and endpoints are few today, but nothing stops a pipeline per customer: each
    page walks its primary key from the position (None: SQLite's rowid), an owner's
    tokens ``ix_api_tokens_user_id_id``; the newest delivery of each endpoint is a probe."""
    from tests.support.webhook_config import register

    with db.transaction() as session:
        user = session.merge(people["admin"].user, load=True)
        for i in range(3):
            register(session, url=f"http://127.0.0.1:9/hook/{i}", events=["*"],
                     created_by=user)
    admin = as_role("admin").client
    for url in ("/admin/tokens", "/admin/tokens?before=2", "/admin/webhooks",
                "/admin/webhooks?before=2"):
        explain(admin, url, walks={None}, tables=ADMIN_TABLES)
    editor, author = bearer("admin"), bearer("author")
    for url in ("/api/v1/tokens?limit=1", "/api/v1/webhooks?limit=1",
                "/api/v1/tokens?limit=1&cursor=tokens_1",
                "/api/v1/webhooks?limit=1&cursor=webhooks_1"):
        explain(admin, url, walks={None}, headers=editor, tables=ADMIN_TABLES)
    for url in ("/api/v1/tokens?limit=1", "/api/v1/tokens?limit=1&cursor=tokens_1"):
        explain(admin, url, walks={"ix_api_tokens_user_id_id"}, headers=author,
                tables=ADMIN_TABLES)


PEOPLE_TABLES = ("users", "user_roles", "user_invitations")


def test_people_pages_read_by_index(as_role: Any, people: Any, db: Any,
                                    explain: Callable[..., None],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The roster walks the e-mail key's unique index from the position, a page at a time;
    a person's page reads their roles and open invitation by the person's id."""
    from review_flow.users import invitations
    from review_flow.users import service as users
    from review_flow.web import people as people_views
    from tests.support.webhook_config import TEST_WEBHOOKS

    monkeypatch.setattr(people_views, "PAGE", 2)
    with db.transaction() as session:
        invited = users.add_user(session, email="ivy@example.org", name="Ivy Invitee",
                                 roles=["reviewer"], password=None)
        invitations.invite(session, invited, seal=TEST_WEBHOOKS.box.seal,
                           lifetime=invitations.DEFAULT_LIFETIME,
                           now=invited.created_at, invited_by=None)
    admin = as_role("admin").client
    for url in ("/admin/people", "/admin/people?after=editor%40example.org",
                f"/admin/people/{invited.id}"):
        # SQLite names the unique constraint's index sqlite_autoindex_users_1.
        explain(admin, url, walks={"uq_users_email_key", "sqlite_autoindex_users_1"},
                tables=PEOPLE_TABLES)


def test_audit_log_action_and_state_seek_both_ranges(
        as_role: Any, filled: Any, shared_db: Any, backend: str) -> None:
    """Action and state together: each of the state's two ranges (left it, entered it) is
    one seek of an (action, state, at, seq) index (migration 0032). Through a state index
    alone, a combination that is rare though each part is common (a submit that entered
    ``changes_requested``: never) read every event of the state in the time range."""
    auditor = as_role("auditor").client
    for url in ("/audit?action=article.submit&state=draft&since=2000-01-01T00:00:00Z",
                "/audit?action=article.submit&state=draft&before=1764500000000000-5"):
        with captured(shared_db) as statements:
            assert auditor.get(url).status_code == 200
        pages = [(st, p) for st, p in statements if "from_state" in st and "UNION" in st]
        assert pages, statements
        used: set[str] = set()
        with shared_db.engine.connect() as conn:
            for st, p in pages:
                if backend == "sqlite":
                    plan = " ".join(r[3] for r in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + st, p))
                else:
                    conn.exec_driver_sql("SET enable_seqscan = off")
                    plan = json.dumps(conn.exec_driver_sql(
                        "EXPLAIN (FORMAT JSON) " + st, p).scalar())
                    conn.exec_driver_sql("RESET enable_seqscan")
                used |= set(re.findall(r"ix_audit_events_action_(?:from|to)_state_at_seq", plan))
        assert used == {"ix_audit_events_action_from_state_at_seq",
                        "ix_audit_events_action_to_state_at_seq"}, (url, plan)
