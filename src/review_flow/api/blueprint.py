"""``/api/v1``: thin handlers over the service layer.

Each handler: the request was validated against its declared schema (spectree +
pydantic, which also generate the OpenAPI document), then one unit of work — a write
transaction for POST/PUT (authentication, idempotency record, the change, its audit event
and its outbox rows commit together) or a read-only session for GET.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request, url_for
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import HTTPException

from review_flow.actor import Actor
from review_flow.api import auth, idempotency, pagination
from review_flow.api import schemas as s
from review_flow.api.errors import (
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    error_response,
    from_crash,
    from_domain,
    from_http,
)
from review_flow.app import database, webhook_config
from review_flow.articles import service as articles
from review_flow.articles.models import Article, Revision
from review_flow.audit.export import event_as_dict
from review_flow.audit.models import AuditEvent
from review_flow.errors import NotFound, PermissionDenied, ReviewFlowError, ValidationFailed
from review_flow.notifications import preferences, webhooks
from review_flow.outbox import service as outbox
from review_flow.timeutil import isoformat, utcnow
from review_flow.tokens import service as tokens
from review_flow.tokens.models import ApiToken
from review_flow.users import service as users
from review_flow.users.roles import Role
from review_flow.workflow.definition import USER_ACTIONS

DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
INT_ID = "int(min=1, max=2147483647)"
# Roles that read every article; authors read their own.
READ_ALL_ROLES = frozenset({Role.REVIEWER, Role.EDITOR, Role.AUDITOR, Role.ADMIN})
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.EDITOR, Role.ADMIN})

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _validation_failed(_req: Any, _resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's hook: turn a pydantic error into our 422 naming every failing field."""
    if error is None:
        return
    auth.check_token_only()
    assert isinstance(error, ValidationError)
    fields: dict[str, str] = {}
    for e in error.errors(include_url=False):
        path = ""
        for part in e["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        fields[path or "(body)"] = e["msg"].removeprefix("Value error, ")
    first = next(iter(fields.items()))
    raise ValidationFailed(f"{first[0]}: {first[1]}", fields=fields)


class ResponseDrift(RuntimeError):
    """A handler answered something its declared schema does not allow (a bug)."""


def _response_checked(_req: Any, _resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's after-hook: a response that breaks its schema is our bug, reported as a
    500 in the usual error shape (and logged with the validation errors)."""
    if error is not None:
        raise ResponseDrift(f"response does not match its declared schema: {error}")


spec = SpecTree(
    "flask",
    title="review-flow API",
    description="Drafts, workflow actions, history and the audit log for writing pipelines "
    "and integrations. Authenticate with 'Authorization: Bearer <token>'.",
    version="1",
    path="docs",
    page_templates={},
    mode="strict",
    before=_validation_failed,
    after=_response_checked,
    validation_error_status=422,
    validation_error_model=s.ErrorResponse,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))
    ],
    security={"bearer": []},
)


def _responses(**ok: Any) -> Response:
    """The success models of an endpoint plus every error it can answer, all one shape."""
    errors = {f"HTTP_{c}": s.ErrorResponse for c in (400, 401, 403, 404, 409, 413, 415, 422)}
    return Response(**errors, **ok)


# --- request gate ---------------------------------------------------------------------

_IF_MATCH = re.compile(r'^\s*(?:W/)?"v(\d{1,10})"\s*$')


def _check_json(value: Any, path: str = "") -> None:
    """Refuse what no schema can express: NUL characters and lone surrogates anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            where = path or "(body)"
            raise ValidationFailed(
                f"{where}: must not contain NUL characters", fields={where: "contains NUL"}
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed(
                f"{path or 'body'}: not valid Unicode text", code="malformed_json"
            ) from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_json(k, path)
            _check_json(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]")


@bp.before_request
def _gate() -> None:
    """Size, authentication header and JSON syntax, before any handler or validation."""
    if request.endpoint in (f"{bp.name}.openapi", f"{bp.name}.openapi_docs"):
        return
    limit = int(current_app.config.get("API_MAX_CONTENT_LENGTH") or DEFAULT_MAX_CONTENT_LENGTH)
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request body is over the limit of {limit} bytes.", limit=limit)
    request.max_content_length = limit  # also stops chunked bodies without a length
    auth.bearer()
    if request.method in ("POST", "PUT", "PATCH"):
        data = request.get_data(cache=True)
        if not data.strip():
            return
        if request.mimetype != "application/json":
            auth.check_token_only()
            raise UnsupportedMediaType("Send JSON with 'Content-Type: application/json'.")
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError) as exc:
            auth.check_token_only()
            raise Malformed(f"The body is not valid JSON: {exc}.", code="malformed_json") from None
        try:
            _check_json(parsed)
        except ReviewFlowError:
            auth.check_token_only()
            raise
        g.api_json = parsed  # for the Idempotency-Key fingerprint


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _IF_MATCH.match(raw)
    if not match:
        raise Malformed(
            'If-Match: expected an ETag from this API such as "v3".',
            code="invalid_if_match",
            fields={"If-Match": "invalid"},
        )
    return int(match.group(1))


def _expected_version(body_value: int | None) -> int | None:
    header = _if_match()
    if header is not None and body_value is not None and header != body_value:
        raise Malformed(
            "If-Match and expected_version disagree; send one of them.",
            code="precondition_mismatch",
        )
    return header if header is not None else body_value


def _etag(version: int) -> str:
    return f'"v{version}"'


# --- units of work --------------------------------------------------------------------

Work = Callable[[Session, Actor], idempotency.Stored]


def _write(work: Work, *, idempotent: bool = False) -> Any:
    """One write transaction; with ``Idempotency-Key`` on POST, at most one effect."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER)) if idempotent else None
    replayed = False
    with database(current_app).transaction() as session:
        actor = auth.authenticate(session, writing=True)
        record_id = None
        if key is not None:
            fp = idempotency.fingerprint(request.method, request.path, g.get("api_json"))
            record_id, stored = idempotency.begin(session, actor.id, key, fp)
            if stored is not None:
                answer, replayed = stored, True
        if not replayed:
            answer = work(session, actor)
            if record_id is not None:
                idempotency.finish(session, record_id, answer)
    headers = dict(answer.headers)
    if replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return answer.body, answer.status, headers


def _read(work: Callable[[Session, Actor], Any]) -> Any:
    with database(current_app).reading() as session:
        actor = auth.authenticate(session, writing=False)
        return work(session, actor)


# --- visibility -----------------------------------------------------------------------


def _reads_all(actor: Actor) -> bool:
    return bool(actor.roles & READ_ALL_ROLES)


def _visible_article(session: Session, actor: Actor, article_id: int) -> Article:
    article = articles.get_article(session, article_id)
    if article.author_id != actor.id and not _reads_all(actor):
        # Drafts are not public: do not reveal whether someone else's exists.
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    return article


def _require(actor: Actor, roles: frozenset[str], what: str) -> None:
    if not actor.roles & roles:
        raise PermissionDenied(
            f"{what} requires one of the roles: {', '.join(sorted(roles))}.",
            code="role_required",
            roles=sorted(roles),
        )


# --- shapes ---------------------------------------------------------------------------


def _article_detail(
    session: Session, article: Article, actor: Actor, *, actor_just_wrote: bool = False
) -> dict[str, Any]:
    data = articles.article_as_dict(session, article, actor, actor_just_wrote=actor_just_wrote)
    rev = article.current_revision
    data["content"] = (
        None
        if rev is None
        else {
            "revision": rev.number,
            "content_hash": rev.content_hash,
            "title": rev.title,
            "body": rev.body,
            "references": rev.references,
            "generator": rev.generator,
        }
    )
    return data


def _summary(article: Article) -> dict[str, Any]:
    cur, appr = article.current_revision, article.approved_revision
    return {
        "id": article.id,
        "slug": article.slug,
        "title": cur.title if cur else None,
        "state": article.state,
        "version": article.version,
        "author": {"id": article.author.id, "name": article.author.name},
        "current_revision": cur.summary() if cur else None,
        "approved_revision": appr.summary() if appr else None,
        "updated_at": article.updated_at.isoformat(),
    }




def _page(
    items: list[Any], limit: int, kind: str, key: Callable[[Any], int]
) -> tuple[list[Any], str | None]:
    """Trim the one-extra row we fetched; its presence means there is a next page."""
    if len(items) > limit:
        items = items[:limit]
        return items, pagination.encode(kind, key(items[-1]))
    return items, None


def _article_written(
    session: Session, actor: Actor, article: Article, status: int, *, new_revision: bool
) -> idempotency.Stored:
    return idempotency.Stored(
        status,
        _article_detail(session, article, actor, actor_just_wrote=new_revision),
        {
            "ETag": _etag(article.version),
            "Location": url_for("api.get_article", article_id=article.id),
        },
    )


# --- articles -------------------------------------------------------------------------


@bp.get("/articles")
@spec.validate(query=s.ArticleQuery, resp=_responses(HTTP_200=s.ArticleList), tags=["articles"])
def list_articles(query: s.ArticleQuery) -> Any:
    """List articles, newest first.

    Authors see their own; reviewers, editors, auditors and admins see all. Follow
    ``next_cursor`` (pass it as ``cursor``) until it is null.
    """
    before = pagination.decode(query.cursor, "articles")

    def work(session: Session, actor: Actor) -> Any:
        stmt = (
            select(Article)
            .options(joinedload(Article.current_revision), joinedload(Article.approved_revision))
            .order_by(Article.id.desc())
            .limit(query.limit + 1)
        )
        if query.state:
            stmt = stmt.where(Article.state == query.state)
        if before is not None:
            stmt = stmt.where(Article.id < before)
        if not _reads_all(actor):
            stmt = stmt.where(Article.author_id == actor.id)
        rows, cursor = _page(
            list(session.scalars(stmt).unique()), query.limit, "articles", lambda a: a.id
        )
        return {"items": [_summary(a) for a in rows], "next_cursor": cursor}

    return _read(work)


@bp.post("/articles")
@spec.validate(json=s.ArticleCreate, resp=_responses(HTTP_201=s.Article), tags=["articles"])
def create_article(json: s.ArticleCreate) -> Any:
    """Create a draft (its first revision). Honours ``Idempotency-Key``: a retry with the
    same key and body returns the first answer and creates nothing."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        article = articles.create_article(
            session,
            actor,
            title=json.title,
            body=json.body,
            references=[r.model_dump(exclude_none=True) for r in json.references],
            generator=json.generator.model_dump(exclude_none=True) if json.generator else None,
        )
        return _article_written(session, actor, article, 201, new_revision=True)

    return _write(work, idempotent=True)


@bp.get(f"/articles/<{INT_ID}:article_id>")
@spec.validate(resp=_responses(HTTP_200=s.Article), tags=["articles"])
def get_article(article_id: int) -> Any:
    """One article with its current text, provenance, approvals and the actions the
    token's user may take now. The ``ETag`` header carries the version for ``If-Match``."""

    def work(session: Session, actor: Actor) -> Any:
        article = _visible_article(session, actor, article_id)
        return _article_detail(session, article, actor), 200, {"ETag": _etag(article.version)}

    return _read(work)


@bp.put(f"/articles/<{INT_ID}:article_id>")
@spec.validate(json=s.ArticleUpdate, resp=_responses(HTTP_200=s.Article), tags=["articles"])
def update_article(article_id: int, json: s.ArticleUpdate) -> Any:
    """Save new text as a new revision. Send ``If-Match`` (the ETag) or ``expected_version``:
    if the article changed meanwhile the answer is 409 with the current version."""
    expected = _expected_version(json.expected_version)

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _visible_article(session, actor, article_id)
        article, revision = articles.edit_article(
            session,
            actor,
            article_id,
            title=json.title,
            body=json.body,
            references=[r.model_dump(exclude_none=True) for r in json.references],
            generator=json.generator.model_dump(exclude_none=True) if json.generator else None,
            expected_version=expected,
        )
        return _article_written(
            session, actor, article, 200, new_revision=revision is not None
        )

    return _write(work)


_ACTIONS = "any(" + ", ".join(USER_ACTIONS) + ")"


@bp.post(f"/articles/<{INT_ID}:article_id>/actions/<{_ACTIONS}:action>")
@spec.validate(json=s.ActionRequest, resp=_responses(HTTP_200=s.ActionResponse), tags=["articles"])
def act(article_id: int, action: str, json: s.ActionRequest) -> Any:
    """Take a workflow action (submit, withdraw, start_review, request_changes, ...).

    Approve and reject need an electronic signature by a person: a token gets 403
    ``token_cannot_sign``. Honours ``Idempotency-Key``, ``If-Match`` and ``expected_version``.
    """
    body = json
    expected = _expected_version(body.expected_version)

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _visible_article(session, actor, article_id)
        result = articles.perform_action(
            session, actor, article_id, action, comment=body.comment, expected_version=expected
        )
        return idempotency.Stored(
            200,
            {
                "action": action,
                "from_state": result.from_state,
                "to_state": result.to_state,
                "article": _article_detail(session, result.article, actor),
            },
            {"ETag": _etag(result.article.version)},
        )

    return _write(work, idempotent=True)


@bp.get(f"/articles/<{INT_ID}:article_id>/history")
@spec.validate(query=s.PageQuery, resp=_responses(HTTP_200=s.EventList), tags=["articles"])
def history(article_id: int, query: s.PageQuery) -> Any:
    """The article's audit events, oldest first (same fields as the audit export)."""
    after = pagination.decode(query.cursor, "history")

    def work(session: Session, actor: Actor) -> Any:
        _visible_article(session, actor, article_id)
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.article_id == article_id)
            .order_by(AuditEvent.seq)
            .limit(query.limit + 1)
        )
        if after is not None:
            stmt = stmt.where(AuditEvent.seq > after)
        rows, cursor = _page(list(session.scalars(stmt)), query.limit, "history", lambda e: e.seq)
        return {"items": [event_as_dict(e) for e in rows], "next_cursor": cursor}

    return _read(work)


