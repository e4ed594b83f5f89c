"""The whole review workflow through HTTP with bearer tokens, and what a token may not do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from review_flow.articles.actions import perform_action
from review_flow.audit.export import iter_events
from review_flow.audit.models import AuditEvent
from review_flow.tokens.models import ApiToken
from review_flow.tokens.service import hash_token
from tests.api.conftest import GENERATOR, REFS, draft
from tests.conftest import PASSWORD


def test_whole_workflow_over_http(api_as: Any, people: Any, db: Any, snapshot: Any) -> None:
    author, reviewer = api_as(people["author"]), api_as(people["reviewer"])

    r = author.post("/articles", json=draft(generator=GENERATOR))
    assert r.status_code == 201, r.json
    art = r.json
    aid = art["id"]
    assert r.headers["ETag"] == '"v1"'
    assert r.headers["Location"] == f"/api/v1/articles/{aid}"
    assert art["state"] == "draft" and art["allowed_actions"] == ["submit"]
    assert art["content"]["generator"] == GENERATOR

    r = author.act(aid, "submit", expected_version=1)
    assert (r.status_code, r.json["from_state"], r.json["to_state"]) == (200, "draft", "submitted")

    r = reviewer.get(f"/articles/{aid}")
    assert r.status_code == 200 and r.json["allowed_actions"] == ["start_review"]
    assert reviewer.act(aid, "start_review").json["to_state"] == "under_review"
    r = reviewer.act(aid, "request_changes", comment="Cite the 2024 guideline for sodium.")
    assert r.json["to_state"] == "changes_requested"

    # The author revises against the ETag they hold, then resubmits.
    etag = author.get(f"/articles/{aid}").headers["ETag"]
    r = author.put(
        f"/articles/{aid}",
        json=draft(body="Lower sodium intake helps [1].", generator=GENERATOR),
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.json
    assert r.json["current_revision"]["number"] == 2
    assert author.act(aid, "submit").json["to_state"] == "submitted"
    assert reviewer.act(aid, "start_review").json["to_state"] == "under_review"

    # A token never signs: approve and reject are refused and write nothing.
    before = snapshot()
    for action, body in (("approve", {}), ("reject", {"comment": "Not accurate."})):
        r = reviewer.act(aid, action, **body)
        assert r.status_code == 403, r.json
        assert r.json["error"]["code"] == "token_cannot_sign"
    assert snapshot() == before
    assert "approve" not in reviewer.get(f"/articles/{aid}").json["allowed_actions"]

    # The person signs (password); the pipeline then sees it approved.
    with db.transaction() as s:
        perform_action(s, people["reviewer"], aid, "approve", password=PASSWORD)
    r = author.get(f"/articles/{aid}")
    assert r.json["state"] == "approved"
    assert r.json["approved_revision"]["number"] == 2
    assert r.json["approvals"][0]["content_hash"] == r.json["current_revision"]["content_hash"]

    history = author.get(f"/articles/{aid}/history").json["items"]
    assert [e["action"] for e in history] == [
        "article.create",
        "article.submit",
        "article.start_review",
        "article.request_changes",
        "article.edit",
        "article.submit",
        "article.start_review",
        "article.approve",
    ]
    assert history[3]["comment"] == "Cite the 2024 guideline for sodium."
    # API events have exactly the export's shape and values.
    with db.reading() as s:
        assert history == list(iter_events(s, article_id=aid))
    # Token requests carry a request id and client address in the audit trail.
    assert history[0]["request_id"] and history[0]["client_addr"] == "127.0.0.1"

    revs = author.get(f"/articles/{aid}/revisions").json["items"]
    assert [r["number"] for r in revs] == [1, 2]
    assert all(r["generator"] == GENERATOR for r in revs)
    assert revs[0]["references"] == REFS


def test_token_is_stored_only_as_hash_and_records_last_use(
    api_as: Any, people: Any, db: Any
) -> None:
    api = api_as(people["author"])
    with db.reading() as s:
        row = s.scalar(select(ApiToken))
        assert row.token_hash == hash_token(api.token) and api.token not in (
            row.token_hash,
            row.prefix,
            row.name,
        )
        assert row.last_used_at is None
    assert api.get("/me").json["email"] == "author@example.org"
    with db.reading() as s:
        row = s.scalar(select(ApiToken))
        assert row.last_used_at is not None and row.last_used_addr == "127.0.0.1"


def test_revoked_token_is_refused(api_as: Any, people: Any, client: Any, snapshot: Any) -> None:
    api = api_as(people["author"])
    assert api.get("/articles").status_code == 200
    token_id = api.get("/tokens").json["items"][0]["id"]
    r = api.post(f"/tokens/{token_id}/revoke")
    assert r.status_code == 200 and r.json["revoked_at"]
    before = snapshot()
    for resp in (api.get("/articles"), api.post("/articles", json=draft())):
        assert resp.status_code == 401
        assert resp.json["error"]["code"] == "invalid_token"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


def test_cli_creates_and_revokes_tokens(app: Any, people: Any, client: Any, db: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "author@example.org", "--name", "pipeline"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rf_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = runner.invoke(args=["tokens", "list"]).stdout
    assert "pipeline" in listed and token not in listed
    token_id = listed.split("\t")[0]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with db.reading() as s:
        actions = list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("token.%")))
        )
    assert actions == ["token.create", "token.revoke"]


def test_the_body_is_stored_as_sent_and_its_hash_is_the_pipelines(
    api_as: Any, people: Any
) -> None:
    """A pipeline hashing what it sent (LF, NFC) gets the revision's content hash: the
    server appends no newline and trims nothing (it used to append one)."""
    import hashlib
    import json

    api = api_as(people["author"])
    refs = [{"title": "Guideline", "doi": "10.1000/xyz123"}]
    for body in ("No newline at the end [1].", "Two at the end [1].\n\n", "Spaces [1].  "):
        r = api.post("/articles", json={"title": "Salt", "body": body, "references": refs})
        assert r.status_code == 201
        content = r.json["content"]
        assert content["body"] == body
        canonical = json.dumps({"body": body, "references": refs, "title": "Salt"},
                               ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        expected = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        assert content["content_hash"] == expected
    # What is normalized, and said in the document: CRLF line ends and the Unicode form.
    r = api.post("/articles", json={"title": "Caf\u0065\u0301", "body": "a\r\nb [1].",
                                    "references": refs})
    assert r.json["content"]["body"] == "a\nb [1]." and r.json["title"] == "Caf\u00e9"


def test_a_refused_action_lists_every_problem(api_as: Any, people: Any, snapshot: Any) -> None:
    """All problems at once in ``details.problems``; ``code`` stays the first one's."""
    author, reviewer = api_as(people["author"]), api_as(people["reviewer"])
    aid = author.post("/articles", json=draft()).json["id"]
    author.act(aid, "submit")
    reviewer.act(aid, "start_review")
    before = snapshot()
    r = reviewer.act(aid, "reject")
    assert r.status_code == 403, r.json
    error = r.json["error"]
    assert error["code"] == "token_cannot_sign"
    assert [(p["code"], p["message"]) for p in error["details"]["problems"]] == [
        ("token_cannot_sign",
         "Reject needs an electronic signature by a person; API tokens cannot sign."),
        ("comment_required", "Write a comment saying why you reject the article."),
    ]
    assert error["message"].startswith("(1) Reject needs an electronic signature")
    assert snapshot() == before
