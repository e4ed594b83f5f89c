"""``/api/v1/articles/{id}/threads``: comment threads anchored to the text. Thin: parse,
call ``threads/service.py``, shape the answer from ``threads/reading.py``.

Whoever may read the article lists its threads (a pipeline's token reads the threads on
its own drafts, to answer them); the service says who may open, reply, resolve, reopen."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.api import document, idempotency, pagination
from review_flow.api import schemas as s
from review_flow.api.article_routes import _visible_article
from review_flow.api.blueprint import INT_ID, bp, page, read, responses, spec, write
from review_flow.articles.models import Article
from review_flow.threads import service
from review_flow.threads.reading import threads_for


def _shape(session: Session, article_id: int, thread_id: int) -> dict[str, Any]:
    article = session.get(Article, article_id)
    assert article is not None and article.current_revision is not None
    (view,) = threads_for(session, article_id, article.current_revision, thread_id=thread_id)
    return view.as_dict()


@bp.get(f"/articles/<{INT_ID}:article_id>/threads")
@spec.validate(query=s.ThreadQuery, resp=responses(HTTP_200=s.ThreadList), tags=["threads"])
def list_threads(article_id: int, query: s.ThreadQuery) -> Any:
    """The article's comment threads, oldest first, each with where it sits on the
    current revision (or ``outdated``), its messages and its resolve/reopen history."""
    after = pagination.decode(query.cursor, "threads")

    def work(session: Session, actor: Actor) -> Any:
        article = _visible_article(session, actor, article_id)
        assert article.current_revision is not None
        views = threads_for(session, article_id, article.current_revision, after=after,
                            limit=query.limit + 1)
        rows, cursor = page(views, query.limit, "threads", lambda t: t.id)
        return {"items": [t.as_dict() for t in rows], "next_cursor": cursor}

    return read(work)


@bp.post(f"/articles/<{INT_ID}:article_id>/threads")
@document.sends(201, optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(json=s.ThreadOpen, headers=s.IdempotentHeaders,
               resp=responses(HTTP_201=s.Thread), tags=["threads"])
def open_thread(article_id: int, json: s.ThreadOpen) -> Any:
    """Open a thread on the current revision. Refused with a named error for a paragraph
    the revision does not have, a passage not in it, a blocking thread by anyone but a
    reviewer who did not write the article, or someone not on the article. Honours
    ``Idempotency-Key``."""
    body = json

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        thread = service.open_thread(
            session, actor, article_id, body.body, paragraph=body.paragraph, quote=body.quote,
            start=body.start, end=body.end, blocking=body.blocking,
            expected_revision=body.expected_revision)
        return idempotency.Stored(201, _shape(session, article_id, thread.id), {})

    return write(work, idempotent=True)


@bp.post(f"/articles/<{INT_ID}:article_id>/threads/<{INT_ID}:thread_id>/replies")
@document.sends(201, optional=(idempotency.REPLAYED_HEADER,))
@spec.validate(json=s.ThreadReply, headers=s.IdempotentHeaders,
               resp=responses(HTTP_201=s.Thread), tags=["threads"])
def reply_to_thread(article_id: int, thread_id: int, json: s.ThreadReply) -> Any:
    """Reply to a thread; answers the whole thread. Honours ``Idempotency-Key``."""
    body = json

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        service.reply(session, actor, thread_id, body.body, article_id=article_id)
        return idempotency.Stored(201, _shape(session, article_id, thread_id), {})

    return write(work, idempotent=True)


@bp.post(f"/articles/<{INT_ID}:article_id>/threads/<{INT_ID}:thread_id>/resolve")
@spec.validate(resp=responses(HTTP_200=s.Thread), tags=["threads"])
def resolve_thread(article_id: int, thread_id: int) -> Any:
    """Resolve an open thread: its opener or the article's author. 409
    ``thread_already_resolved`` if it is."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        service.resolve(session, actor, thread_id, article_id=article_id)
        return idempotency.Stored(200, _shape(session, article_id, thread_id), {})

    return write(work)


@bp.post(f"/articles/<{INT_ID}:article_id>/threads/<{INT_ID}:thread_id>/reopen")
@spec.validate(resp=responses(HTTP_200=s.Thread), tags=["threads"])
def reopen_thread(article_id: int, thread_id: int) -> Any:
    """Reopen a resolved thread: its opener or the article's author. 409
    ``thread_already_open`` if it is open."""

    def work(session: Session, actor: Actor) -> idempotency.Stored:
        service.reopen(session, actor, thread_id, article_id=article_id)
        return idempotency.Stored(200, _shape(session, article_id, thread_id), {})

    return write(work)
