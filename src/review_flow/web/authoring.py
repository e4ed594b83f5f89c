"""Authors: "My articles", the editor (title, Markdown body, references), earlier revisions.

Thin handlers: read the form, call ``articles.writes`` or ``articles.actions``, flash what
happened. The editor works without JavaScript: adding, removing and reordering references
are submit buttons that return the form with the rows changed and nothing saved; so is
"Preview", which shows the text as readers would see it above the form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from review_flow.articles import actions, queries, writes
from review_flow.articles.models import Article
from review_flow.articles.rendering import RenderedRevision, render_preview
from review_flow.errors import (
    Conflict,
    GuardFailed,
    InvalidTransition,
    PermissionDenied,
    ValidationFailed,
)
from review_flow.web import access, keyset, read_models
from review_flow.web import reference_checks as refchecks
from review_flow.web import threads as threads_web
from review_flow.web.context import abandon, current_actor, db_session
from review_flow.web.forms import ActionForm, ArticleForm, CommentForm, edit_rows
from review_flow.workflow import permissions
from review_flow.workflow.definition import ACTIONS_BY_NAME, EDITABLE_STATES

bp = Blueprint("authoring", __name__)

# The editor runs one script of its own (static/editor-preview.js, the live preview);
# nothing else on the page may, and nothing inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

BLANK_ROW = {"title": "", "url": "", "doi": "", "pmid": ""}


MY_ARTICLES_PAGE = 50


@bp.get("/my-articles")
def my_articles() -> ResponseReturnValue:
    """The author's articles, last changed first, a page at a time (``after``)."""
    after = keyset.decode(request.args.get("after"))
    rows = read_models.my_articles(db_session(), current_user.id, limit=MY_ARTICLES_PAGE + 1,
                                   after=(after.at, after.id) if after else None)
    more = rows[MY_ARTICLES_PAGE - 1] if len(rows) > MY_ARTICLES_PAGE else None
    return render_template(
        "authoring/my_articles.html", rows=rows[:MY_ARTICLES_PAGE], paged=after is not None,
        next_after=keyset.encode(more.updated_at, more.id) if more else None)


def _form_with_rows(rows: list[dict[str, Any]], *, title: str, body: str,
                    professional_body: str, expected_version: int | None) -> ArticleForm:
    """The editor's form from values; every field is required here, so a path that
    re-shows the form (preview, reference rows, a thread button) cannot drop one."""
    return ArticleForm(formdata=None, data={
        "title": title, "body": body, "professional_body": professional_body,
        "references": rows or [dict(BLANK_ROW)],
        "expected_version": expected_version,
    })


def _field_errors(exc: ValidationFailed | GuardFailed) -> dict[str, str]:
    fields = exc.details.get("fields")
    return dict(fields) if isinstance(fields, dict) else {}


_ROW_PARTS = ("title", "url", "doi", "pmid")


def _problems(exc: ValidationFailed | GuardFailed,
              form: ArticleForm) -> tuple[list[Markup | str], dict[int, list[str]]]:
    """The error summary (one line per problem, linked to its field) and each reference
    row's own messages.

    The service numbers references among the rows it was sent; blank rows are dropped
    before it sees them, so its reference ``n`` is the ``n``-th non-blank row here, and the
    person is told the number printed beside that row.
    """
    non_blank = [i for i, entry in enumerate(form.references)
                 if entry.form.as_reference() is not None]
    summary: list[Markup | str] = []
    rows: dict[int, list[str]] = {}
    for p in exc.details.get("problems") or [{"message": exc.message}]:
        field, number = p.get("field") or "", p.get("reference")
        if isinstance(number, int) and 0 < number <= len(non_blank):
            row = non_blank[number - 1]
            reason = str(p.get("reason") or p["message"])
            rows.setdefault(row, []).append(reason[:1].upper() + reason[1:])
            part = field.rpartition(".")[2]
            anchor = f"references-{row}-{part if part in _ROW_PARTS else 'title'}"
            summary.append(Markup('<a href="#{}">Reference {}</a>: {}').format(
                anchor, row + 1, reason))
        elif field in ("title", "body"):
            summary.append(Markup('<a href="#{}">{}</a>').format(field, p["message"]))
        else:
            summary.append(p["message"])
    return summary, rows


