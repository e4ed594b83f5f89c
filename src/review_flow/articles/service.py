"""Use cases on articles: create, edit, act, list what is allowed, comment.

No Flask here. Every function takes the caller's session and only flushes; the entry
point commits, so the change, its audit event and its notifications land together.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, joinedload, lazyload

from review_flow.actor import Actor
from review_flow.articles.content import (
    clean_body,
    clean_title,
    content_hash,
    dangling_citations,
    parse_generator,
    parse_references,
)
from review_flow.articles.models import Article, Comment, Revision
from review_flow.audit import log as audit
from review_flow.audit.chain import DATA_FORMAT
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.errors import (
    Conflict,
    GuardFailed,
    InvalidTransition,
    NotConfigured,
    NotFound,
    SignatureLocked,
    SignatureRefused,
    ValidationFailed,
)
from review_flow.notifications import hooks as notify
from review_flow.notifications import webhooks
from review_flow.policy import service as policy_service
from review_flow.policy.models import PolicySettings
from review_flow.rounds import acting as round_acting
from review_flow.signatures import attempts
from review_flow.signatures.models import Decision
from review_flow.timeutil import utcnow
from review_flow.users.passwords import verify_password
from review_flow.workflow import engine, permissions
from review_flow.workflow.definition import (
    ACTIONS_BY_NAME,
    EDITABLE_STATES,
    INITIAL_STATE,
    USER_ACTIONS,
    WORKFLOW_VERSION,
)

MAX_COMMENT = 20_000


@dataclass
class ActionResult:
    article: Article
    action: str
    from_state: str
    to_state: str
    event: AuditEvent
    decision: Decision | None = None
    approvals: int = 0
    required_approvals: int = 0
    # What the round still needs before the article is approved ("1 more approval from
    # cardiology"); None when nothing is missing or the action is not an approval.
    still_missing: str | None = None
    webhook_generation: str | None = webhooks.GENERATION_UNKNOWN


# --- loading ---------------------------------------------------------------------------


@dataclass
class _Loaded:
    article: Article
    wrote_revision: bool
    policy_version: int
    approvals: int
    approved_by_actor: bool
    webhook_generation: str | None = webhooks.GENERATION_UNKNOWN


def _build_load(lock: bool) -> Any:
    wrote = exists().where(
        Revision.article_id == Article.id, Revision.author_id == bindparam("actor_id")
    )
    on_current = (Decision.revision_id == Article.current_revision_id) & (
        Decision.kind == "approve"
    )
    approvals = select(func.count()).where(on_current).scalar_subquery()
    by_actor = exists().where(on_current, Decision.reviewer_id == bindparam("actor_id"))
    columns: list[Any] = [
        Article,
        wrote.label("wrote"),
        policy_service.newest_version_query().label("pv"),
        approvals.label("approvals"),
        by_actor.label("by_actor"),
    ]
    if lock:
        # The chain head too: every action appends an event, so taking the head lock here
        # saves the statement the event would spend on it (see audit.log.seed_head).
        columns += [AuditChainHead.seq.label("head_seq"), AuditChainHead.hash.label("head_hash")]
        # The version as this statement's snapshot saw it. On PostgreSQL a FOR UPDATE that
        # waited for another writer returns the locked row as that writer committed it,
        # but joins and subqueries still read the snapshot taken before the wait; when
        # the two versions differ, ``_load`` reads again (see there).
        seen = aliased(Article)
        columns.append(
            select(seen.version).where(seen.id == Article.id).scalar_subquery().label("seen")
        )
        # ... and whether this process's cached webhook endpoints are still current.
        columns.append(webhooks.generation_query().label("webhooks"))
    stmt = (
        select(*columns)
        .where(Article.id == bindparam("article_id"))
        # The author's row is not needed to act (author_id is); skip the join.
        .options(joinedload(Article.current_revision), lazyload(Article.author))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.join(AuditChainHead, AuditChainHead.id == 1).with_for_update(
            of=[Article, AuditChainHead]
        )
    return stmt


# Built once: a statement object memoizes its cache key, so executing it again skips
# rebuilding and re-keying the query (most of an action's Python time otherwise).
_LOAD = {True: _build_load(True), False: _build_load(False)}
_APPROVERS = select(Decision.reviewer_id).where(
    Decision.revision_id == bindparam("revision_id"), Decision.kind == "approve"
)


def _load(session: Session, article_id: int, actor: Actor, *, lock: bool) -> _Loaded:
    """In one query: the article with its current revision, whether the actor wrote any
    revision of it, the policy version in force, the approvals of the current revision
    and, when locking (``FOR UPDATE`` of the article row), the audit chain's head."""
    stmt = _LOAD[lock]
    params = {"article_id": article_id, "actor_id": actor.id}
    row = session.execute(stmt, params).unique().one_or_none()
    if lock and row is not None and _read_before_the_wait(row):
        # Another writer committed while this one waited for the row lock, so the current
        # revision, the approvals and the rest were read before its change. The lock is
        # held now: reading again sees everything it committed (a new statement takes a
        # new snapshot under READ COMMITTED) and nobody can change it meanwhile.
        row = session.execute(stmt, params).unique().one_or_none()
    if row is None:
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    if row.pv is None:
        raise NotConfigured("No review policy is installed; run `review-flow db upgrade`.")
    loaded = _Loaded(row.Article, bool(row.wrote), row.pv, row.approvals, bool(row.by_actor))
    if lock:
        audit.seed_head(session, row.head_seq, row.head_hash)
        loaded.webhook_generation = row.webhooks
    return loaded


