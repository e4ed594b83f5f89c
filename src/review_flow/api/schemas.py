"""Declared request and response shapes. Requests are validated from these (spectree +
pydantic) and the OpenAPI document at ``/api/v1/openapi.json`` is generated from them, so
the contract and the checks cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from review_flow.articles.comments import MAX_COMMENT
from review_flow.articles.content import MAX_BODY, MAX_REFERENCES, MAX_TITLE, Generator, Reference
from review_flow.notifications.webhooks import WEBHOOK_EVENTS
from review_flow.workflow.definition import STATES, USER_ACTIONS

MAX_PAGE = 100
WEBHOOK_EVENT_CHOICES = (*WEBHOOK_EVENTS, "*")


def _plain_text(value: str) -> str:
    """No NUL (PostgreSQL refuses it in text) and no lone surrogates (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _utc(value: datetime) -> datetime:
    """An instant in UTC; a zone-less time is taken as UTC. One that has no UTC form
    (0001-01-01T00:00:00+05:00 is before year 1 there) is refused, not a crash."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates in UTC (years 1 to 9999)") from None


Text = Annotated[str, Field(strict=True), AfterValidator(_plain_text)]
UtcTime = Annotated[datetime, AfterValidator(_utc)]
State = Literal[STATES]  # type: ignore[valid-type]
Version = Annotated[StrictInt, Field(ge=1, le=2_147_483_647)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------


class ArticleCreate(_In):
    """A new draft. ``generator`` records which pipeline and model wrote it."""

    title: Annotated[Text, Field(min_length=1, max_length=MAX_TITLE)]
    body: Annotated[Text, Field(max_length=MAX_BODY)]
    references: list[Reference] = Field(default_factory=list, max_length=MAX_REFERENCES)
    generator: Generator | None = None


class ArticleUpdate(ArticleCreate):
    """New text for an article: a new revision. ``expected_version`` (or ``If-Match``)
    makes the save fail with 409 if someone else changed the article first."""

    expected_version: Version | None = None


class ActionRequest(_In):
    comment: Annotated[Text, Field(max_length=MAX_COMMENT)] | None = None
    expected_version: Version | None = None
    # Conflict-of-interest declaration with an approval: "none", or a description.
    conflict: Annotated[Text, Field(max_length=2000)] | None = None


class ArticleQuery(_In):
    state: State | None = None
    cursor: Annotated[Text, Field(max_length=200)] | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class PageQuery(_In):
    cursor: Annotated[Text, Field(max_length=200)] | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class AuditQuery(PageQuery):
    actor: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="user id of the actor"
    )
    action: Annotated[Text, Field(max_length=64)] | None = None
    since: UtcTime | None = Field(default=None, description="events at or after (ISO 8601)")
    until: UtcTime | None = Field(default=None, description="events before (ISO 8601)")


class WebhookCreate(_In):
    url: Annotated[Text, Field(min_length=1, max_length=2000)]
    events: list[Literal[WEBHOOK_EVENT_CHOICES]] = Field(  # type: ignore[valid-type]
        min_length=1
    )
    description: Annotated[Text, Field(max_length=200)] | None = None
    secret: Annotated[Text, Field(min_length=16, max_length=200)] | None = None


class WebhookUpdate(_In):
    url: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None
    events: list[Literal[WEBHOOK_EVENT_CHOICES]] | None = Field(  # type: ignore[valid-type]
        default=None, min_length=1
    )
    active: StrictBool | None = None


class SecretRoll(_In):
    secret: Annotated[Text, Field(min_length=16, max_length=200)] | None = Field(
        default=None, description="the new signing secret; generated when left out"
    )
    grace_hours: StrictInt = Field(
        default=24,
        ge=0,
        le=168,
        description="hours the old secret keeps signing beside the new one (0 after a leak)",
    )


class TokenCreate(_In):
    user_email: Annotated[Text, Field(min_length=3, max_length=320)]
    name: Annotated[Text, Field(max_length=100)] | None = None


class NotificationSettings(_In):
    email: dict[Annotated[Text, Field(max_length=64)], StrictBool]


# --- responses --------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Person(BaseModel):
    id: int
    name: str


class RevisionRef(BaseModel):
    number: int
    content_hash: str


class Approval(BaseModel):
    reviewer: str
    signed_at: str
    content_hash: str
    meaning: str


class Content(BaseModel):
    """The current revision's text, with its provenance."""

    revision: int
    content_hash: str
    title: str
    body: str
    references: list[dict[str, Any]]
    generator: dict[str, Any] | None


class Article(BaseModel):
    id: int
    slug: str
    title: str | None
    state: State
    version: int
    author: Person
    current_revision: RevisionRef | None
    approved_revision: RevisionRef | None
    created_at: str
    updated_at: str
    review_due: str | None
    approvals: list[Approval] = []
    allowed_actions: list[str]
    content: Content | None = None


class ArticleSummary(BaseModel):
    id: int
    slug: str
    title: str | None
    state: State
    version: int
    author: Person
    current_revision: RevisionRef | None
    approved_revision: RevisionRef | None
    updated_at: str


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None


class ActionResponse(BaseModel):
    action: Literal[USER_ACTIONS]  # type: ignore[valid-type]
    from_state: State
    to_state: State
    article: Article


class Event(BaseModel):
    """One audit event, the same shape as ``review-flow audit export``."""

    seq: int
    at: str
    actor: str
    actor_id: int | None
    action: str
    object_type: str
    object_id: str | None
    article_id: int | None
    from_state: str | None
    to_state: str | None
    revision: int | None
    content_hash: str | None
    comment: str | None
    workflow_version: str | None
    policy_version: int | None
    request_id: str | None
    client_addr: str | None
    data: dict[str, Any] | None
    prev_hash: str
    hash: str


class EventList(BaseModel):
    items: list[Event]
    next_cursor: str | None


class RevisionOut(BaseModel):
    number: int
    content_hash: str
    title: str
    body: str
    references: list[dict[str, Any]]
    generator: dict[str, Any] | None
    author: Person
    created_at: str


class RevisionList(BaseModel):
    items: list[RevisionOut]
    next_cursor: str | None


class Webhook(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[str]
    active: bool
    created_at: str
    secret: str | None = Field(default=None, description="only in the answer that creates it")
    previous_secret_signs_until: str | None = Field(
        default=None,
        description="while a rolled secret's grace period lasts, when it ends: deliveries "
        "carry its signature beside the new one until then",
    )


class WebhookList(BaseModel):
    items: list[Webhook]
    next_cursor: str | None


class DeliveryAttempt(BaseModel):
    attempt: int
    at: str
    ok: bool
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int


class Delivery(BaseModel):
    message_id: str
    event: str
    status: Literal["pending", "sent", "dead", "cancelled"]
    attempts: list[DeliveryAttempt]
    created_at: str
    sent_at: str | None
    last_error: str | None


class DeliveryList(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


class Redriven(BaseModel):
    requeued: int = Field(description="dead deliveries made pending again, due now")


class Token(BaseModel):
    id: int
    name: str
    prefix: str
    user: Person
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    token: str | None = Field(default=None, description="the secret; only when created")


class TokenList(BaseModel):
    items: list[Token]
    next_cursor: str | None


class Me(BaseModel):
    id: int
    name: str
    email: str
    roles: list[str]
    via_token: bool
    notifications: NotificationSettingsOut


class NotificationSettingsOut(BaseModel):
    email: dict[str, bool]


Me.model_rebuild()
