"""The events a webhook may subscribe to. A module of its own so the CLI can name them
without loading the webhook machinery (see cli.py on start-up).

Article events are the audit actions on articles, so the vocabulary is the log's; and
``page.changed``: an article's public page (and the index) may read differently now, so
a CDN in front should purge them. It goes only to endpoints that chose it by name ("*"
means every article event): a purge hook is a different receiver from an integration.
"""

from __future__ import annotations

from review_flow.workflow.definition import USER_ACTIONS

PAGE_CHANGED = "page.changed"
ARTICLE_EVENTS: tuple[str, ...] = (
    "article.create",
    "article.edit",
    *(f"article.{a}" for a in USER_ACTIONS),
)
WEBHOOK_EVENTS: tuple[str, ...] = (*ARTICLE_EVENTS, PAGE_CHANGED)