def _read_before_the_wait(row: Any) -> bool:
    article: Article = row.Article
    current = article.current_revision
    return row.seen != article.version or (
        article.current_revision_id is not None
        and (current is None or current.id != article.current_revision_id)
    )


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id, options=[joinedload(Article.current_revision)])
    if article is None:
        raise NotFound(f"Article {article_id} does not exist.", article_id=article_id)
    return article


def get_by_slug(session: Session, slug: str) -> Article:
    article = session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound(f"No article at {slug!r}.", slug=slug)
    return article


def _check_version(session: Session, article: Article, expected: int | None) -> None:
    if expected is None or expected == article.version:
        return
    missed = session.execute(
        select(
            AuditEvent.action,
            AuditEvent.actor_name,
            AuditEvent.at,
            AuditEvent.to_state,
            AuditEvent.revision,
        )
        .where(AuditEvent.article_id == article.id)
        .order_by(AuditEvent.seq.desc())
        .limit(max(1, min(article.version - expected, 20)))
    ).all()
    changes = [
        {
            "action": m.action,
            "by": m.actor_name,
            "at": m.at.isoformat(),
            "to_state": m.to_state,
            "revision": m.revision,
        }
        for m in reversed(missed)
    ]
    summary = "; ".join(f"{c['action'].split('.')[-1]} by {c['by']}" for c in changes)
    raise Conflict(
        f"Article {article.id} changed since you loaded it: you had version {expected}, "
        f"it is now version {article.version} ({article.state})"
        + (f" after: {summary}." if summary else "."),
        current_version=article.version,
        expected_version=expected,
        state=article.state,
        changes=changes,
    )


# --- slugs -----------------------------------------------------------------------------


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text[:80].rstrip("-") or "article"


def _free_slug(session: Session, base: str) -> str:
    """``base``, or the first ``base-N`` not taken."""
    # base, or base-<anything>: a range on the slug index ("." sorts right after "-"), where
    # LIKE would scan the table on SQLite (case-insensitive) and on PostgreSQL (collation).
    taken = set(session.scalars(_SLUGS_LIKE, {"base": base, "lo": f"{base}-", "hi": f"{base}."}))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


