"""Route permissions: every route has a rule, every role gets what it may and 403 otherwise,
and no form is accepted without its CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from review_flow.app import create_app
from review_flow.policy import document
from review_flow.policy.models import PolicySettings
from review_flow.threads import service as threads
from review_flow.users import service as users
from review_flow.web import access
from tests.conftest import PASSWORD
from tests.support.webhook_config import register

ROLES = ("anonymous", "author", "reviewer", "editor", "auditor", "admin")
SIGN_IN = "redirect:/sign-in"


def _app(tmp_path: Any) -> Flask:
    return create_app({"TESTING": True, "SECRET_KEY": "t",
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})


def test_every_route_has_an_access_rule(tmp_path: Any) -> None:
    app = _app(tmp_path)
    missing = sorted(
        rule.endpoint for rule in app.url_map.iter_rules() if access.rule_for(rule.endpoint) is None
    )
    assert missing == [], f"routes without an access rule in web/access.py: {missing}"


def test_a_route_without_a_rule_is_refused(tmp_path: Any) -> None:
    app = _app(tmp_path)
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    assert access.rule_for("forgotten") is None
    response = app.test_client().get("/forgotten")
    assert response.status_code == 403
    assert b"secret" not in response.data


def test_rule_table_names_only_existing_endpoints(tmp_path: Any) -> None:
    """A stale entry would hide a renamed route from the url_map walk above."""
    endpoints = {rule.endpoint for rule in _app(tmp_path).url_map.iter_rules()}
    assert set(access.ROUTE_RULES) <= endpoints


# --- every route x every role ----------------------------------------------------------

def _get_matrix(ids: dict[str, int], slug: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(endpoint, url, expected status per role) for every page."""
    a, u = ids["approved"], ids["under_review"]
    everyone = dict.fromkeys(ROLES, 200)
    writer = {"anonymous": SIGN_IN, "author": 200, "editor": 200, "reviewer": 403,
              "auditor": 403, "admin": 403}
    review_reader = {"anonymous": SIGN_IN, "author": 403, "reviewer": 200, "editor": 200,
                     "auditor": 200, "admin": 403}
    admin_only = {**dict.fromkeys(ROLES, 403), "anonymous": SIGN_IN, "admin": 200}
    auditor_or_admin = {**admin_only, "auditor": 200}
    return [
        ("healthz", "/healthz", everyone),
        ("assets.static", "/assets/style.css", everyone),
        ("static", "/static/nothing.css", dict.fromkeys(ROLES, 404)),
        ("public.index", "/", everyone),
        ("public.article", f"/articles/{slug}", everyone),
        ("public.editorial_policy", "/editorial-policy", everyone),
        ("public.transparency", "/transparency", everyone),
        ("auth.sign_in", "/sign-in", {**dict.fromkeys(ROLES, 303), "anonymous": 200}),
        ("authoring.my_articles", "/my-articles", writer),
        ("authoring.new_article", "/write/new", writer),
        ("authoring.edit_article", f"/write/{a}", writer),
        ("authoring.revision", f"/write/{a}/revisions/1",
         {"anonymous": SIGN_IN, "author": 200, "reviewer": 200, "editor": 200,
          "auditor": 200, "admin": 403}),
        ("review.queue", "/review", review_reader),
        ("review.article", f"/review/{u}", review_reader),
        ("review.sign", f"/review/{u}/sign/approve",
         {**review_reader, "editor": 403, "auditor": 403}),
        ("due.review_due_page", "/review/due", {**dict.fromkeys(ROLES, 403),
                                                "anonymous": SIGN_IN, "editor": 200}),
        ("compare.revisions", f"/review/{a}/compare", review_reader),
        ("rounds.assigned", "/review/assigned", review_reader),
        ("rounds.unassigned", "/review/unassigned", review_reader),
        ("rounds.overdue", "/review/overdue", review_reader),
        ("rounds.all_articles", "/editor/articles", {**dict.fromkeys(ROLES, 403),
                                                     "anonymous": SIGN_IN, "editor": 200}),
        ("audit.log", "/audit", {"anonymous": SIGN_IN, "author": 403, "reviewer": 403,
                                 "editor": 200, "auditor": 200, "admin": 200}),
        ("audit.export_events", "/audit/export.csv?action=article.approve",
         {"anonymous": SIGN_IN, "author": 403, "reviewer": 403, "editor": 200,
          "auditor": 200, "admin": 200}),
        ("timeline.article_timeline", f"/audit/articles/{a}/timeline",
         {"anonymous": SIGN_IN, "author": 403, "reviewer": 403, "editor": 200,
          "auditor": 200, "admin": 200}),
        ("as_of.article_as_of", f"/audit/articles/{a}/as-of?at=2026-01-01T00:00:00",
         {"anonymous": SIGN_IN, "author": 403, "reviewer": 403, "editor": 200,
          "auditor": 200, "admin": 200}),
        ("signatures.report_page", "/audit/signatures", auditor_or_admin),
        ("integrity.page", "/audit/integrity", auditor_or_admin),
        ("trail_reviews.page", "/audit/trail-reviews", auditor_or_admin),
        ("admin.tokens_page", "/admin/tokens", {**dict.fromkeys(ROLES, 403),
                                                "anonymous": SIGN_IN, "admin": 200}),
        ("admin.webhooks_page", "/admin/webhooks", {**dict.fromkeys(ROLES, 403),
                                                    "anonymous": SIGN_IN, "admin": 200}),
        ("admin.webhook_deliveries", f"/admin/webhooks/{ids['webhook']}/deliveries",
         {**dict.fromkeys(ROLES, 403), "anonymous": SIGN_IN, "admin": 200}),
        ("policy.page", "/policy", {**dict.fromkeys(ROLES, 403), "anonymous": SIGN_IN,
                                     "editor": 200, "admin": 200}),
        ("account.notifications", "/account/notifications",
         {**dict.fromkeys(ROLES, 200), "anonymous": SIGN_IN}),
        ("account.security", "/account/security",
         {**dict.fromkeys(ROLES, 200), "anonymous": SIGN_IN}),
        ("account.password", "/account/password",
         {**dict.fromkeys(ROLES, 200), "anonymous": SIGN_IN}),
        ("people.people_page", "/admin/people", admin_only),
        ("people.person", f"/admin/people/{ids['invitee']}", admin_only),
        # Public, and the token is the credential: a made-up one is gone for everyone.
        ("invitations.accept", "/invitations/not-a-real-token", dict.fromkeys(ROLES, 410)),
    ]


