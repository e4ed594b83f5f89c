"""Declared request and response shapes. Requests are validated from these (spectree +
pydantic) and the OpenAPI document at ``/api/v1/openapi.json`` is generated from them, so
the contract and the checks cannot drift apart."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from review_flow.api import idempotency, pagination
from review_flow.api.error_codes import ERROR_CODES
from review_flow.articles import content
from review_flow.articles.comments import MAX_COMMENT
from review_flow.articles.content import MAX_BODY, MAX_REFERENCES, MAX_TITLE
from review_flow.notifications import webhooks
from review_flow.notifications.kinds import EMAIL_KINDS
from review_flow.notifications.webhooks import WEBHOOK_EVENTS
from review_flow.users.roles import ROLE_NAMES
from review_flow.workflow.definition import STATES, USER_ACTIONS

MAX_PAGE = 100
WEBHOOK_EVENT_CHOICES = (*WEBHOOK_EVENTS, "*")
WebhookEvent = Literal[WEBHOOK_EVENT_CHOICES]  # type: ignore[valid-type]
IF_MATCH_PATTERN = r'^(\*|(W/)?"v[0-9]{1,10}")$'
# whsec_ + the base64 of 24 to 64 bytes (Standard Webhooks), padded: what
# ``webhooks.standard_key`` accepts, exactly.
_B64 = "[A-Za-z0-9+/]"
WEBHOOK_SECRET_PATTERN = (
    f"^whsec_(?:(?:{_B64}{{4}}){{8,21}}(?:{_B64}{{2}}==)?|(?:{_B64}{{4}}){{8,20}}{_B64}{{3}}=)$"
)


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
    (0001-01-01T00:00:00+05:00 is before year 1 there) is the first or last instant UTC
    has: every date-time the document allows is answered, and no event is that early
    or late."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


# Text without NUL (PostgreSQL refuses it): said in the document as a pattern, checked
# by it (and again by ``_plain_text``, which also refuses lone surrogates).
NO_NUL = r"^[^\x00]*$"
# Text with something besides white space (which is trimmed from reference and generator
# fields when stored).
NOT_BLANK = f"^[^\\x00]*{content.NOT_SPACE}[^\\x00]*$"
Text = Annotated[str, Field(strict=True, pattern=NO_NUL), AfterValidator(_plain_text)]
UtcTime = Annotated[datetime, AfterValidator(_utc)]
State = Literal[STATES]  # type: ignore[valid-type]
def _json_integer(value: Any) -> Any:
    """A JSON integer as JSON Schema has it: 3 and 3.0 are the same number, 3.5, "3" and
    true are not integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647), BeforeValidator(_json_integer)]