_SLUGS_LIKE = select(Article.slug).where(
    or_(
        Article.slug == bindparam("base"),
        (Article.slug > bindparam("lo")) & (Article.slug < bindparam("hi")),
    )
)
_INSERT_ARTICLE = {
    dialect: insert(Article).on_conflict_do_nothing(index_elements=["slug"]).returning(Article)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


# What a create reads first, as an action's load does: the audit chain's head, locked
# (every create appends an event, and holding the lock from here on makes choosing a
# slug race-free), and whether this process's cached webhook endpoints are current.
_CREATE_PREAMBLE = (
    select(AuditChainHead.seq, AuditChainHead.hash, webhooks.generation_query().label("webhooks"))
    .where(AuditChainHead.id == 1)
    .with_for_update(of=AuditChainHead)
)


def _insert_with_unique_slug(session: Session, title: str, **values: Any) -> Article:
    """INSERT the article under a free slug.

    Titles are mostly new, so the plain slug is tried first and the taken ones are looked
    up only when it collides. Writers choose slugs one at a time, since the caller holds
    the audit chain's head lock (``_CREATE_PREAMBLE``). ``ON CONFLICT DO NOTHING`` turns
    a collision into a retry instead of a failed transaction.
    """
    stmt = _INSERT_ARTICLE[session.get_bind().dialect.name]
    base = slugify(title)
    slug = base
    for _ in range(3):
        article = session.scalars(stmt.values(slug=slug, **values)).one_or_none()
        if article is not None:
            return article
        slug = _free_slug(session, base)
    raise Conflict(f"Could not find a free slug for {title!r}; try again.", code="slug_taken")


# --- create / edit ---------------------------------------------------------------------


def _clean_content(title: Any, body: Any, references: Any) -> tuple[str, str, list[dict[str, Any]]]:
    title = clean_title(title)
    if not title:
        raise ValidationFailed("title: required", fields={"title": "required"})
    return title, clean_body(body), parse_references(references)


def create_article(
    session: Session,
    actor: Actor,
    *,
    title: Any,
    body: Any,
    references: Any = None,
    generator: Any = None,
) -> Article:
    """A new draft with its first revision."""
    denied = permissions.may_create(actor)
    if denied:
        raise denied
    title, body, refs = _clean_content(title, body, references)
    gen = parse_generator(generator)
    now = utcnow()
    first = session.execute(_CREATE_PREAMBLE).one()
    audit.seed_head(session, first.seq, first.hash)
    article = _insert_with_unique_slug(
        session,
        title,
        author_id=actor.id,
        created_at=now,
        updated_at=now,
        state=INITIAL_STATE,
        version=1,
    )
    revision = Revision(
        article_id=article.id,
        number=1,
        title=title,
        body=body,
        references=refs,
        content_hash=content_hash(title, body, refs),
        author_id=actor.id,
        generator=gen,
        created_at=now,
    )
    session.add(revision)
    session.flush()
    article.current_revision = revision
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="article.create",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        to_state=article.state,
        revision=1,
        content_hash=revision.content_hash,
        workflow_version=WORKFLOW_VERSION,
        context=actor.context,
        data={"version": article.version, "generator": gen} if gen else {"version": 1},
        at=now,
    )
    notify.article_created(session, actor, article, first.webhooks)
    session.flush()
    return article


def edit_article(
    session: Session,
    actor: Actor,
    article_id: int,
    *,
    title: Any,
    body: Any,
    references: Any = None,
    generator: Any = None,
    expected_version: int | None = None,
) -> tuple[Article, Revision | None]:
    """Save new text as a new revision. Returns the revision, or None if nothing changed.

    Editing approved text moves the article back to draft (through the workflow's
    ``revise`` transition); the approved revision stays what readers see.
    """
    loaded = _load(session, article_id, actor, lock=True)
    article = loaded.article
    _check_version(session, article, expected_version)
    denied = permissions.may_edit(actor, article_author_id=article.author_id)
    if denied:
        raise denied
    if article.state not in EDITABLE_STATES:
        raise InvalidTransition(
            f"Article {article.id} is {article.state}: its text cannot be edited now"
            + (" (withdraw it first)." if article.state in ("submitted", "under_review") else "."),
            code="not_editable",
            state=article.state,
            allowed_actions=allowed_actions(
                session,
                actor,
                article,
                wrote_revision=loaded.wrote_revision,
                approved_by_actor=loaded.approved_by_actor,
            ),
        )
    title, body, refs = _clean_content(title, body, references)
    gen = parse_generator(generator)
    current = article.current_revision
    new_hash = content_hash(title, body, refs)
    if (
        current is not None
        and current.content_hash == new_hash
        and (gen or None) == current.generator
    ):
        return article, None
    now = utcnow()
    revision = Revision(
        article_id=article.id,
        number=(current.number if current else 0) + 1,
        title=title,
        body=body,
        references=refs,
        content_hash=new_hash,
        author_id=actor.id,
        generator=gen,
        created_at=now,
    )
    session.add(revision)
    session.flush()
    from_state = article.state
    if from_state == "approved":
        ctx = engine.TransitionContext(action=ACTIONS_BY_NAME["revise"])
        if not engine.fire(article, "revise", ctx):  # pragma: no cover - revise has no guards
            raise GuardFailed(ctx.problems[0].message, code=ctx.problems[0].code)
    article.current_revision = revision
    article.version += 1
    article.updated_at = now
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="article.edit",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        from_state=from_state,
        to_state=article.state,
        revision=revision.number,
        content_hash=new_hash,
        workflow_version=WORKFLOW_VERSION,
        policy_version=loaded.policy_version,
        context=actor.context,
        data={"version": article.version, **({"generator": gen} if gen else {})},
        at=now,
    )
    notify.article_edited(session, actor, article, revision, loaded.webhook_generation)
    session.flush()
    return article, revision