def _preview(form: ArticleForm, article: Article | None) -> ResponseReturnValue:
    """The form again with every value as typed (blank reference rows too) and, above it,
    the text rendered as readers would see it. Nothing is saved or checked."""
    again = _form_with_rows(form.rows(), title=form.title.data or "", body=form.body.data or "",
                            professional_body=form.professional_body.data or "",
                            expected_version=form.expected_version.data)
    rendered = render_preview((form.body.data or "").replace("\r\n", "\n"),
                              form.references_data())
    return _render_editor(again, article, preview=rendered)


def _render_editor(form: ArticleForm, article: Article | None, *, status: int = 200,
                   errors: list[Markup | str] | None = None,
                   fields: dict[str, str] | None = None,
                   row_errors: dict[int, list[str]] | None = None,
                   conflict: dict[str, Any] | None = None,
                   preview: RenderedRevision | None = None) -> ResponseReturnValue:
    session = db_session()
    actor = current_actor()
    context: dict[str, Any] = {
        "form": form,
        "article": article,
        "errors": errors or [],
        "fields": fields or {},
        "row_errors": row_errors or {},
        "action_form": ActionForm(formdata=None),
        "comment_form": CommentForm(formdata=None),
        "actions": ACTIONS_BY_NAME,
        "conflict": conflict,
        "preview": preview,
    }
    if article is not None:
        revisions = read_models.revision_list(session, article.id)
        current = article.current_revision
        context.update(
            allowed=queries.allowed_actions(session, actor, article),
            threads=threads_web.panel(
                session, actor, article, in_editor=article.state in EDITABLE_STATES,
                return_to=url_for("authoring.edit_article", article_id=article.id)),
            comments=read_models.comments_for(session, article.id),
            revisions=revisions,
            editable=article.state in EDITABLE_STATES,
            lint=refchecks.lint_of(current),
            # An editor's revision waiting to be submitted: say whose it is and who may
            # submit it, above all to the author, who did not write it.
            reviser=revisions[0].author_name if (
                current is not None and current.author_id != article.author_id
                and article.state in ("draft", "changes_requested") and revisions) else None,
        )
    response = current_app.make_response((render_template("authoring/editor.html", **context),
                                           status))
    response.headers["Content-Security-Policy"] = CSP  # the live preview's own script
    return response


def _op() -> str:
    return request.form.get("op", "save")


# "Save my text over it": after a conflict the person has seen what changed and chooses
# to save anyway, against the version the conflict showed (still refused if it moved on).
_OVERWRITE = "overwrite-"


def _expected_version(form: ArticleForm, op: str) -> int | None:
    if op.startswith(_OVERWRITE):
        return read_models.parse_cursor(op.removeprefix(_OVERWRITE), read_models.MAX_ID)
    return form.expected_version.data


def _conflict(exc: Conflict) -> dict[str, Any] | None:
    """What changed since the editor was opened, for the conflict notice (None when the
    conflict is not a stale version)."""
    if "current_version" not in exc.details:
        return None
    return {"version": exc.details["current_version"],
            "changes": [dict(c, at=datetime.fromisoformat(c["at"]))
                        for c in exc.details.get("changes", [])]}


@bp.route("/write/new", methods=["GET", "POST"])
def new_article() -> ResponseReturnValue:
    if request.method == "GET":
        return _render_editor(_form_with_rows([], title="", body="", professional_body="",
                                              expected_version=None), None)
    form = ArticleForm()
    op = _op()
    rows = edit_rows(form.rows(), op)
    if rows is not None:
        return _render_editor(_form_with_rows(rows, title=form.title.data or "",
                                              body=form.body.data or "",
                                              professional_body=form.professional_body.data
                                              or "", expected_version=None), None)
    if op == "preview":
        return _preview(form, None)
    session = db_session()
    actor = current_actor()
    try:
        article = writes.create_article(session, actor, title=form.title.data or "",
                                        body=form.body.data or "",
                                        professional_body=form.professional_body.data,
                                        references=form.references_data())
        if op == "submit":
            actions.perform_action(session, actor, article.id, "submit")
    except (ValidationFailed, GuardFailed) as exc:
        abandon()
        summary, row_problems = _problems(exc, form)
        return _render_editor(form, None, status=422, errors=summary,
                              fields=_field_errors(exc), row_errors=row_problems)
    if op == "submit":
        flash("Submitted for review. A reviewer will pick it up from the review queue.", "success")
    else:
        flash("Draft saved as revision 1.", "success")
    return redirect(url_for("authoring.edit_article", article_id=article.id), 303)


