"""Opening, answering, resolving and reopening comment threads.

Each is one use case: it locks the article row (``load_article(lock=True)``, which also
takes the audit chain's head), so thread writes and approvals of one article run one
after another: an approval cannot slip past a blocking thread opened or reopened at the
same moment. Each write leaves its records and one audit event; the entry point commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_flow.actor import AnyActor
from review_flow.articles.comments import clean_comment
from review_flow.articles.loading import Loaded, load_article
from review_flow.articles.models import Revision
from review_flow.articles.paragraphs import paragraphs
from review_flow.audit import log as audit
from review_flow.domain_events import ThreadActivity
from review_flow.errors import Conflict, NotFound, ValidationFailed
from review_flow.threads import participation, who
from review_flow.threads.models import CommentThread, ThreadMessage, ThreadStateChange
from review_flow.timeutil import utcnow
from review_flow.unit_of_work import record

MAX_QUOTE = 5_000
# The error code for settling a thread that is already in the state asked for.
ALREADY = {"open": "thread_already_open", "resolved": "thread_already_resolved"}


def _text(body: Any) -> str:
    text = clean_comment(body)
    if not text:
        raise ValidationFailed("Write a comment before posting it.", code="comment_required",
                               fields={"body": "required"})
    return text


def _current(loaded: Loaded) -> Revision:
    rev = loaded.article.current_revision
    assert rev is not None, "an article always has a current revision"
    return rev


def _int_or_none(value: Any, name: str, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed(f"The {what} must be a whole number.", fields={name: "not a number"})
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"The {what} must be a whole number.",
                               fields={name: "not a number"}) from None


def _anchor(rev: Revision, paragraph: Any, quote: Any, start: Any,
            end: Any) -> tuple[int | None, str | None, int | None, int | None]:
    """Check the anchor against the revision; returns (paragraph, quote, start, end)."""
    number = _int_or_none(paragraph, "paragraph", "paragraph number")
    start_at = _int_or_none(start, "start", "start of the passage")
    end_at = _int_or_none(end, "end", "end of the passage")
    if quote is not None and not isinstance(quote, str):
        raise ValidationFailed("The quoted passage must be text.", fields={"quote": "not text"})
    quote = (quote or "").strip() or None
    if number is None:
        if quote or start_at is not None or end_at is not None:
            raise ValidationFailed("Say which paragraph the quoted passage is in.",
                                   code="unknown_paragraph", fields={"paragraph": "required"})
        return None, None, None, None
    paras = paragraphs(rev.body)
    if not 1 <= number <= len(paras):
        raise ValidationFailed(
            f"There is no paragraph {number}: revision {rev.number} has {len(paras)} "
            f"paragraph{'s' if len(paras) != 1 else ''}.",
            code="unknown_paragraph", fields={"paragraph": "out of range"})
    source = paras[number - 1].source
    if (start_at is None) != (end_at is None):
        raise ValidationFailed("Give both the start and the end of the passage, or neither.",
                               code="bad_anchor", fields={"start": "both or neither"})
    if start_at is not None and end_at is not None:
        if not 0 <= start_at < end_at <= len(source):
            raise ValidationFailed(
                f"The passage must lie within paragraph {number} (characters 0 to "
                f"{len(source)}).", code="bad_anchor", fields={"start": "out of range"})
        passage = source[start_at:end_at]
        if quote is not None and quote != passage.strip():
            raise ValidationFailed(
                f"The quoted passage does not match paragraph {number} at the given place.",
                code="quote_not_in_paragraph", fields={"quote": "does not match"})
        return number, passage, start_at, end_at
    if quote is None:
        return number, source, None, None
    if len(quote) > MAX_QUOTE:
        raise ValidationFailed(f"The quoted passage is longer than {MAX_QUOTE} characters.",
                               code="bad_anchor", fields={"quote": "too long"})
    at = source.find(quote)
    if at < 0:
        raise ValidationFailed(f"The quoted passage is not in paragraph {number}.",
                               code="quote_not_in_paragraph", fields={"quote": "not found"})
    return number, quote, at, at + len(quote)


def _event(session: Session, actor: AnyActor, action: str, thread: CommentThread,
           rev: Revision, *, comment: str | None = None, **data: Any) -> None:
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        object_type="thread",
        object_id=thread.id,
        article_id=thread.article_id,
        revision=rev.number,
        content_hash=rev.content_hash,
        comment=comment,
        context=actor.context,
        data=data,
    )


def _may_take_part(session: Session, actor: AnyActor, loaded: Loaded) -> None:
    """Raise the refusal when ``actor`` may not comment (``participation.refusal``)."""
    article = loaded.article
    denied = participation.refusal(session, actor, article_id=article.id,
                                   article_author_id=article.author_id,
                                   wrote_revision=loaded.wrote_revision)
    if denied:
        raise denied


def _tell(session: Session, actor: AnyActor, change: str, thread: CommentThread, rev: Revision,
          record_id: int, text: str | None, at: Any) -> None:
    """Leave the e-mail's domain event: it is queued in this transaction, before commit."""
    record(session, ThreadActivity(
        change=change, thread_id=thread.id, article_id=thread.article_id,
        title=rev.title, revision=rev.number, paragraph=thread.paragraph, quote=thread.quote,
        blocking=thread.blocking, state=thread.state, actor_id=actor.id,
        actor_name=actor.name, text=text, record_id=record_id, at=at))