# --- workflow actions -------------------------------------------------------------------


def _approver_ids(session: Session, revision_id: int) -> set[int]:
    return set(session.scalars(_APPROVERS, {"revision_id": revision_id}))


def allowed_actions(
    session: Session,
    actor: Actor,
    article: Article,
    *,
    wrote_revision: bool | None = None,
    approved_by_actor: bool | None = None,
) -> list[str]:
    """The actions ``actor`` may take on ``article`` now (what the UI offers as buttons)."""
    candidates = [n for n in USER_ACTIONS if engine.can_fire(n, article.state)]
    if not candidates:
        return []
    if wrote_revision is None:
        wrote_revision = bool(
            session.scalar(
                select(
                    exists().where(
                        Revision.article_id == article.id, Revision.author_id == actor.id
                    )
                )
            )
        )
    out = []
    for name in candidates:
        spec = ACTIONS_BY_NAME[name]
        if permissions.refusal(
            spec, actor, article_author_id=article.author_id, wrote_revision=wrote_revision
        ):
            continue
        if spec.needs_signature and actor.via_token:
            continue
        if name == "approve" and article.current_revision_id is not None:
            if approved_by_actor is None:
                approved_by_actor = actor.id in _approver_ids(
                    session, article.current_revision_id
                )
            if approved_by_actor:
                continue
        if name == "request_rereview" and (
            article.review_due is None or utcnow() < article.review_due
        ):
            continue
        out.append(name)
    return round_acting.offered(session, actor, article, out)


def _clean_comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ValidationFailed("comment: must be text", fields={"comment": "must be text"})
    comment = comment.strip()
    if "\x00" in comment:
        raise ValidationFailed(
            "comment: must not contain NUL characters", fields={"comment": "contains NUL"}
        )
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            f"comment: at most {MAX_COMMENT} characters", fields={"comment": "too long"}
        )
    return comment or None


def _wait_text(delta: timedelta) -> str:
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _check_signer_password(session: Session, actor: Actor, action: str, article_id: int,
                           revision: Revision, password: str | None) -> None:
    """The signer's password, throttled per person (``signatures/attempts.py``). A refusal
    carries the attempt for the entry point to record after rolling back."""
    now = utcnow()
    recent = attempts.recent_failures(session, actor.id, now)

    def refused(exc: SignatureRefused, reason: str, until: datetime | None) -> SignatureRefused:
        exc.failed_signature = attempts.FailedSignature(
            user_id=actor.id, actor_name=actor.user.name, article_id=article_id, action=action,
            revision=revision.number, content_hash=revision.content_hash, reason=reason,
            at=now, context=actor.context, locked_until=until)
        return exc

    until = recent.locked_until(now)
    if until is not None:
        raise refused(SignatureLocked(
            f"Signature refused: too many failed signature attempts; try again in "
            f"{_wait_text(until - now)}.", locked_until=until.isoformat()), "locked", until)
    if verify_password(actor.user.password_hash, password or ""):
        if recent.times:
            attempts.forget(session, actor.id)
        return
    lock = recent.lock_after_failure(now)
    if lock is not None:
        raise refused(SignatureLocked(
            f"Signature refused: the password is not correct. Too many failed signature "
            f"attempts; try again in {_wait_text(lock - now)}.", locked_until=lock.isoformat()),
            "locked_now", lock)
    raise refused(SignatureRefused("Signature refused: the password is not correct.",
                                   code="wrong_password"), "wrong_password", None)


