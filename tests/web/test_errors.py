"""Friendly error pages, and one request = one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Flask

from review_flow.web.context import db_session


def test_not_found_page(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>Page not found</h1>" in page
    assert 'href="/"' in page


def test_method_not_allowed_page(client: Any) -> None:
    response = client.put("/editorial-policy")
    assert response.status_code == 405
    assert "Not allowed here" in response.get_data(as_text=True)


def _audit_write() -> None:
    """A write a view makes: one audit event, flushed, never committed by the view."""
    from review_flow.audit import log as audit

    audit.record(db_session(), actor_id=None, actor_name="x", action="auth.sign_out",
                 object_type="user")
    db_session().flush()


@contextmanager
def _extra_blueprint(app: Flask, rule: Any) -> Iterator[None]:
    """A blueprint the app factory does not know, registered after it: the unit of work
    must cover it without being told (no list of blueprints to forget it in)."""
    from review_flow.web.access import ROUTE_RULES

    bp = Blueprint("extra", __name__)

    @bp.post("/extra/write")
    def write() -> str:
        _audit_write()
        return "written"

    @bp.post("/extra/broken")
    def broken() -> str:
        _audit_write()
        raise RuntimeError("boom")

    @bp.get("/extra/sneaky")
    def sneaky() -> str:
        _audit_write()
        return "ok"

    app.register_blueprint(bp)
    added = ["extra.write", "extra.broken", "extra.sneaky"]
    for endpoint in added:
        ROUTE_RULES[endpoint] = rule
    try:
        yield
    finally:
        for endpoint in added:
            del ROUTE_RULES[endpoint]


def test_a_post_in_any_blueprint_commits_when_its_view_succeeds(
    app: Flask, as_role: Any, story: Any
) -> None:
    from review_flow.web.access import SIGNED_IN

    with _extra_blueprint(app, SIGNED_IN):
        author = as_role("author")
        before = story.event_count()
        response = author.post("/extra/write", {})
        assert response.status_code == 200
        assert story.event_count() == before + 1, "the view's write was not committed"


def test_server_error_page_is_friendly_and_rolls_back(app: Flask, as_role: Any,
                                                      story: Any) -> None:
    from review_flow.web.access import SIGNED_IN

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with _extra_blueprint(app, SIGNED_IN):
        author = as_role("author")
        before = story.event_count()
        response = author.post("/extra/broken", {})
        assert response.status_code == 500
        assert "Something went wrong on our side" in response.get_data(as_text=True)
        assert "boom" not in response.get_data(as_text=True)
        assert story.event_count() == before, "the failed request's writes were committed"


def test_a_get_never_commits(app: Flask, story: Any, client: Any) -> None:
    from review_flow.web.access import PUBLIC

    with _extra_blueprint(app, PUBLIC):
        before = story.event_count()
        assert client.get("/extra/sneaky").status_code == 200
        assert story.event_count() == before