@bp.get(f"/articles/<{INT_ID}:article_id>/revisions")
@spec.validate(query=s.PageQuery, resp=_responses(HTTP_200=s.RevisionList), tags=["articles"])
def revisions(article_id: int, query: s.PageQuery) -> Any:
    """Every saved text of the article, oldest first, with provenance (``generator``)."""
    after = pagination.decode(query.cursor, "revisions")

    def work(session: Session, actor: Actor) -> Any:
        _visible_article(session, actor, article_id)
        stmt = (
            select(Revision)
            .where(Revision.article_id == article_id)
            .options(joinedload(Revision.author))
            .order_by(Revision.number)
            .limit(query.limit + 1)
        )
        if after is not None:
            stmt = stmt.where(Revision.number > after)
        rows, cursor = _page(
            list(session.scalars(stmt)), query.limit, "revisions", lambda r: r.number
        )
        return {
            "items": [
                {
                    "number": r.number,
                    "content_hash": r.content_hash,
                    "title": r.title,
                    "body": r.body,
                    "references": r.references,
                    "generator": r.generator,
                    "author": {"id": r.author.id, "name": r.author.name},
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ],
            "next_cursor": cursor,
        }

    return _read(work)


# --- audit ----------------------------------------------------------------------------


@bp.get("/audit")
@spec.validate(query=s.AuditQuery, resp=_responses(HTTP_200=s.EventList), tags=["audit"])
def audit_log(query: s.AuditQuery) -> Any:
    """The audit log in sequence order, filtered by actor, action and time (auditors,
    editors and admins)."""
    after = pagination.decode(query.cursor, "audit")

    def work(session: Session, actor: Actor) -> Any:
        _require(actor, AUDIT_ROLES, "Reading the audit log")
        stmt = select(AuditEvent).order_by(AuditEvent.seq).limit(query.limit + 1)
        if after is not None:
            stmt = stmt.where(AuditEvent.seq > after)
        if query.actor is not None:
            stmt = stmt.where(AuditEvent.actor_id == query.actor)
        if query.action is not None:
            stmt = stmt.where(AuditEvent.action == query.action)
        if query.since is not None:
            stmt = stmt.where(AuditEvent.at >= _aware(query.since))
        if query.until is not None:
            stmt = stmt.where(AuditEvent.at < _aware(query.until))
        rows, cursor = _page(list(session.scalars(stmt)), query.limit, "audit", lambda e: e.seq)
        return {"items": [event_as_dict(e) for e in rows], "next_cursor": cursor}

    return _read(work)


def _aware(value: Any) -> Any:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- me, tokens, webhooks (admin operations a web admin page calls too) ---------------


@bp.get("/me")
@spec.validate(resp=_responses(HTTP_200=s.Me), tags=["account"])
def me() -> Any:
    """Who the token acts as, and their e-mail notification settings."""

    def work(session: Session, actor: Actor) -> Any:
        return _me(session, actor)

    return _read(work)


def _me(session: Session, actor: Actor) -> dict[str, Any]:
    u = actor.user
    return {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "roles": sorted(u.roles),
        "via_token": actor.via_token,
        "notifications": {"email": preferences.email_preferences(session, u.id)},
    }


@bp.put("/me/notifications")
@spec.validate(json=s.NotificationSettings, resp=_responses(HTTP_200=s.Me), tags=["account"])
def set_notifications(json: s.NotificationSettings) -> Any:
    """Turn e-mail kinds on or off, e.g. ``{"email": {"review_requested": false}}``."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        preferences.set_email_preferences(session, actor.user, json.email, context=actor.context)
        return idempotency.Stored(200, _me(session, actor), {})

    return _write(work)


def _token_dict(t: ApiToken, plaintext: str | None = None) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "user": {"id": t.user.id, "name": t.user.name},
        "created_at": isoformat(t.created_at),
        "last_used_at": isoformat(t.last_used_at),
        "revoked_at": isoformat(t.revoked_at),
        "token": plaintext,
    }


@bp.get("/tokens")
@spec.validate(resp=_responses(HTTP_200=s.TokenList), tags=["admin"])
def list_tokens() -> Any:
    """Tokens: an admin sees all, anyone else their own. Secrets are never shown again."""

    def work(session: Session, actor: Actor) -> Any:
        owner = None if actor.has_role(Role.ADMIN) else actor.id
        return {"items": [_token_dict(t) for t in tokens.list_tokens(session, user_id=owner)]}

    return _read(work)


@bp.post("/tokens")
@spec.validate(json=s.TokenCreate, resp=_responses(HTTP_201=s.Token), tags=["admin"])
def create_token(json: s.TokenCreate) -> Any:
    """Create a token for a user (admins). The answer holds the secret, shown this once:
    a replay under the same Idempotency-Key answers with `token` null (it is not kept)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _require(actor, frozenset({Role.ADMIN}), "Creating tokens")
        user = users.get_by_email(session, json.user_email)
        new = tokens.create_token(
            session, user, name=json.name or "", created_by=actor.user, context=actor.context
        )
        return idempotency.Stored(
            201, _token_dict(new.token, new.plaintext), {}, shown_once=("token",)
        )

    return _write(work, idempotent=True)


@bp.post(f"/tokens/<{INT_ID}:token_id>/revoke")
@spec.validate(resp=_responses(HTTP_200=s.Token), tags=["admin"])
def revoke_token(token_id: int) -> Any:
    """Revoke a token (an admin, or the token's owner); it is refused from then on."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        token = tokens.revoke_token(session, token_id, by=actor.user, context=actor.context)
        return idempotency.Stored(200, _token_dict(token), {})

    return _write(work)


def _webhook_dict(h: Any, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": h.id,
        "url": h.url,
        "description": h.description,
        "events": h.events,
        "active": h.active,
        "created_at": isoformat(h.created_at),
        "secret": secret,
        "previous_secret_signs_until": (
            isoformat(h.previous_secret_until)
            if h.previous_secret_until and h.previous_secret_until > utcnow()
            else None
        ),
    }


_ADMIN = frozenset({Role.ADMIN})


@bp.get("/webhooks")
@spec.validate(resp=_responses(HTTP_200=s.WebhookList), tags=["admin"])
def list_webhooks() -> Any:
    """Registered webhook endpoints (admins)."""

    def work(session: Session, actor: Actor) -> Any:
        _require(actor, _ADMIN, "Managing webhooks")
        return {"items": [_webhook_dict(h) for h in webhooks.list_webhooks(session)]}

    return _read(work)


@bp.post("/webhooks")
@spec.validate(json=s.WebhookCreate, resp=_responses(HTTP_201=s.Webhook), tags=["admin"])
def create_webhook(json: s.WebhookCreate) -> Any:
    """Register an endpoint for some event kinds (admins). The answer holds the signing
    secret, shown this once: a replay under the same Idempotency-Key answers with `secret`
    null (it is not kept)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _require(actor, _ADMIN, "Managing webhooks")
        made = webhooks.create_webhook(
            session,
            webhook_config(current_app),
            url=json.url,
            events=json.events,
            description=json.description,
            secret=json.secret,
            created_by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(
            201, _webhook_dict(made.webhook, made.secret), {}, shown_once=("secret",)
        )

    return _write(work, idempotent=True)


@bp.put(f"/webhooks/<{INT_ID}:webhook_id>")
@spec.validate(json=s.WebhookUpdate, resp=_responses(HTTP_200=s.Webhook), tags=["admin"])
def update_webhook(webhook_id: int, json: s.WebhookUpdate) -> Any:
    """Change an endpoint's URL or events, or switch it off and on (admins)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _require(actor, _ADMIN, "Managing webhooks")
        hook = webhooks.update_webhook(
            session,
            webhook_config(current_app),
            webhook_id,
            active=json.active,
            events=json.events,
            url=json.url,
            by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(200, _webhook_dict(hook), {})

    return _write(work)


@bp.post(f"/webhooks/<{INT_ID}:webhook_id>/secret")
@spec.validate(json=s.SecretRoll, resp=_responses(HTTP_200=s.Webhook), tags=["admin"])
def roll_webhook_secret(webhook_id: int, json: s.SecretRoll) -> Any:
    """Give an endpoint a new signing secret (admins), generated unless given. The answer
    holds it, shown this once (a replay under the same Idempotency-Key answers `secret`
    null). For `grace_hours` (default 24) deliveries carry the old secret's signature
    beside the new one, so the receiver can switch without refusing any; 0 ends the old
    secret at once (after a leak)."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _require(actor, _ADMIN, "Managing webhooks")
        made = webhooks.roll_secret(
            session,
            webhook_config(current_app),
            webhook_id,
            secret=json.secret,
            grace=timedelta(hours=json.grace_hours),
            by=actor.user,
            context=actor.context,
        )
        return idempotency.Stored(
            200, _webhook_dict(made.webhook, made.secret), {}, shown_once=("secret",)
        )

    return _write(work, idempotent=True)


@bp.post(f"/webhooks/<{INT_ID}:webhook_id>/redrive")
@spec.validate(resp=_responses(HTTP_200=s.Redriven), tags=["admin"])
def redrive_webhook(webhook_id: int) -> Any:
    """Send an endpoint's dead deliveries again, with fresh attempts, once the receiver is
    fixed (admins). Repeating it is harmless: only dead deliveries are requeued."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        _require(actor, _ADMIN, "Managing webhooks")
        webhooks.get_webhook(session, webhook_id)
        done = outbox.redrive(
            session, webhook_id=webhook_id, by=actor.user, context=actor.context
        )
        return idempotency.Stored(200, {"requeued": len(done)}, {})

    return _write(work)


@bp.get(f"/webhooks/<{INT_ID}:webhook_id>/deliveries")
@spec.validate(query=s.PageQuery, resp=_responses(HTTP_200=s.DeliveryList), tags=["admin"])
def webhook_deliveries(webhook_id: int, query: s.PageQuery) -> Any:
    """Deliveries to one endpoint, newest first, each attempt with the response (admins)."""
    before = pagination.decode(query.cursor, "deliveries")

    def work(session: Session, actor: Actor) -> Any:
        _require(actor, _ADMIN, "Managing webhooks")
        rows = webhooks.deliveries(session, webhook_id, limit=query.limit + 1, before_id=before)
        rows, cursor = _page(rows, query.limit, "deliveries", lambda r: r[0].id)
        return {
            "items": [
                {
                    "message_id": m.message_id,
                    "event": m.kind,
                    "status": m.status,
                    "created_at": isoformat(m.created_at),
                    "sent_at": isoformat(m.sent_at),
                    "last_error": m.last_error,
                    "attempts": [
                        {
                            "attempt": a.attempt,
                            "at": isoformat(a.at),
                            "ok": a.ok,
                            "status_code": a.status_code,
                            "response": a.response,
                            "error": a.error,
                            "duration_ms": a.duration_ms,
                        }
                        for a in attempts
                    ],
                }
                for m, attempts in rows
            ],
            "next_cursor": cursor,
        }

    return _read(work)


# --- the document ---------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 document, generated from the declarations above (public)."""
    return jsonify(spec.spec)


spec.register(bp)


# --- errors ---------------------------------------------------------------------------

bp.register_error_handler(ReviewFlowError, from_domain)
bp.register_error_handler(HTTPException, from_http)
bp.register_error_handler(Exception, from_crash)


def _is_api_path() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


def init_app(app: Flask) -> None:
    """Register the blueprint; unknown paths and methods under /api/v1 answer in JSON too."""
    app.config.setdefault("API_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH)
    app.register_blueprint(bp)

    for code in (404, 405):
        previous = app.error_handler_spec[None][code].copy()

        def handler(exc: HTTPException, _previous: dict[Any, Any] = previous) -> Any:
            if _is_api_path():
                return from_http(exc)
            fallback = next(iter(_previous.values()), None)
            return fallback(exc) if fallback is not None else exc

        app.register_error_handler(code, handler)


__all__ = ["bp", "error_response", "init_app", "spec"]
