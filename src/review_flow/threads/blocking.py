"""The approve guard's question: which blocking threads are still open, in words.

Kept apart from the engine so the guard itself stays a pure function of its context
(``workflow/engine.py``): the service asks this module, then fires.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from review_flow.articles.models import Revision
from review_flow.articles.paragraphs import paragraphs
from review_flow.threads.anchoring import locate
from review_flow.threads.models import CommentThread
from review_flow.users.models import User


def where_said(paragraph: int | None, anchored_number: int, location_paragraph: int | None,
               current_number: int) -> str:
    """'on paragraph 3', 'on paragraph 2 of revision 1 (outdated)', 'on the whole article'."""
    if paragraph is None:
        return "on the whole article"
    if location_paragraph is not None:
        return f"on paragraph {location_paragraph}"
    if anchored_number == current_number:
        return f"on paragraph {paragraph}"
    return f"on paragraph {paragraph} of revision {anchored_number} (outdated)"


def open_blocking(session: Session, article_id: int, current: Revision) -> list[dict[str, object]]:
    """The article's open blocking threads, each with a sentence naming it, oldest first."""
    rows = session.execute(
        select(CommentThread.id, CommentThread.paragraph, CommentThread.quote,
               CommentThread.revision_id, Revision.number, User.name)
        .join(Revision, Revision.id == CommentThread.revision_id)
        .join(User, User.id == CommentThread.opened_by_id)
        # Written as the partial index's own predicate, so SQLite sees that it may use it.
        .where(CommentThread.article_id == article_id,
               text("comment_threads.state = 'open' AND comment_threads.blocking"))
        .order_by(CommentThread.id)
    ).all()
    if not rows:
        return []
    paras = paragraphs(current.body)
    out: list[dict[str, object]] = []
    for r in rows:
        here = locate(r.quote, r.paragraph, r.revision_id == current.id, paras)
        said = where_said(r.paragraph, r.number, here.paragraph if here else None,
                          current.number)
        out.append({"id": r.id, "message": f"Blocking comment {said} by {r.name} is still open."})
    return out