def _post_matrix(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(endpoint, url, form data, expected status per role) for every form target."""
    s, u, d = ids["submitted"], ids["under_review"], ids["draft"]
    i = ids["invitee"]
    return [
        ("auth.sign_out", "/sign-out", {}, {**dict.fromkeys(ROLES, 303), "anonymous": 401}),
        ("authoring.new_article", "/write/new",
         {"title": "T", "body": "B", "op": "save"},
         {"anonymous": 401, "author": 303, "editor": 303, "reviewer": 403, "auditor": 403,
          "admin": 403}),
        ("authoring.edit_article", f"/write/{d}",
         {"title": "Changed", "body": "B", "op": "save"},
         {"anonymous": 401, "author": 303, "editor": 303, "reviewer": 403, "auditor": 403,
          "admin": 403}),
        ("review.act", f"/articles/{s}/actions/start_review", {},
         {"anonymous": 401, "author": 403, "editor": 403, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        ("review.comment", f"/articles/{u}/comments", {"body": "Looks fine."},
         {"anonymous": 401, "author": 303, "editor": 303, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        # Comment threads: the article's author, reviewers and editors take part; the
        # opener (Dr. Reed) or the author settles; a refusal by the service is a 403.
        ("threads.open_thread", f"/articles/{u}/threads", {"body": "Source?", "paragraph": "1"},
         {"anonymous": 401, "author": 303, "editor": 303, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        ("threads.reply", f"/articles/{u}/threads/{ids['thread']}/replies", {"body": "Yes."},
         {"anonymous": 401, "author": 303, "editor": 303, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        ("threads.settle", f"/articles/{u}/threads/{ids['thread']}/resolve", {},
         {"anonymous": 401, "author": 303, "editor": 403, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        # Reviewers check references; editors and auditors pass the page rule and the
        # service refuses them (403); authors and admins never reach it.
        ("refchecks.check", f"/review/{u}/references/1/check", {"status": "verified"},
         {"anonymous": 401, "author": 403, "editor": 403, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        ("review.sign", f"/review/{u}/sign/approve", {"password": PASSWORD},
         {"anonymous": 401, "author": 403, "editor": 403, "reviewer": 303, "auditor": 403,
          "admin": 403}),
        # Assignment forms: editors only; a refusal by the service is a message (303).
        ("rounds.assign", f"/review/{s}/assignments", {"reviewer": "1"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "editor": 303}),
        ("rounds.reassign", f"/review/{s}/assignments/999/reassign", {"reviewer": "1"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "editor": 303}),
        ("rounds.cancel", f"/review/{s}/assignments/999/cancel", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "editor": 303}),
        # Anyone signed in may answer; the service refuses whoever has no invitation.
        # Auditors change nothing: refused before the view (access.AUDITOR_POSTS).
        ("rounds.respond", f"/review/{s}/respond", {"answer": "accept"},
         {**dict.fromkeys(ROLES, 303), "anonymous": 401, "auditor": 403}),
        # A run is already going (_running_check): the page says so (303), none starts.
        ("integrity.start", "/audit/integrity/runs", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "auditor": 303, "admin": 303}),
        ("trail_reviews.record", "/audit/trail-reviews",
         {"article": str(ids["approved"]), "comment": "Reviewed the approval."},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "auditor": 303, "admin": 303}),
        ("admin.create_token", "/admin/tokens",
         {"email": "author@example.org", "submission_id": "role-matrix-token-form"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 201}),
        # Revoking a token that does not exist: only an admin gets as far as the 404.
        ("admin.revoke_token", "/admin/tokens/999/revoke", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 404}),
        ("admin.create_webhook", "/admin/webhooks",
         {"url": "https://hooks.example.org/in", "events": "article.submit",
          "submission_id": "role-matrix-webhook-form"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 201}),
        ("admin.deactivate_webhook", f"/admin/webhooks/{ids['webhook']}/deactivate", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("admin.activate_webhook", f"/admin/webhooks/{ids['webhook']}/activate", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("admin.redrive_webhook", f"/admin/webhooks/{ids['webhook']}/redrive", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("admin.roll_webhook_secret", f"/admin/webhooks/{ids['webhook']}/secret", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 200}),
        ("policy.save", "/policy", _policy_form(rereview_months=6),
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "editor": 303, "admin": 303}),
        ("account.save_notifications", "/account/notifications",
         {"kinds": ["approved", "rejected"]},
         {**dict.fromkeys(ROLES, 303), "anonymous": 401}),
        ("account.sign_out_everywhere", "/account/sign-out-everywhere", {},
         {**dict.fromkeys(ROLES, 303), "anonymous": 401}),
        # A wrong current password: refused (401) for everyone signed in, nothing changed.
        ("account.change_password", "/account/password",
         {"current": "not the password", "password": "a new password", "repeat":
          "a new password"}, {**dict.fromkeys(ROLES, 401), "anonymous": 401}),
        ("people.add_person", "/admin/people",
         {"email": "new.member@example.org", "name": "Dr. New Member", "roles": "reviewer"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("people.save_person", f"/admin/people/{i}",
         {"name": "Dr. Ivy Invitee", "roles": "reviewer", "specialties": "Cardiology"},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("people.invite", f"/admin/people/{i}/invite", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("people.deactivate", f"/admin/people/{i}/deactivate", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        ("people.activate", f"/admin/people/{i}/activate", {},
         {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 303}),
        # A signed-in auditor changes nothing, not even through someone's invitation.
        ("invitations.choose_password", "/invitations/not-a-real-token",
         {"password": "a new password", "repeat": "a new password"},
         {**dict.fromkeys(ROLES, 410), "auditor": 403}),
    ]


def _policy_form(**changes: Any) -> dict[str, Any]:
    """The "Review policy" form filled in with the default policy plus ``changes``."""
    values = {**document.form_values(PolicySettings()), **changes}
    data = {k: v for k, v in values.items() if not isinstance(v, bool | list)}
    data.update({k: "y" for k, v in values.items() if v is True})
    data["review_checks"] = values["review_checks"]
    return data


def _webhook(story: Any) -> int:
    with story.db.transaction() as s:
        return register(s, url="https://hooks.example.org/matrix", events=["*"]).id


def _running_check(story: Any) -> None:
    """An integrity run in progress, so a POST to start one starts no thread."""
    from review_flow.audit import integrity_jobs

    with story.db.transaction() as s:
        integrity_jobs.start(s, story.people["auditor"].user, host="matrix", pid=1)


def _invitee(story: Any) -> int:
    """A person an admin added who has not chosen a password yet."""
    with story.db.transaction() as s:
        return users.add_user(s, email="ivy@example.org", name="Ivy Invitee",
                              roles=["reviewer"], password=None).id


def _thread(story: Any, article_id: int) -> int:
    """A comment thread Dr. Reed opened on the article's first paragraph."""
    with story.db.transaction() as s:
        return threads.open_thread(s, story.people["reviewer"], article_id, "Source?",
                                   paragraph=1).id


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(role: str, as_role: Any, story: Any, app: Flask) -> None:
    for state in ("draft", "submitted", "under_review", "approved"):
        story.in_state(state)
    story.ids["webhook"] = _webhook(story)
    story.ids["invitee"] = _invitee(story)
    story.ids["thread"] = _thread(story, story.ids["under_review"])
    _running_check(story)
    slug = story.slug(story.ids["approved"])
    client = as_role(role)
    covered: set[str] = set()
    for endpoint, url, expected in _get_matrix(story.ids, slug):
        covered.add(endpoint)
        response = client.get(url)
        response.close()  # static files are streamed from an open file
        want = expected[role]
        if want == SIGN_IN:
            assert response.status_code == 303, (endpoint, role)
            assert response.headers["Location"].startswith("/sign-in?next="), (endpoint, role)
        else:
            assert response.status_code == want, (endpoint, role, url)
    for endpoint, url, data, expected in _post_matrix(story.ids):
        covered.add(endpoint)
        response = client.post(url, data)
        assert response.status_code == expected[role], (endpoint, role, url,
                                                        response.get_data(as_text=True)[:400])
        if role != "anonymous" and endpoint in ("auth.sign_out",
                                                "account.sign_out_everywhere"):
            client = as_role(role)  # sign back in for the remaining routes
    web_endpoints = {r.endpoint for r in app.url_map.iter_rules()
                     if not access.rule_for(r.endpoint).token_auth}  # type: ignore[union-attr]
    covered.add("auth.sign_in")  # POST /sign-in: tests/web/test_auth.py
    assert web_endpoints <= covered, f"not in the role matrix: {web_endpoints - covered}"


def test_role_matrix_posts_really_acted(as_role: Any, story: Any) -> None:
    """The 303s above are real: the reviewer's start_review changed the state."""
    s = story.in_state("submitted")
    reviewer = as_role("reviewer")
    assert reviewer.post(f"/articles/{s}/actions/start_review", {}).status_code == 303
    assert story.state(s) == "under_review"
    author = as_role("author")
    u = story.in_state("under_review", title="Other")
    assert author.post(f"/articles/{u}/actions/request_changes",
                       {"comment": "x"}).status_code == 403
    assert story.state(u) == "under_review"


# --- CSRF -------------------------------------------------------------------------------

def test_post_without_csrf_token_is_refused_everywhere(as_role: Any, story: Any,
                                                       app: Flask) -> None:
    for state in ("draft", "submitted", "under_review", "approved"):
        story.in_state(state)
    hook = _webhook(story)
    invitee = _invitee(story)
    reviewer = as_role("reviewer")
    author = as_role("author")
    admin = as_role("admin")
    editor = as_role("editor")
    before = story.event_count()
    targets = [(author, "/sign-out"), (author, "/write/new"),
               (author, f"/write/{story.ids['draft']}"),
               (reviewer, f"/articles/{story.ids['submitted']}/actions/start_review"),
               (reviewer, f"/articles/{story.ids['under_review']}/comments"),
               (reviewer, f"/review/{story.ids['under_review']}/sign/approve"),
               (reviewer, f"/review/{story.ids['under_review']}/references/1/check"),
               (author, "/sign-in"),
               (admin, "/admin/tokens"),
               (admin, "/admin/tokens/1/revoke"),
               (admin, "/admin/webhooks"),
               (admin, f"/admin/webhooks/{hook}/deactivate"),
               (admin, f"/admin/webhooks/{hook}/activate"),
               (admin, f"/admin/webhooks/{hook}/redrive"),
               (admin, f"/admin/webhooks/{hook}/secret"),
               (admin, "/policy"),
               (author, "/account/notifications"),
               (author, "/account/sign-out-everywhere"),
               (author, "/account/password"),
               (admin, "/admin/people"),
               (admin, f"/admin/people/{invitee}"),
               (admin, f"/admin/people/{invitee}/invite"),
               (admin, f"/admin/people/{invitee}/deactivate"),
               (admin, f"/admin/people/{invitee}/activate"),
               (author, "/invitations/some-token"),
               (editor, f"/review/{story.ids['submitted']}/assignments"),
               (editor, f"/review/{story.ids['submitted']}/assignments/1/reassign"),
               (editor, f"/review/{story.ids['submitted']}/assignments/1/cancel"),
               (reviewer, f"/review/{story.ids['submitted']}/respond"),
               (reviewer, f"/articles/{story.ids['under_review']}/threads"),
               (reviewer, f"/articles/{story.ids['under_review']}/threads/1/replies"),
               (reviewer, f"/articles/{story.ids['under_review']}/threads/1/resolve"),
               (admin, "/audit/integrity/runs"),
               (admin, "/audit/trail-reviews")]
    post_endpoints = set()
    adapter = app.url_map.bind("localhost")
    for who, url in targets:
        response = who.client.post(url, data={"title": "x", "body": "y", "comment": "z",
                                              "password": PASSWORD, "email": "a@b.org"})
        assert response.status_code == 400, url
        assert b"security token" in response.data
        post_endpoints.add(adapter.match(url, method="POST")[0])
    assert story.event_count() == before, "a refused form wrote something"
    assert story.state(story.ids["submitted"]) == "submitted"
    expected = {r.endpoint for r in app.url_map.iter_rules()
                if "POST" in (r.methods or set()) and not access.rule_for(r.endpoint).token_auth}  # type: ignore[union-attr]
    assert expected <= post_endpoints, expected - post_endpoints


def test_wrong_csrf_token_is_refused(browser: Any, people: Any) -> None:
    response = browser.client.post("/sign-in", data={
        "email": people["author"].user.email, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400


# --- cookies and headers ---------------------------------------------------------------

def _cookie_header(response: Any, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set")


def test_session_cookie_is_httponly_and_samesite_lax(browser: Any, people: Any) -> None:
    response = browser.sign_in(people["author"].user.email)
    cookie = _cookie_header(response, "session")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_cookies_are_secure_when_configured(db_url: str, people: Any) -> None:
    from tests.web.conftest import Browser

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t",
                      "SECURE_COOKIES": "1", "SERVER_NAME": "localhost"})
    from review_flow.app import database

    try:
        response = Browser(app.test_client()).sign_in(people["author"].user.email, remember="y")
    finally:
        database(app).dispose()
    assert "Secure" in _cookie_header(response, "session")
    remember = _cookie_header(response, "remember_token")
    assert "Secure" in remember and "HttpOnly" in remember and "SameSite=Lax" in remember


def test_security_headers(browser: Any) -> None:
    response = browser.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert len(response.headers["X-Request-ID"]) == 32


def test_signed_in_pages_are_not_cached(as_role: Any) -> None:
    response = as_role("author").get("/my-articles")
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("before", ["99999999999999999999999", "-1", "abc", "0", "1e9"])
def test_audit_log_pager_treats_a_mangled_cursor_as_the_first_page(
    as_role: Any, before: str
) -> None:
    """A hand-edited ``before`` (too large for the database, negative, not a number)
    shows the newest events instead of failing."""
    auditor = as_role("auditor")
    auditor.get("/audit")  # shows and clears the sign-in flash

    def events(url: str) -> str:
        response = auditor.get(url)
        assert response.status_code == 200
        return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))  # CSRF tokens

    assert events(f"/audit?before={before}") == events("/audit")