def perform_action(
    session: Session,
    actor: Actor,
    article_id: int,
    action: str,
    *,
    comment: Any = None,
    password: str | None = None,
    expected_version: int | None = None,
    expected_content_hash: str | None = None,
    attestations: dict[str, Any] | None = None,
    conflict: Any = None,
) -> ActionResult:
    """Take one workflow action. Raises a named error and writes nothing on refusal."""
    spec = ACTIONS_BY_NAME.get(action)
    if spec is None or spec.internal:
        raise ValidationFailed(
            f"Unknown action {action!r}; actions are: {', '.join(USER_ACTIONS)}.",
            code="unknown_action",
            fields={"action": "unknown"},
            actions=list(USER_ACTIONS),
        )
    comment = _clean_comment(comment)
    loaded = _load(session, article_id, actor, lock=True)
    article = loaded.article
    _check_version(session, article, expected_version)
    state = article.state
    if not engine.can_fire(action, state):
        allowed = allowed_actions(
            session,
            actor,
            article,
            wrote_revision=loaded.wrote_revision,
            approved_by_actor=loaded.approved_by_actor,
        )
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} article {article.id}: it is {state}. "
            f"Allowed now: {', '.join(allowed) if allowed else 'none for you'}.",
            state=state,
            action=action,
            allowed_actions=allowed,
        )
    denied = permissions.refusal(
        spec, actor, article_author_id=article.author_id, wrote_revision=loaded.wrote_revision
    )
    if denied:
        raise denied
    # The round acted on, under the policy version it opened with (rounds/acting.py).
    step = round_acting.prepare(
        session, actor, article, spec, newest_policy_version=loaded.policy_version,
        conflict=conflict if conflict is not None else (attestations or {}).get(
            "conflict_of_interest"),
    )
    policy: PolicySettings = step.policy
    revision = article.current_revision
    assert revision is not None, "an article always has a current revision"

    if spec.needs_signature:
        if actor.via_token:
            raise SignatureRefused(
                f"{spec.label} needs an electronic signature by a person; API tokens cannot sign.",
                code="token_cannot_sign",
            )
        if expected_content_hash is not None and expected_content_hash != revision.content_hash:
            raise Conflict(
                f"The text of article {article.id} changed since you opened it "
                f"(now revision {revision.number}); review the new text before signing.",
                code="content_changed",
                current_revision=revision.summary(),
                expected_content_hash=expected_content_hash,
            )
        _check_signer_password(session, actor, action, article.id, revision, password)

    now = utcnow()
    ctx = engine.TransitionContext(
        action=spec,
        title=revision.title,
        body=revision.body,
        reference_count=len(revision.references),
        dangling_citations=dangling_citations(revision.body, len(revision.references))
        if "citations_resolve" in spec.guards
        else [],
        comment=comment,
        already_approved_by_actor=loaded.approved_by_actor
        if step.approved_by_actor is None
        else step.approved_by_actor,
        approvals_after_this=loaded.approvals + (0 if loaded.approved_by_actor else 1),
        required_approvals=policy.required_approvals,
        quorum_reached=step.quorum.reached if step.quorum else None,
        required_checks=policy.review_checks,
        attestations=round_acting.attested_conflict(step, attestations or {}),
        review_due=article.review_due,
        now=now,
    )
    if not engine.fire(article, action, ctx):
        first = ctx.problems[0] if ctx.problems else engine.Problem("guard_failed", "Refused.")
        raise GuardFailed(
            first.message,
            code=first.code,
            problems=[{"code": p.code, "message": p.message, **p.details} for p in ctx.problems],
            **first.details,
        )
    to_state = article.state

    decision = None
    if spec.needs_signature:
        decision = Decision(
            article_id=article.id,
            revision_id=revision.id,
            revision_number=revision.number,
            content_hash=revision.content_hash,
            reviewer_id=actor.id,
            kind=action,
            printed_name=actor.user.name,
            credentials=actor.user.credentials,
            meaning=spec.signature_meaning or spec.label,
            signed_at=now,
            comment=comment,
            attestations={k: ctx.attestations.get(k) for k in policy.review_checks}
            if action == "approve" and policy.review_checks
            else None,
            policy_version=step.policy_version,
            round_id=step.review.id if step.review else None,
            conflict=step.declared.conflict if step.declared else None,
        )
        session.add(decision)
    if comment:
        session.add(
            Comment(
                article_id=article.id,
                revision_id=revision.id,
                author_id=actor.id,
                kind=action,
                body=comment,
                created_at=now,
            )
        )
    if to_state == "approved" and state != "approved":
        article.approved_revision = revision
        article.published_at = now  # readers now see this text: the home page lists it
        article.review_due = now + timedelta(days=round(policy.rereview_months * 30.44))
    if to_state == "retracted":
        article.published_at = None  # off the home page; its page shows the notice
    if to_state == "submitted":
        article.submitted_at = now
    article.version += 1
    article.updated_at = now
    approvals = (
        step.quorum.approvals
        if step.quorum
        else loaded.approvals + (1 if action == "approve" else 0)
    )
    round_data = round_acting.finish(
        session, step, actor, article, action, state, to_state, now,
        newest_policy_version=loaded.policy_version,
    )
    if decision is not None:
        session.flush()  # the decision's id goes into the chained event; one UPDATE of the row
    event = audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action=f"article.{action}",
        object_type="article",
        object_id=article.id,
        article_id=article.id,
        from_state=state,
        to_state=to_state,
        revision=revision.number,
        content_hash=revision.content_hash,
        comment=comment,
        workflow_version=WORKFLOW_VERSION,
        policy_version=step.policy_version,
        context=actor.context,
        data={
            "version": article.version,
            **round_data,
            **(
                {"approvals": approvals, "required_approvals": policy.required_approvals}
                if action == "approve"
                else {}
            ),
            **(
                {
                    "format": DATA_FORMAT,
                    "signature": {
                        "printed_name": decision.printed_name,
                        "credentials": decision.credentials,
                        "meaning": decision.meaning,
                        "decision_id": decision.id,
                        "attestations": decision.attestations,
                        "round_id": decision.round_id,
                        **({"conflict": decision.conflict} if decision.conflict else {}),
                    },
                }
                if decision
                else {}
            ),
        },
        at=now,
    )
    result = ActionResult(
        article=article,
        action=action,
        from_state=state,
        to_state=to_state,
        event=event,
        decision=decision,
        approvals=approvals,
        required_approvals=policy.required_approvals,
        still_missing=step.quorum.still_missing() if step.quorum else None,
        webhook_generation=loaded.webhook_generation,
    )
    notify.action_taken(session, actor, result)
    session.flush()
    return result


