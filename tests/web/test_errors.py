"""Friendly error pages, and one request = one transaction."""

from __future__ import annotations

from typing import Any

from flask import Flask

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


def test_server_error_page_is_friendly_and_rolls_back(app: Flask, as_role: Any,
                                                      story: Any) -> None:
    from review_flow.audit import log as audit
    from review_flow.web.access import ROUTE_RULES, SIGNED_IN
    from review_flow.web.context import unit_of_work

    def broken() -> str:
        audit.record(db_session(), actor_id=None, actor_name="x", action="auth.sign_out",
                     object_type="user")
        db_session().flush()
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/broken", "broken", unit_of_work(broken), methods=["POST"])
    ROUTE_RULES["broken"] = SIGNED_IN
    try:
        author = as_role("author")
        before = story.event_count()
        response = author.post("/broken", {})
    finally:
        del ROUTE_RULES["broken"]
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "boom" not in response.get_data(as_text=True)
    assert story.event_count() == before, "the failed request's writes were committed"


def test_a_get_never_commits(app: Flask, story: Any, client: Any) -> None:
    from review_flow.audit import log as audit
    from review_flow.web.access import PUBLIC, ROUTE_RULES
    from review_flow.web.context import unit_of_work

    def sneaky() -> str:
        audit.record(db_session(), actor_id=None, actor_name="x", action="auth.sign_out",
                     object_type="user")
        db_session().flush()
        return "ok"

    app.add_url_rule("/sneaky", "sneaky", unit_of_work(sneaky))
    ROUTE_RULES["sneaky"] = PUBLIC
    try:
        before = story.event_count()
        assert client.get("/sneaky").status_code == 200
    finally:
        del ROUTE_RULES["sneaky"]
    assert story.event_count() == before


def test_every_web_view_runs_in_a_unit_of_work(app: Flask) -> None:
    from review_flow.web import WEB_BLUEPRINTS

    for endpoint, view in app.view_functions.items():
        if endpoint.split(".")[0] in WEB_BLUEPRINTS and endpoint != "assets.static":
            assert getattr(view, "unit_of_work", False), endpoint
