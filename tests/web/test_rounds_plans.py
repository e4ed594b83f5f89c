"""The board's lists read by index on SQLite and PostgreSQL (see test_list_plans.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_list_plans import explain, filled  # noqa: F401  (fixtures)

TABLES = ("articles", "revisions", "audit_events", "review_assignments")


@pytest.fixture
def assigned(story: Any, people: Any, filled: Any) -> dict[str, int]:  # noqa: F811
    from review_flow.rounds import assignments

    with story.db.transaction() as s:
        for key in ("submitted", "under_review"):
            from review_flow.users import service as users

            assignments.assign(s, people["editor"], filled[key],
                               users.get_by_email(s, "okafor@example.org"))
    return filled


def test_queue_views_read_by_index(as_role: Any, assigned: Any,
                                   explain: Any) -> None:  # noqa: F811
    reviewer = as_role("reviewer2").client
    walks = {"ix_review_assignments_reviewer_open", "ix_review_assignments_open_due"}
    explain(reviewer, "/review/assigned", walks=walks, tables=TABLES)
    explain(reviewer, "/review/assigned?after=1764500000000000-1", walks=walks, tables=TABLES)
    explain(reviewer, "/review/overdue", walks=walks, tables=TABLES)
    explain(reviewer, "/review/overdue?after=1764500000000000-1", walks=walks, tables=TABLES)
    explain(reviewer, "/review/unassigned", walks={"ix_articles_waiting"}, tables=TABLES)
    explain(reviewer, "/review/unassigned?after=1764500000000000-2",
            walks={"ix_articles_waiting"}, tables=TABLES)


def test_all_articles_reads_by_index(as_role: Any, assigned: Any, people: Any,
                                     explain: Any) -> None:  # noqa: F811
    editor = as_role("editor").client
    okafor = people["reviewer2"].id
    walks = {None, "ix_articles_state_id", "ix_review_assignments_reviewer_article",
             "ix_review_assignments_open_article"}
    for url in ("/editor/articles", "/editor/articles?before=3",
                "/editor/articles?state=submitted", "/editor/articles?state=approved&before=9",
                f"/editor/articles?assignee={okafor}",
                f"/editor/articles?assignee={okafor}&state=submitted&due=2099-01-01",
                "/editor/articles?due=2099-01-01", "/editor/articles?due=2099-01-01&before=9"):
        explain(editor, url, walks=walks, tables=TABLES)