def _load_for_author(article_id: int) -> Article:
    article = queries.get_article(db_session(), article_id)
    denied = permissions.may_edit(current_actor(), article_author_id=article.author_id)
    if denied:
        raise denied
    return article


@bp.route("/write/<id:article_id>", methods=["GET", "POST"])
def edit_article(article_id: int) -> ResponseReturnValue:
    article = _load_for_author(article_id)
    current = article.current_revision
    assert current is not None
    if request.method == "GET":
        form = _form_with_rows([dict(BLANK_ROW, **r) for r in current.references],
                               title=current.title, body=current.body,
                               professional_body=current.professional_body or "",
                               expected_version=article.version)
        return _render_editor(form, article)
    form = ArticleForm()
    op = _op()
    if threads_web.is_editor_op(op):
        # A comment or thread button of the editor's own form: post it, keep the typed text.
        errors = threads_web.editor_op(article.id, op, request.form)
        return _render_editor(_form_with_rows(form.rows(), title=form.title.data or "",
                                              body=form.body.data or "",
                                              professional_body=form.professional_body.data
                                              or "",
                                              expected_version=form.expected_version.data),
                              article, status=422 if errors else 200, errors=errors)
    rows = edit_rows(form.rows(), op)
    if rows is not None:
        return _render_editor(_form_with_rows(rows, title=form.title.data or "",
                                              body=form.body.data or "",
                                              professional_body=form.professional_body.data
                                              or "",
                                              expected_version=form.expected_version.data),
                              article)
    if op == "preview":
        return _preview(form, article)
    session = db_session()
    actor = current_actor()
    try:
        _, revision = writes.edit_article(
            session, actor, article.id, title=form.title.data or "", body=form.body.data or "",
            professional_body=form.professional_body.data,
            references=form.references_data(), generator=current.generator,
            expected_version=_expected_version(form, op),
        )
        if op == "submit":
            actions.perform_action(session, actor, article.id, "submit")
    except (ValidationFailed, GuardFailed) as exc:
        abandon()
        session.expire_all()
        summary, row_problems = _problems(exc, form)
        return _render_editor(form, queries.get_article(session, article_id), status=422,
                              errors=summary, fields=_field_errors(exc), row_errors=row_problems)
    except PermissionDenied as exc:
        # "Submit for review" by someone the workflow does not allow (another editor's
        # revision): say why on the editor, with the text still in the form.
        abandon()
        session.expire_all()
        return _render_editor(form, queries.get_article(session, article_id), status=403,
                              errors=[exc.message, "Nothing was saved. Your text is still in "
                                      "the form below."])
    except (Conflict, InvalidTransition) as exc:
        abandon()
        session.expire_all()
        conflict = _conflict(exc) if isinstance(exc, Conflict) else None
        return _render_editor(
            form, queries.get_article(session, article_id), status=409,
            errors=[] if conflict else [
                exc.message, "Nothing was saved. Your text is still in the form below: "
                "copy what you need, then reload the page to see the latest version."],
            conflict=conflict,
        )
    saved = (f"Saved as revision {revision.number}." if revision
             else "No changes: no new revision was made.")
    if op == "submit":
        flash(f"{saved} Submitted for review.", "success")
    else:
        flash(saved, "success" if revision else "info")
    return redirect(url_for("authoring.edit_article", article_id=article.id), 303)


@bp.get("/write/<id:article_id>/revisions/<id:number>")
def revision(article_id: int, number: int) -> ResponseReturnValue:
    session = db_session()
    article = queries.get_article(session, article_id)
    if not access.can_view_revisions(current_user, is_article_author=(
            article.author_id == current_user.id)):
        abort(403)
    rev = read_models.revision_by_number(session, article_id, number)
    if rev is None:
        abort(404)
    signatures = read_models.signatures_for(session, rev.id)
    return render_template(
        "authoring/revision.html", article=article, rev=rev, signatures=signatures,
        checklists=refchecks.checklists_for(session, signatures),
        revisions=read_models.revision_list(session, article_id),
        actions=ACTIONS_BY_NAME,
    )
