"""What readers see: the home page, ``/articles/<slug>`` and ``/editorial-policy``.

No sign-in, no forms, two or three queries per page; the body HTML comes from the
per-revision rendering cache (``articles/rendering.py``), and a whole article page is
reused while one cheap query shows that nothing on it has changed (:class:`PageCache`).

HTTP caching: a reader without a session gets a strong ETag (``304`` on ``If-None-Match``)
and a ``Cache-Control`` that lets a CDN keep the page a minute and serve it stale while it
revalidates or when we fail; anyone with a session gets ``private, no-store`` (their page
carries their name). When an article's page may have changed, a ``page.changed`` webhook
(``notifications/hooks.py``) tells whoever runs the CDN to purge it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from review_flow.app import database
from review_flow.articles import search
from review_flow.articles.rendering import render_revision
from review_flow.errors import ValidationFailed
from review_flow.policy import service as policy_service
from review_flow.timeutil import utcnow
from review_flow.web import audience, keyset, read_models, truthy
from review_flow.web.context import db_session
from review_flow.web.templating import STATE_LABELS
from review_flow.web.transparency import transparency
from review_flow.workflow import svg
from review_flow.workflow.definition import (
    ACTIONS,
    ACTIONS_BY_NAME,
    STATES,
    STEPPER,
    WORKFLOW_VERSION,
)

bp = Blueprint("public", __name__)
bp.add_url_rule("/transparency", view_func=transparency)  # web/transparency.py

DISCLAIMER = audience.PATIENT_DISCLAIMER


HOME_PAGE = 20


@bp.get("/")
def index() -> ResponseReturnValue:
    """The home page: recently reviewed articles, newest approval first, a page at a
    time (``after``), narrowed by a title search (``q``)."""
    query = request.args.get("q", "")
    shown_query = "".join(c for c in query if c.isprintable())[:search.MAX_QUERY]
    words, problem = None, None
    if query.strip():
        try:
            words = search.terms(query)
        except ValidationFailed as exc:
            problem = exc.message
    after = keyset.decode(request.args.get("after"))
    rows = [] if problem else read_models.public_index(
        db_session(), limit=HOME_PAGE + 1, words=words,
        after=(after.at, after.id) if after else None)
    more = rows[HOME_PAGE - 1] if len(rows) > HOME_PAGE else None
    html = render_template(
        "public/index.html", rows=rows[:HOME_PAGE], query=shown_query if words or problem
        else "", searching=words is not None, problem=problem, paged=after is not None,
        next_after=keyset.encode(more.published_at, more.id) if more else None,
    )
    return (html, 400) if problem else html


def structured_data(item: read_models.PublicArticle, url: str,
                    shown_audience: str = audience.PATIENT) -> dict[str, Any] | None:
    """schema.org MedicalWebPage, from the approval itself; None while text is unapproved.
    Says whom the shown text is written for (and where the other version is)."""
    if not item.approved or not item.approvals:
        return None
    last = item.approvals[-1]
    reviewers = [
        {
            "@type": "Person",
            "name": a.name,
            **({"honorificSuffix": a.credentials,
                "hasCredential": {"@type": "EducationalOccupationalCredential",
                                  "credentialCategory": a.credentials}}
               if a.credentials else {}),
            # A disclosed conflict of interest travels with the reviewer's name.
            **({"description": f"Disclosed conflict of interest: {a.conflict}"}
               if a.conflict else {}),
        }
        for a in item.approvals
    ]
    return {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": item.title,
        "url": url,
        "dateModified": item.shown_at.isoformat(),
        "lastReviewed": last.signed_at.date().isoformat(),
        "reviewedBy": reviewers[0] if len(reviewers) == 1 else reviewers,
        **audience.structured(url, shown_audience, bool(item.professional_body)),
    }


class PageCache:
    """Public pages as rendered for readers without a session, per process.

    An entry is served only if the article's version and the policy version are what
    they were when it was rendered (``read_models.public_validator``, one indexed query
    per request), so an action in another worker or on another server is seen at once.
    Signed-in people and anyone carrying a session (flash messages) always get a fresh
    render.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, ...], tuple[Any, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], validator: Any) -> tuple[str, str] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != validator:
                return None
            self._entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple[str, ...], validator: Any, html: str) -> str:
        etag = _etag_of(html)
        with self._lock:
            self._entries[key] = (validator, html, etag)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return etag

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def page_cache() -> PageCache:
    """This app's cache (one per app: apps on different databases never share pages)."""
    cache: PageCache | None = current_app.extensions.get("review_flow.page_cache")
    if cache is None:
        cache = current_app.extensions["review_flow.page_cache"] = PageCache()
    return cache


