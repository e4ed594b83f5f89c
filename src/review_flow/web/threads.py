"""Comment threads in the browser: the panel the review page and the editor show, the
forms that open, answer, resolve and reopen threads, and the editor's thread buttons.

Thin: read the form, call ``threads.service``, say what happened. On the editor of an
article being revised, the thread buttons belong to the editor's own form (``form=``
attributes), so answering a reviewer never throws away the text being edited: the
editor comes back with the typed text in place, unsaved, as its reference-row buttons do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from review_flow.actor import Actor
from review_flow.articles.comments import add_comment
from review_flow.articles.models import Article, Revision
from review_flow.articles.paragraphs import Paragraph, paragraphs
from review_flow.articles.queries import get_article
from review_flow.articles.rendering import markdown_to_html
from review_flow.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from review_flow.threads import participation, service, who
from review_flow.threads.reading import ThreadView, threads_for
from review_flow.web import access
from review_flow.web.auth import safe_next
from review_flow.web.context import abandon, current_actor, db_session

bp = Blueprint("threads", __name__)

# The review page shows this many threads; the API pages through any number.
SHOWN = 200


def label(t: ThreadView) -> str:
    """'blocking comment on paragraph 3 by Dr. X': what buttons and headings call it."""
    return f"{'blocking ' if t.blocking else ''}comment {t.where} by {t.opened_by_name}"


@dataclass
class ParagraphThreads:
    paragraph: Paragraph
    threads: list[ThreadView]


@dataclass
class Panel:
    article_id: int
    revision: int
    paragraphs: list[ParagraphThreads]
    outdated: list[ThreadView]
    whole: list[ThreadView]
    may_take_part: bool
    may_block: bool
    may_settle: set[int]
    html: dict[int, str]
    return_to: str
    # On the editor of a text being revised: thread buttons submit the editor's form.
    in_editor: bool = False
    more: bool = False
    open_blocking: list[ThreadView] = field(default_factory=list)
    # A refused new comment, shown again in its paragraph's form with the reason.
    draft: dict[str, Any] | None = None
    # A refused reply, resolve or reopen: the reason beside its thread (``thread``), and a
    # reply's typed text (``body``, None for resolve and reopen) back in its form.
    thread_error: dict[str, Any] | None = None
    # Why this person may not comment (shown instead of the forms), when they may not.
    refusal: str | None = None

    @property
    def all(self) -> list[ThreadView]:
        return ([t for p in self.paragraphs for t in p.threads] + self.outdated + self.whole)

    def label(self, t: ThreadView) -> str:
        return label(t)

    def sentence(self, t: ThreadView) -> str:
        """The label as the start of a sentence (names keep their capitals)."""
        text = label(t)
        return text[:1].upper() + text[1:]


def _wrote_revision(session: Session, article_id: int, user_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        Revision.article_id == article_id, Revision.author_id == user_id))))


def panel(session: Session, actor: Actor, article: Article, *, return_to: str,
          in_editor: bool = False) -> Panel:
    """Everything the thread partial shows for the article's current revision."""
    current = article.current_revision
    assert current is not None
    views = threads_for(session, article.id, current, limit=SHOWN + 1)
    more = len(views) > SHOWN
    views = views[:SHOWN]
    paras = paragraphs(current.body)
    by_paragraph: dict[int, list[ThreadView]] = {}
    outdated, whole = [], []
    for t in views:
        if t.location is not None:
            by_paragraph.setdefault(t.location.paragraph, []).append(t)
        elif t.paragraph is None:
            whole.append(t)
        else:
            outdated.append(t)
    wrote = _wrote_revision(session, article.id, actor.id)
    denied = participation.refusal(session, actor, article_id=article.id,
                                   article_author_id=article.author_id, wrote_revision=wrote)
    return Panel(
        article_id=article.id, revision=current.number,
        paragraphs=[ParagraphThreads(p, by_paragraph.get(p.number, [])) for p in paras],
        outdated=outdated, whole=whole,
        may_take_part=denied is None,
        refusal=denied.message if denied is not None else None,
        may_block=who.mark_blocking(actor, article_author_id=article.author_id,
                                    wrote_revision=wrote) is None,
        may_settle={t.id for t in views if actor.id in (t.opened_by_id, article.author_id)},
        html={m.id: markdown_to_html(m.body) for t in views for m in t.messages},
        return_to=return_to, in_editor=in_editor, more=more,
        open_blocking=[t for t in views if t.blocking and t.state == "open"],
    )


def _back(article_id: int) -> str:
    default = (url_for("review.article", article_id=article_id)
               if access.can_review(current_user)
               else url_for("authoring.edit_article", article_id=article_id))
    return safe_next(request.form.get("return_to"), default)


Refusal = ValidationFailed | Conflict | PermissionDenied


def _refused(exc: ValidationFailed | Conflict, back: str) -> ResponseReturnValue:
    abandon()
    flash(f"{exc.message} Nothing was posted.", "error")
    return redirect(back, 303)