def add_comment(session: Session, actor: Actor, article_id: int, body: Any) -> Comment:
    text = _clean_comment(body)
    if not text:
        raise ValidationFailed("comment: required", fields={"comment": "required"})
    loaded = _load(session, article_id, actor, lock=False)
    article = loaded.article
    denied = permissions.may_comment(actor, article_author_id=article.author_id)
    if denied:
        raise denied
    now = utcnow()
    item = Comment(
        article_id=article.id,
        revision_id=article.current_revision_id,
        author_id=actor.id,
        kind="comment",
        body=text,
        created_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.user.name,
        action="comment.add",
        object_type="comment",
        object_id=item.id,
        article_id=article.id,
        revision=article.current_revision.number if article.current_revision else None,
        comment=text,
        context=actor.context,
        at=now,
    )
    return item


# --- reading -----------------------------------------------------------------------------


def approvals_for(session: Session, revision_id: int) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.revision_id == revision_id, Decision.kind == "approve")
            .order_by(Decision.signed_at)
        )
    )


def article_as_dict(
    session: Session,
    article: Article,
    actor: Actor | None = None,
    *,
    actor_just_wrote: bool = False,
) -> dict[str, Any]:
    """The stable JSON shape of ``articles show --json`` and the API.

    ``actor_just_wrote``: the current revision was made by ``actor`` in this transaction,
    so it has no approvals yet and the actor is one of its writers (two queries saved on
    every API create and edit).
    """
    current = article.current_revision
    approved = article.approved_revision
    out: dict[str, Any] = {
        "id": article.id,
        "slug": article.slug,
        "title": current.title if current else None,
        "state": article.state,
        "version": article.version,
        "author": {"id": article.author.id, "name": article.author.name},
        "current_revision": current.summary() if current else None,
        "approved_revision": approved.summary() if approved else None,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "review_due": article.review_due.isoformat() if article.review_due else None,
    }
    if current is not None:
        out["approvals"] = [
            {
                "reviewer": d.signed_by,
                "signed_at": d.signed_at.isoformat(),
                "content_hash": d.content_hash,
                "meaning": d.meaning,
            }
            for d in ([] if actor_just_wrote else approvals_for(session, current.id))
        ]
    out["allowed_actions"] = (
        allowed_actions(
            session,
            actor,
            article,
            wrote_revision=True if actor_just_wrote else None,
            approved_by_actor=False if actor_just_wrote else None,
        )
        if actor
        else []
    )
    return out


def count_by_state(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Article.state, func.count()).group_by(Article.state)).all())