# Readers without a session: a CDN may keep the page a minute (``s-maxage``), go on
# serving it for another minute while it revalidates (a 304 carries no body) and for a
# day while the origin fails; a change is pushed out sooner by the ``page.changed``
# webhook (purge). A browser revalidates every time (``max-age=0``): nobody can purge
# it, and a retraction must not linger on a reader's screen. Vary: the page differs for
# people with a session.
PUBLIC_CACHE_CONTROL = (
    "public, max-age=0, s-maxage=60, stale-while-revalidate=60, stale-if-error=86400"
)
PRIVATE_CACHE_CONTROL = "private, no-store"
VARY = "Cookie"


def _anonymous() -> bool:
    """No session or remember-me cookie: the page is the same for every such reader."""
    cookies = (current_app.config.get("SESSION_COOKIE_NAME", "session"),
               current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return not any(name in request.cookies for name in cookies)


def _cacheable() -> bool:
    """Served from (and stored in) this process's :class:`PageCache`."""
    return _anonymous() and truthy(current_app.config.get("PUBLIC_PAGE_CACHE", True))


def _page_response(html: str, etag: str) -> Response:
    """The page for readers without a session, with a strong ETag; ``304 Not Modified``
    when the reader (or a CDN revalidating) already has it."""
    response = Response(html, mimetype="text/html", headers={
        "Cache-Control": PUBLIC_CACHE_CONTROL, "Vary": VARY})
    response.set_etag(etag)
    response.make_conditional(request)  # in place: 304 without the body when it matches
    return response


def _etag_of(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:32]


@bp.after_request
def _http_caching(response: Response) -> Response:
    """Caching headers for the pages that do not set their own (index, editorial policy):
    public with an ETag for readers without a session, private otherwise."""
    if "Cache-Control" in response.headers or request.method not in ("GET", "HEAD"):
        return response
    response.vary.add(VARY)
    if response.status_code != 200 or not _anonymous() or session.modified:
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    response.set_etag(_etag_of(response.get_data(as_text=True)))
    response.make_conditional(request)
    return response


@bp.get("/articles/<slug>")
def article(slug: str) -> ResponseReturnValue:
    """The article for the audience the reader chose (``?audience=``, remembered in a
    cookie; web/audience.py). A response that sets that cookie is private: a shared
    cache must not hand one reader's choice to the next."""
    choice = audience.chosen(request)
    response = _article_page(slug, choice)
    if audience.requested(request) is not None:
        audience.remember(response, choice,
                          secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
    return response


def _article_page(slug: str, choice: str) -> Response:
    cacheable = _cacheable()
    key = (request.host, slug, choice)
    validator = None
    if cacheable:
        validator = read_models.public_validator(database(current_app).engine, slug)
        if validator is None:
            abort(404)
        hit = page_cache().get(key, validator)
        if hit is not None:
            return _page_response(*hit)
    item = read_models.public_article(db_session(), slug)
    if item is None:
        abort(404)
    shown = audience.shown(choice, item.professional_body)
    text = item.professional_body if shown == audience.PROFESSIONAL else item.body
    rendered = None if item.retracted or text is None else render_revision(
        item.content_hash, text, item.references)
    url = url_for("public.article", slug=item.slug, _external=True)
    html = render_template(
        "public/article.html", item=item, rendered=rendered, stepper=STEPPER,
        audience=shown, audiences=audience.AUDIENCES, audience_labels=audience.LABELS,
        audience_query=audience.QUERY, offer_choice=bool(item.professional_body),
        disclaimer=audience.DISCLAIMERS[shown], jsonld=structured_data(item, url, shown),
    )
    if cacheable:
        return _page_response(html, page_cache().put(key, validator, html))
    if _anonymous():  # the page cache is turned off
        return _page_response(html, _etag_of(html))
    return Response(html, mimetype="text/html",
                    headers={"Cache-Control": PRIVATE_CACHE_CONTROL, "Vary": VARY})


@bp.get("/editorial-policy")
def editorial_policy() -> ResponseReturnValue:
    """The policy in force in words, the board, and the workflow as a picture.

    Rendered on every request (the ``_http_caching`` ETag makes a repeat a 304): what it
    shows comes from the newest policy version and the board, both read here, so a new
    version shows at once; only the drawing, which depends on the workflow definition
    alone, is kept per process (``workflow.svg``)."""
    session = db_session()
    version, policy = policy_service.active_policy(session)
    return render_template(
        "public/editorial_policy.html", policy=policy, policy_version=version,
        board=read_models.board_members(
            session, verified_on=utcnow().date() if policy.require_verified_credentials else None),
        diagram=Markup(svg.render(STATE_LABELS)),  # every text in it escaped by svg.py
        actions=[a for a in ACTIONS if not a.internal], states=STATES,
        revise=ACTIONS_BY_NAME["revise"], workflow_version=WORKFLOW_VERSION,
        disclaimer=DISCLAIMER,
    )
