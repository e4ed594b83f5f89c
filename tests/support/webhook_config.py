"""Webhook settings for tests: receivers listen on loopback, which production refuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from review_flow.notifications import webhooks
from review_flow.notifications.models import Webhook

LOOPBACK = "127.0.0.0/8,::1/128"
# The same SECRET_KEY as the ``app`` fixture: secrets sealed by the app open here.
TEST_WEBHOOKS = webhooks.WebhookConfig.from_config(
    {"SECRET_KEY": "test-secret", "WEBHOOK_ALLOWED_NETWORKS": LOOPBACK}
)


def register(session: Session, **kwargs: Any) -> Webhook:
    """``webhooks.create_webhook`` with the test settings; the new endpoint."""
    return webhooks.create_webhook(session, TEST_WEBHOOKS, **kwargs).webhook
