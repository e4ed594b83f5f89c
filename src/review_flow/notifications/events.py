"""The events a webhook may subscribe to: the audit actions on articles, so the
vocabulary is the log's. A module of its own so the CLI can name them without loading
the webhook machinery (see cli.py on start-up)."""

from __future__ import annotations

from review_flow.workflow.definition import USER_ACTIONS

WEBHOOK_EVENTS: tuple[str, ...] = (
    "article.create",
    "article.edit",
    *(f"article.{a}" for a in USER_ACTIONS),
)