def _decimal(value: Any) -> Any:
    """A query argument declared integer is decimal digits: ``111.0`` or `` 5`` are not."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in digits, such as 50")
    return value


QueryInt = Annotated[int, BeforeValidator(_decimal)]


def _cursor(kind: str) -> Any:  # a type: mypy sees Any
    return Annotated[
        str | None,
        Field(
            default=None,
            pattern=pagination.pattern(kind),
            description="next_cursor from the previous page of this list",
        ),
    ]


# What a pattern means, for the message naming a field that does not match it.
PATTERN_RULES: dict[str, str] = {
    NO_NUL: "must not contain NUL characters",
    NOT_BLANK: "must contain more than white space, and no NUL characters",
    WEBHOOK_SECRET_PATTERN: f"must be {webhooks.SECRET_RULE}",
    content.URL_PATTERN: "must be an http(s) URL",
    content.DOI_PATTERN: "must look like 10.1234/abc",
    r"^[0-9]{1,9}$": "must be digits only",
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Headers(BaseModel):
    """Request headers: only the declared ones are read, any others are let through."""

    model_config = ConfigDict(extra="ignore")


IDEMPOTENCY_KEY = Annotated[
    str | None,
    Field(
        default=None,
        alias=idempotency.HEADER,
        pattern=idempotency.KEY_PATTERN,
        description="Makes a POST safe to retry: a retry with the same key and body answers "
        "the first response again (with Idempotent-Replayed: true) and changes nothing; the "
        "same key with another body is refused (422 idempotency_key_reused). 1 to 255 "
        "printable ASCII characters, no spaces; keys are kept per user for 24 hours.",
    ),
]
IF_MATCH = Annotated[
    str | None,
    Field(
        default=None,
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='The ETag of the version this change was made against, e.g. "v3" '
        "(or expected_version in the body); if the article changed since, 409 conflict with "
        'the current version. "*" matches any version.',
    ),
]


class IdempotentHeaders(_Headers):
    idempotency_key: IDEMPOTENCY_KEY


class ConditionalHeaders(_Headers):
    if_match: IF_MATCH


class ActionHeaders(_Headers):
    idempotency_key: IDEMPOTENCY_KEY
    if_match: IF_MATCH


# --- requests ---------------------------------------------------------------------------



class Reference(content.Reference):
    """One cited source: a title and at least one of url, doi, pmid (``minProperties``:
    the title and one of them; a locator is a string when present, never null). White
    space around a title is trimmed when stored; url, doi and pmid have none (patterns)."""

    model_config = ConfigDict(str_strip_whitespace=False, json_schema_extra={"minProperties": 2})

    title: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)
    url: str = Field(  # type: ignore[assignment]
        default=None, max_length=2000, pattern=content.URL_PATTERN,
        description="an http or https URL",
    )
    doi: str = Field(  # type: ignore[assignment]
        default=None, max_length=200, pattern=content.DOI_PATTERN,
        description="a DOI such as 10.1000/xyz123",
    )
    pmid: str = Field(  # type: ignore[assignment]
        default=None, max_length=12, pattern=r"^[0-9]{1,9}$", description="a PubMed id"
    )


class Generator(content.Generator):
    """Provenance of a machine-written draft: which pipeline (and model, version). White
    space around each is trimmed when stored."""

    model_config = ConfigDict(str_strip_whitespace=False)

    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)
    model: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    version: str | None = Field(default=None, max_length=100, pattern=NO_NUL)




class ArticleCreate(_In):
    """A new draft. ``generator`` records which pipeline and model wrote it."""

    title: Annotated[Text, Field(min_length=1, max_length=MAX_TITLE)] = Field(
        description="Stored with each run of white space made one space (none at either "
        "end) and in Unicode NFC."
    )
    body: Annotated[Text, Field(max_length=MAX_BODY)] = Field(
        description="Markdown; cite references as [1], [2]. Stored as sent, except that CRLF "
        "line ends become LF and the text is put in Unicode NFC: nothing is trimmed or "
        "appended. The revision's content_hash is the SHA-256 of the canonical JSON "
        '{"body":…,"references":[…],"title":…} of the stored text (README, "Content hash").'
    )
    professional_body: Annotated[Text, Field(max_length=MAX_BODY)] | None = Field(
        default=None,
        description="The same article written for healthcare professionals (Markdown, citing "
        "the same references), shown to readers who say they are one; stored as body is. "
        "Absent, null or blank: the revision has one text, for everyone. When present it "
        'is part of the content hash: {"body":…,"professional_body":…,"references":[…],'
        '"title":…}. A PUT replaces it too: leave it out to remove it.',
    )
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
    checklist: dict[str, Literal["yes", "no", "not_applicable"]] | None = Field(
        default=None, max_length=100,
        description="With an approval: the round's checklist, each item (its text as the "
        "round's policy version puts it) answered yes, no or not_applicable. An item left "
        "out, or answered no, refuses the approval (422 checklist_unanswered / "
        "checklist_answered_no); an item the checklist does not have is 422 "
        "unknown_checklist_item.")


class ArticleQuery(_In):
    state: State | None = None
    cursor: _cursor("articles")  # type: ignore[valid-type]
    limit: QueryInt = Field(default=50, ge=1, le=MAX_PAGE)


class _Page(_In):
    limit: QueryInt = Field(default=50, ge=1, le=MAX_PAGE)


class HistoryQuery(_Page):
    cursor: _cursor("history")  # type: ignore[valid-type]


class RevisionQuery(_Page):
    cursor: _cursor("revisions")  # type: ignore[valid-type]


class ThreadQuery(_Page):
    cursor: _cursor("threads")  # type: ignore[valid-type]


class TokenQuery(_Page):
    cursor: _cursor("tokens")  # type: ignore[valid-type]


class WebhookQuery(_Page):
    cursor: _cursor("webhooks")  # type: ignore[valid-type]


class DeliveryQuery(_Page):
    cursor: _cursor("deliveries")  # type: ignore[valid-type]


class AuditQuery(_Page):
    cursor: _cursor("audit")  # type: ignore[valid-type]
    actor: Annotated[int, Field(ge=1, le=2_147_483_647), BeforeValidator(_decimal)] | None = Field(
        default=None, description="user id of the actor"
    )
    action: Annotated[Text, Field(max_length=64)] | None = None
    since: UtcTime | None = Field(default=None, description="events at or after (ISO 8601)")
    until: UtcTime | None = Field(default=None, description="events before (ISO 8601)")


WEBHOOK_URL = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=2000,
        pattern=content.URL_PATTERN,
        description="an http or https URL the server may reach (see egress in DEPLOYMENT.md)",
    ),
    AfterValidator(_plain_text),
]
WEBHOOK_SECRET = Annotated[
    str,
    Field(
        strict=True,
        pattern=WEBHOOK_SECRET_PATTERN,
        description="whsec_ followed by base64 (Standard Webhooks): the key is the decoded "
        "bytes, at least 24 of them",
    ),
    AfterValidator(_plain_text),
]


class ThreadOpen(_In):
    """Open a comment thread on the article's current revision. ``paragraph`` (numbered
    from 1: the body's top-level Markdown blocks) anchors it, to the whole paragraph or to
    the passage ``quote`` (which must be in it) or ``start``/``end`` (character offsets in
    the paragraph's Markdown); without ``paragraph`` it is about the whole article.
    ``blocking`` (reviewers only) holds back approval until the thread is resolved.
    ``expected_revision``: the revision number the paragraph numbers were read from; the
    thread is refused (409) if the text changed since."""

    body: Annotated[Text, Field(max_length=MAX_COMMENT)]
    paragraph: Annotated[int, Field(ge=1, le=1_000_000),
                         BeforeValidator(_json_integer)] | None = None
    quote: Annotated[Text, Field(max_length=5_000)] | None = None
    start: Annotated[int, Field(ge=0, le=100_000_000),
                     BeforeValidator(_json_integer)] | None = None
    end: Annotated[int, Field(ge=1, le=100_000_000),
                   BeforeValidator(_json_integer)] | None = None
    blocking: StrictBool = False
    expected_revision: Version | None = None


class ThreadReply(_In):
    """A reply to a thread (open or resolved; replying does not change its state)."""

    body: Annotated[Text, Field(max_length=MAX_COMMENT)]


class WebhookCreate(_In):
    url: WEBHOOK_URL
    events: list[WebhookEvent] = Field(min_length=1)
    description: Annotated[Text, Field(max_length=200)] | None = None
    secret: WEBHOOK_SECRET | None = Field(
        default=None, description="the signing secret; generated when left out"
    )


class WebhookUpdate(_In):
    url: WEBHOOK_URL | None = None
    events: list[WebhookEvent] | None = Field(default=None, min_length=1)
    active: StrictBool | None = None


class SecretRoll(_In):
    secret: WEBHOOK_SECRET | None = Field(
        default=None, description="the new signing secret; generated when left out"
    )
    grace_hours: JsonInt = Field(
        default=24,
        ge=0,
        le=168,
        description="hours the old secret keeps signing beside the new one (0 after a leak)",
    )


class TokenCreate(_In):
    user_email: Annotated[Text, Field(min_length=3, max_length=320)]
    name: Annotated[Text, Field(max_length=100)] | None = None


EmailSettings = create_model(
    "EmailSettings",
    __base__=_In,
    __doc__="Kinds of e-mail to turn on (true) or off (false); kinds left out keep their "
    "setting.",
    **{kind: (StrictBool, None) for kind in EMAIL_KINDS},  # type: ignore[call-overload]
)


class NotificationSettings(_In):
    email: EmailSettings  # type: ignore[valid-type]


# --- responses --------------------------------------------------------------------------
# Every field is typed (timestamps are ``date-time``, closed sets are enums) so that a
# generated client parses an answer into its own types. Each class name is its component
# name in the document (``naming``): keep them unique.

ErrorCode = Literal[ERROR_CODES]  # type: ignore[valid-type]
Action = Literal[USER_ACTIONS]  # type: ignore[valid-type]
RoleName = Literal[ROLE_NAMES]  # type: ignore[valid-type]


class Problem(BaseModel):
    """One reason a workflow guard refused an action."""

    model_config = ConfigDict(extra="allow")

    code: ErrorCode
    message: str


class ErrorDetails(BaseModel):
    """What a program needs to act on an error; which keys appear depends on ``code``.
    Keys not listed here may be added (additional properties)."""

    model_config = ConfigDict(extra="allow")

    fields: dict[str, str] | None = Field(
        default=None, description="each refused input (a body path, query argument or header) "
        "and what is wrong with it"
    )
    current_version: int | None = Field(
        default=None, description="409 conflict: the article's version now (retry with it)"
    )
    expected_version: int | None = None
    state: str | None = Field(default=None, description="the article's state now")
    allowed_actions: list[str] | None = Field(
        default=None, description="the actions the token's user may take now"
    )
    actions: list[str] | None = None
    action: str | None = None
    changes: list[dict[str, Any]] | None = Field(
        default=None, description="409 conflict: what changed the article since that version"
    )
    problems: list[Problem] | None = Field(
        default=None, description="a refused action: every problem of the attempt, the "
        "first being the error's own code (a signature's password, credentials, conflict "
        "of interest and each workflow guard), so a client can show them all at once"
    )
    allowed_methods: list[str] | None = Field(default=None, description="405: also in Allow")
    roles: list[str] | None = None
    role: str | None = None
    rule: str | None = None
    article_id: int | None = None
    limit: int | str | None = Field(
        default=None, description="413: the body limit in bytes; 429: the rate limit broken"
    )
    policy: str | None = Field(default=None, description="429: token or address")
    retry_after: int | None = Field(default=None, description="429: seconds, as Retry-After")
    locked_until: datetime | None = None
    threads: list[int] | None = Field(
        default=None, description="blocking_threads_open: the open blocking threads' ids")


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str
    details: ErrorDetails


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
    signed_at: datetime
    content_hash: str
    meaning: str


class ReferenceOut(BaseModel):
    """A cited source as stored: a title and at least one of url, doi, pmid."""

    title: str
    url: str | None = None
    doi: str | None = None
    pmid: str | None = None


class GeneratorOut(BaseModel):
    """Which pipeline and model wrote a revision."""

    name: str
    model: str | None = None
    version: str | None = None


class Content(BaseModel):
    """The current revision's text, with its provenance."""

    revision: int
    content_hash: str
    title: str
    body: str
    # The text for healthcare professionals; null when the revision has one text.
    professional_body: str | None = None
    references: list[ReferenceOut]
    generator: GeneratorOut | None


class Article(BaseModel):
    id: int
    slug: str
    title: str | None
    state: State
    version: int
    author: Person
    current_revision: RevisionRef | None
    approved_revision: RevisionRef | None
    created_at: datetime
    updated_at: datetime
    review_due: datetime | None
    approvals: list[Approval] = []
    allowed_actions: list[Action]
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
    updated_at: datetime


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None


class ActionResponse(BaseModel):
    action: Action
    from_state: State
    to_state: State
    article: Article


class Event(BaseModel):
    """One audit event, the same shape as ``review-flow audit export``. States and
    actions are text: the log keeps what was true when the event was written."""

    seq: int
    at: datetime
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
    professional_body: str | None = None
    references: list[ReferenceOut]
    generator: GeneratorOut | None
    author: Person
    created_at: datetime


class RevisionList(BaseModel):
    items: list[RevisionOut]
    next_cursor: str | None


class ThreadAnchor(BaseModel):
    """Where the thread was opened: the revision, paragraph and quoted passage."""

    revision: int
    paragraph: int | None
    quote: str | None
    start: int | None
    end: int | None


class ThreadPlace(BaseModel):
    """Where the thread sits on the current revision (``exact`` false: the passage was
    reworded and this is the nearest paragraph)."""

    revision: int
    paragraph: int
    start: int | None
    end: int | None
    exact: bool


class ThreadMessageOut(BaseModel):
    id: int
    author: Person
    body: str = Field(description="Markdown, as written")
    revision: int = Field(description="the article's current revision when it was written")
    created_at: datetime


class ThreadChange(BaseModel):
    change: Literal["resolve", "reopen"]
    by: str
    revision: int
    at: datetime


class Thread(BaseModel):
    id: int
    article_id: int
    state: Literal["open", "resolved"]
    blocking: bool
    opened_by: Person
    opened_at: datetime
    anchor: ThreadAnchor
    current: ThreadPlace | None = Field(
        description="null when outdated (its passage is not in the current revision) or "
        "about the whole article")
    outdated: bool
    messages: list[ThreadMessageOut]
    history: list[ThreadChange]


class ThreadList(BaseModel):
    items: list[Thread]
    next_cursor: str | None


class Webhook(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[WebhookEvent]
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="only in the answer that creates it")
    previous_secret_signs_until: datetime | None = Field(
        default=None,
        description="while a rolled secret's grace period lasts, when it ends: deliveries "
        "carry its signature beside the new one until then",
    )


class WebhookList(BaseModel):
    items: list[Webhook]
    next_cursor: str | None


class DeliveryAttempt(BaseModel):
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int


class Delivery(BaseModel):
    message_id: str
    event: str
    # A webhook delivery's statuses: the e-mail-only "to_expand" and "expanded" (the
    # board's audience rows, outbox/models.py) never apply to one.
    status: Literal["pending", "sent", "dead", "cancelled"]
    attempts: list[DeliveryAttempt]
    created_at: datetime
    sent_at: datetime | None
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
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    token: str | None = Field(default=None, description="the secret; only when created")


class TokenList(BaseModel):
    items: list[Token]
    next_cursor: str | None


EmailSettingsOut = create_model(
    "EmailSettingsOut",
    __doc__="Each kind of e-mail: true when the person receives it.",
    **{kind: (bool, ...) for kind in EMAIL_KINDS},  # type: ignore[call-overload]
)


class NotificationSettingsOut(BaseModel):
    email: EmailSettingsOut  # type: ignore[valid-type]


class Me(BaseModel):
    id: int
    name: str
    email: str
    roles: list[RoleName]
    via_token: bool
    notifications: NotificationSettingsOut