def open_thread(session: Session, actor: AnyActor, article_id: int, body: Any, *,
                paragraph: Any = None, quote: Any = None, start: Any = None, end: Any = None,
                blocking: bool = False, expected_revision: int | None = None) -> CommentThread:
    """Open a thread on the article's current revision, anchored to a paragraph (or a
    passage of it), or about the whole article when no paragraph is given."""
    text = _text(body)
    loaded = load_article(session, article_id, actor, lock=True)
    article = loaded.article
    _may_take_part(session, actor, loaded)
    if blocking:
        denied = who.mark_blocking(actor, article_author_id=article.author_id,
                                   wrote_revision=loaded.wrote_revision)
        if denied:
            raise denied
    rev = _current(loaded)
    if expected_revision is not None and expected_revision != rev.number:
        raise Conflict(
            f"The text changed since you opened it: it is now revision {rev.number}, and "
            f"paragraph numbers may have moved. Nothing was posted; read the new text and "
            f"comment again.", code="content_changed", current_revision=rev.summary())
    number, quoted, start_at, end_at = _anchor(rev, paragraph, quote, start, end)
    now = utcnow()
    thread = CommentThread(
        article_id=article.id, revision_id=rev.id, paragraph=number, quote=quoted,
        start_offset=start_at, end_offset=end_at, blocking=bool(blocking), state="open",
        opened_by_id=actor.id, opened_at=now)
    session.add(thread)
    session.flush()
    message = ThreadMessage(thread_id=thread.id, author_id=actor.id, revision_id=rev.id,
                            body=text, created_at=now)
    session.add(message)
    session.flush()
    _event(session, actor, "thread.open", thread, rev, comment=text, message=message.id,
           paragraph=number, quote=quoted, start=start_at, end=end_at, blocking=bool(blocking))
    _tell(session, actor, "open", thread, rev, message.id, text, now)
    return thread


def _thread_for_write(session: Session, actor: AnyActor, thread_id: int,
                      article_id: int | None) -> tuple[CommentThread, Loaded]:
    owner = session.scalar(select(CommentThread.article_id).where(CommentThread.id == thread_id))
    if owner is None or (article_id is not None and owner != article_id):
        raise NotFound(f"Comment thread {thread_id} does not exist"
                       + (f" on article {article_id}." if article_id is not None else "."),
                       thread_id=thread_id)
    loaded = load_article(session, owner, actor, lock=True)
    thread = session.scalars(
        select(CommentThread).where(CommentThread.id == thread_id)
        .execution_options(populate_existing=True)).one()
    return thread, loaded


def reply(session: Session, actor: AnyActor, thread_id: int, body: Any, *,
          article_id: int | None = None) -> ThreadMessage:
    """Answer a thread (open or resolved: answering does not change its state)."""
    text = _text(body)
    thread, loaded = _thread_for_write(session, actor, thread_id, article_id)
    _may_take_part(session, actor, loaded)
    rev = _current(loaded)
    now = utcnow()
    message = ThreadMessage(thread_id=thread.id, author_id=actor.id, revision_id=rev.id,
                            body=text, created_at=now)
    session.add(message)
    session.flush()
    _event(session, actor, "thread.reply", thread, rev, comment=text, message=message.id)
    _tell(session, actor, "reply", thread, rev, message.id, text, now)
    return message


def _settle(session: Session, actor: AnyActor, thread_id: int, article_id: int | None,
            change: str) -> CommentThread:
    verb, want, becomes = (("resolve", "open", "resolved") if change == "resolve"
                           else ("reopen", "resolved", "open"))
    thread, loaded = _thread_for_write(session, actor, thread_id, article_id)
    denied = who.settle(actor, thread, article_author_id=loaded.article.author_id, verb=verb)
    if denied:
        raise denied
    if thread.state != want:
        already = ALREADY[thread.state]
        raise Conflict(f"This thread is already {thread.state}.", code=already,
                       state=thread.state)
    rev = _current(loaded)
    now = utcnow()
    thread.state = becomes
    change_row = ThreadStateChange(thread_id=thread.id, change=change, actor_id=actor.id,
                                   revision_id=rev.id, at=now)
    session.add(change_row)
    session.flush()
    _event(session, actor, f"thread.{change}", thread, rev, state=becomes,
           blocking=thread.blocking)
    _tell(session, actor, change, thread, rev, change_row.id, None, now)
    return thread


def resolve(session: Session, actor: AnyActor, thread_id: int, *,
            article_id: int | None = None) -> CommentThread:
    return _settle(session, actor, thread_id, article_id, "resolve")


def reopen(session: Session, actor: AnyActor, thread_id: int, *,
           article_id: int | None = None) -> CommentThread:
    return _settle(session, actor, thread_id, article_id, "reopen")