def _revision_number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _review_page_again(article_id: int, exc: Refusal, *,
                       thread_id: int | None = None) -> ResponseReturnValue:
    """The review page with the refused comment back in its paragraph's form (or the
    refused reply in its thread's form, ``thread_id``), the reason beside it: a reviewer
    does not type a long comment twice for a mistyped passage or a cancelled assignment.
    Nothing is written (the transaction is rolled back first)."""
    from review_flow.web.review import review_context  # the review page imports this module

    abandon()
    session = db_session()
    session.expire_all()
    context = review_context(get_article(session, article_id))
    form = request.form
    error = f"{exc.message} Nothing was posted."
    if thread_id is not None:
        context["threads"].thread_error = {
            "thread": thread_id, "error": error,
            "body": form.get("body", "") if request.endpoint == "threads.reply" else None}
    else:
        context["threads"].draft = {
            "paragraph": _revision_number(form.get("paragraph")), "body": form.get("body", ""),
            "quote": form.get("quote", ""), "blocking": form.get("blocking") == "y",
            "error": error,
        }
    return render_template("review/article.html", **context), exc.status


def _on_review_page(article_id: int, back: str) -> bool:
    return back == url_for("review.article", article_id=article_id)


@bp.post("/articles/<id:article_id>/threads")
def open_thread(article_id: int) -> ResponseReturnValue:
    form = request.form
    back = _back(article_id)
    try:
        thread = service.open_thread(
            db_session(), current_actor(), article_id, form.get("body"),
            paragraph=form.get("paragraph") or None, quote=form.get("quote") or None,
            blocking=form.get("blocking") == "y",
            expected_revision=_revision_number(form.get("revision")))
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        if _on_review_page(article_id, back):
            return _review_page_again(article_id, exc)
        if isinstance(exc, PermissionDenied):
            raise  # not the review page's form: the error page says why
        return _refused(exc, back)
    flash("Blocking comment posted: approval waits until it is resolved." if thread.blocking
          else "Comment posted.", "success")
    return redirect(f"{back}#thread-{thread.id}", 303)


@bp.post("/articles/<id:article_id>/threads/<id:thread_id>/replies")
def reply(article_id: int, thread_id: int) -> ResponseReturnValue:
    back = _back(article_id)
    try:
        service.reply(db_session(), current_actor(), thread_id, request.form.get("body"),
                      article_id=article_id)
    except PermissionDenied as exc:  # e.g. the assignment was cancelled: keep the reply
        if _on_review_page(article_id, back):
            return _review_page_again(article_id, exc, thread_id=thread_id)
        raise
    except (ValidationFailed, Conflict) as exc:
        return _refused(exc, back)
    flash("Reply posted.", "success")
    return redirect(f"{back}#thread-{thread_id}", 303)


@bp.post("/articles/<id:article_id>/threads/<id:thread_id>/<any(resolve, reopen):change>")
def settle(article_id: int, thread_id: int, change: str) -> ResponseReturnValue:
    back = _back(article_id)
    act = service.resolve if change == "resolve" else service.reopen
    try:
        act(db_session(), current_actor(), thread_id, article_id=article_id)
    except PermissionDenied as exc:
        if _on_review_page(article_id, back):
            return _review_page_again(article_id, exc, thread_id=thread_id)
        raise
    except (ValidationFailed, Conflict) as exc:
        return _refused(exc, back)
    flash("Thread resolved." if change == "resolve" else "Thread reopened.", "success")
    return redirect(f"{back}#thread-{thread_id}", 303)


# --- the editor's own form ------------------------------------------------------------

EDITOR_OPS = ("comment", "thread-reply-", "thread-resolve-", "thread-reopen-")


def is_editor_op(op: str) -> bool:
    return op == "comment" or op.startswith(EDITOR_OPS[1:])


def editor_op(article_id: int, op: str, form: Any) -> list[str]:
    """Do a comment or thread op posted with the editor's form (the draft is not saved:
    the caller shows the editor again with the typed text). Returns error messages."""
    session = db_session()
    actor = current_actor()
    try:
        if op == "comment":
            add_comment(session, actor, article_id, form.get("comment_body"))
            flash("Comment posted. Your edits are still here, not saved yet.", "success")
            return []
        kind, _, ident = op.removeprefix("thread-").partition("-")
        if not ident.isdigit() or len(ident) > 12:
            raise NotFound("That comment thread does not exist.")
        thread_id = int(ident)
        if kind == "reply":
            service.reply(session, actor, thread_id, form.get(f"reply-{thread_id}"),
                          article_id=article_id)
            flash("Reply posted. Your edits are still here, not saved yet.", "success")
        elif kind in ("resolve", "reopen"):
            act = service.resolve if kind == "resolve" else service.reopen
            act(session, actor, thread_id, article_id=article_id)
            flash(f"Thread {'resolved' if kind == 'resolve' else 'reopened'}. Your edits are "
                  "still here, not saved yet.", "success")
        else:
            raise NotFound("That comment thread does not exist.")
    except ValidationFailed as exc:
        abandon()
        message = ("Write a comment before posting it." if exc.message == "comment: required"
                   else exc.message)
        return [f"{message} Nothing was posted; your edits are still here, not saved yet."]
    except Conflict as exc:
        abandon()
        return [f"{exc.message} Your edits are still here, not saved yet."]
    return []
