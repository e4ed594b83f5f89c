"""Fixtures for the browser UI through Flask's test client (CSRF on, as in production)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from review_flow.actor import Actor
from review_flow.articles.actions import perform_action
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article, edit_article
from review_flow.audit.models import AuditEvent
from review_flow.db import Database
from review_flow.policy import service as policy_service
from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_NONCE = re.compile(r'name="submission_id"[^>]*value="([^"]+)"')

REFS = [
    {"title": "Guideline on hypertension", "doi": "10.1161/HYP.0000000000000065"},
    {"title": "MedlinePlus: high blood pressure", "url": "https://medlineplus.gov/hbp.html"},
]
BODY = "High blood pressure often has no symptoms [1].\n\nTake medicines as prescribed [2].\n"


@pytest.fixture
def shared_db(app: Any, db: Any) -> Any:
    """Let ``count_queries`` see the app's statements: both use the test's engine."""
    original = app.extensions["review_flow.db"]
    app.extensions["review_flow.db"] = db
    yield db
    app.extensions["review_flow.db"] = original


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def submission_id(html: str) -> str:
    """The one-time nonce of the page's create form (``web/form_nonce.py``)."""
    match = _NONCE.search(html)
    assert match, "page has no submission_id"
    return match.group(1)


class Browser:
    """A test client that signs in and posts forms with their CSRF token."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def token(self, page: str = "/sign-in") -> str:
        html = self.client.get(page).get_data(as_text=True)
        if 'name="csrf_token"' not in html:
            html = self.client.get("/sign-in").get_data(as_text=True)
        return csrf_token(html)

    def form(self, page: str) -> dict[str, str]:
        """The hidden fields of a freshly rendered one-time form: CSRF token and nonce."""
        html = self.client.get(page).get_data(as_text=True)
        return {"csrf_token": csrf_token(html), "submission_id": submission_id(html)}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, page: str = "/",
             **kw: Any) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(page))
        return self.client.post(url, data=data, **kw)

    def sign_in(self, email: str, password: str = PASSWORD, **extra: Any) -> Any:
        return self.post("/sign-in", {"email": email, "password": password, **extra},
                         page="/sign-in")

    def sign_out(self) -> Any:
        return self.post("/sign-out")


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


@pytest.fixture
def as_role(app: Any, people: dict[str, Actor]) -> Callable[[str], Browser]:
    """A fresh signed-in client for a role ("anonymous" stays signed out)."""

    def make(role: str) -> Browser:
        b = Browser(app.test_client())
        if role != "anonymous":
            response = b.sign_in(people[role].user.email)
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return b

    return make


@pytest.fixture
def people(make_user: Callable[..., Actor]) -> dict[str, Actor]:
    """The shared cast plus an admin (overrides the top-level fixture, same users)."""
    return {
        "author": make_user("author@example.org", "author", name="Alex Author"),
        "reviewer": make_user("reed@example.org", "reviewer", name="Dr. Maya Reed",
                              credentials="MD, FACP"),
        "reviewer2": make_user("okafor@example.org", "reviewer", name="Dr. Chidi Okafor",
                               credentials="MD, MPH"),
        "editor": make_user("editor@example.org", "editor", name="Erin Editor"),
        "auditor": make_user("auditor@example.org", "auditor", name="Aubrey Auditor"),
        "admin": make_user("admin@example.org", "admin", name="Ada Admin"),
    }


@dataclass
class Story:
    """Articles driven through the service layer into each state."""

    db: Database
    people: dict[str, Actor]
    ids: dict[str, int] = field(default_factory=dict)

    def create(self, title: str = "Understanding High Blood Pressure", body: str = BODY,
               refs: list[dict[str, Any]] | None = None, who: str = "author",
               generator: dict[str, Any] | None = None,
               professional_body: str | None = None) -> int:
        with self.db.transaction() as s:
            return create_article(s, self.people[who], title=title, body=body,
                                  references=REFS if refs is None else refs,
                                  generator=generator,
                                  professional_body=professional_body).id

    def act(self, article_id: int, action: str, who: str, **kw: Any) -> None:
        if action in ("approve", "reject"):
            kw.setdefault("password", PASSWORD)
        with self.db.transaction() as s:
            perform_action(s, self.people[who], article_id, action, **kw)

    def edit(self, article_id: int, who: str = "author", **changes: Any) -> None:
        with self.db.transaction() as s:
            art = get_article(s, article_id)
            cur = art.current_revision
            assert cur is not None
            edit_article(s, self.people[who], article_id,
                         title=changes.get("title", cur.title),
                         body=changes.get("body", cur.body),
                         references=changes.get("references", cur.references),
                         professional_body=changes.get("professional_body",
                                                       cur.professional_body))

    def in_state(self, state: str, title: str | None = None) -> int:
        aid = self.create(title=title or f"Article {state.replace('_', ' ')}")
        path = {
            "draft": [],
            "submitted": [("submit", "author")],
            "under_review": [("submit", "author"), ("start_review", "reviewer")],
            "changes_requested": [("submit", "author"), ("start_review", "reviewer"),
                                  ("request_changes", "reviewer")],
            "approved": [("submit", "author"), ("start_review", "reviewer"),
                         ("approve", "reviewer")],
            "rejected": [("submit", "author"), ("start_review", "reviewer"),
                         ("reject", "reviewer")],
            "retracted": [("submit", "author"), ("start_review", "reviewer"),
                          ("approve", "reviewer"), ("retract", "editor")],
        }[state]
        for action, who in path:
            comment = {"request_changes": "Please cite the 2017 guideline.",
                       "reject": "Not supported by the evidence.",
                       "retract": "Superseded by a newer guideline."}.get(action)
            self.act(aid, action, who, comment=comment)
        self.ids[state] = aid
        return aid

    def state(self, article_id: int) -> str:
        with self.db.reading() as s:
            return get_article(s, article_id).state

    def version(self, article_id: int) -> int:
        with self.db.reading() as s:
            return get_article(s, article_id).version

    def slug(self, article_id: int) -> str:
        with self.db.reading() as s:
            return get_article(s, article_id).slug

    def revisions(self, article_id: int) -> int:
        with self.db.reading() as s:
            art = get_article(s, article_id)
            assert art.current_revision is not None
            return art.current_revision.number

    def events(self, action: str | None = None) -> list[AuditEvent]:
        with self.db.reading() as s:
            stmt = select(AuditEvent).order_by(AuditEvent.seq)
            if action:
                stmt = stmt.where(AuditEvent.action == action)
            events = list(s.scalars(stmt))
            s.expunge_all()  # keep them readable after the read-only session rolls back
            return events

    def event_count(self) -> int:
        with self.db.reading() as s:
            return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    def set_policy(self, **changes: Any) -> None:
        with self.db.transaction() as s:
            policy_service.set_policy(s, changed_by=self.people["editor"].user, changes=changes)


@pytest.fixture
def story(db: Database, people: dict[str, Actor]) -> Story:
    return Story(db, people)
