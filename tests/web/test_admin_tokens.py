"""Admins create API tokens in the browser UI (shown once) and revoke them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from review_flow.tokens.models import ApiToken


def _api_status(app: Any, token: str) -> int:
    client = app.test_client()
    return client.get("/api/v1/articles", headers={"Authorization": f"Bearer {token}"}
                      ).status_code


def test_admin_creates_a_token_shown_once_that_works_until_revoked(as_role, app, db):
    admin = as_role("admin")
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "API tokens" in page and "No tokens yet." in page
    response = admin.post("/admin/tokens", {"email": "author@example.org",
                                            "name": "drafting pipeline"}, page="/admin/tokens")
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    token = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', html).group(1)
    assert "shown only this once" in html
    assert _api_status(app, token) == 200
    with db.reading() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash != token and token not in (row.prefix, row.name)
        assert row.user.email == "author@example.org" and row.name == "drafting pipeline"
        prefix, token_id = row.prefix, row.id
    listing = admin.get("/admin/tokens").get_data(as_text=True)
    assert token not in listing  # never shown again
    assert f"{prefix}…" in listing and "Alex Author" in listing
    response = admin.post(f"/admin/tokens/{token_id}/revoke", page="/admin/tokens")
    assert response.status_code == 303
    assert "revoked" in admin.get("/admin/tokens").get_data(as_text=True)
    assert _api_status(app, token) == 401


def test_unknown_user_is_a_clear_error_and_writes_nothing(as_role, db):
    admin = as_role("admin")
    response = admin.post("/admin/tokens", {"email": "nobody@example.org"}, page="/admin/tokens")
    assert response.status_code == 422
    assert "no user with e-mail nobody@example.org" in response.get_data(as_text=True)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_only_admins_see_the_link(as_role):
    assert "API tokens" in as_role("admin").get("/audit").get_data(as_text=True)
    assert "API tokens" not in as_role("editor").get("/audit").get_data(as_text=True)
