"""Query budgets for the hot path, pinned so an N+1 or a stray reload fails the suite."""

from __future__ import annotations

from review_flow.articles import service as articles
from tests.conftest import PASSWORD
from tests.core.helpers import BODY, REFS


def _cycle(db, author, reviewer) -> None:
    with db.transaction() as s:
        aid = articles.create_article(s, author, title="Cycle", body=BODY, references=REFS).id
    for actor, action in ((author, "submit"), (reviewer, "start_review"), (reviewer, "approve")):
        with db.transaction() as s:
            articles.perform_action(s, actor, aid, action, password=PASSWORD)


NOTIFICATION_TABLES = ("webhooks", "outbox_messages", "email_opt_outs")


def test_one_full_cycle_query_budget(db, people, count_queries):
    """Workflow and audit: at most 20 statements a cycle (6 to create). Notifications add a
    webhook lookup per change and recipients + one INSERT when mail goes out (8 a cycle,
    pinned in tests/outbox/test_enqueue.py), 28 in all."""
    author, reviewer = people["author"], people["reviewer"]
    _cycle(db, author, reviewer)  # warm the per-process policy cache
    with count_queries() as q:
        with db.transaction() as s:
            aid = articles.create_article(s, author, title="Cycle", body=BODY, references=REFS).id
        create = q.count
        with db.transaction() as s:
            articles.perform_action(s, author, aid, "submit")
        with db.transaction() as s:
            articles.perform_action(s, reviewer, aid, "start_review")
        with db.transaction() as s:
            articles.perform_action(s, reviewer, aid, "approve", password=PASSWORD)

    def core(statements: list[str]) -> list[str]:
        return [st for st in statements if not any(t in st for t in NOTIFICATION_TABLES)
                and "FROM users JOIN user_roles" not in st and "FROM users \nWHERE" not in st]

    assert len(core(q.statements[:create])) <= 6, q.statements[:create]
    assert len(core(q.statements)) <= 20, "\n".join(core(q.statements))
    assert q.count <= 28, "\n".join(q.statements)
