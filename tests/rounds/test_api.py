"""The assignment endpoints and the action request's ``conflict`` field."""

from __future__ import annotations

import pytest

from tests.core.helpers import act, create


@pytest.fixture
def submitted(db, board):
    aid = create(db, board["author"])
    act(db, board["author"], aid, "submit")
    return aid


def test_assign_answer_and_cancel_through_the_api(api_as, board, submitted):
    editor = api_as(board["editor"])
    r = editor.post(f"/articles/{submitted}/assignments",
                    json={"reviewer": "reed@example.org", "review_due": "2099-01-31"})
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["reviewer"]["email"], body["state"], body["overdue"]) == (
        "reed@example.org", "invited", False)
    assert body["review_due"].startswith("2099-01-31")
    reed = api_as(board["reviewer"])
    r = reed.post(f"/articles/{submitted}/assignments/{body['id']}/response",
                  json={"answer": "accept"})
    assert (r.status_code, r.json["state"]) == (200, "accepted")
    r = editor.post(f"/articles/{submitted}/assignments/{body['id']}/cancel",
                    json={"reason": "Reassigning to a cardiologist."})
    assert (r.status_code, r.json["state"], r.json["reason"]) == (
        200, "cancelled", "Reassigning to a cardiologist.")


@pytest.mark.parametrize(("who", "json", "status", "code", "message"), [
    ("reviewer", {"reviewer": "okafor@example.org"}, 403, "role_required",
     "Only editors can assign reviewers."),
    ("editor", {"reviewer": "nobody@example.org"}, 404, "unknown_reviewer",
     "Nobody has the e-mail address nobody@example.org; name the reviewer by the address "
     "they sign in with."),
    ("editor", {"reviewer": "author@example.org"}, 422, "not_a_reviewer",
     "Alex Author is not a board member (no reviewer role) and cannot be assigned."),
    ("editor", {"reviewer": "reed@example.org", "review_due": "2020-01-01"}, 422,
     "due_in_past",
     "The review due date 2020-01-01 is in the past; choose today or a later day."),
])
def test_assignment_refusals(api_as, board, submitted, snapshot, who, json, status, code,
                             message):
    api = api_as(board[who])  # its token is made (and audited) first
    before = snapshot()
    r = api.post(f"/articles/{submitted}/assignments", json=json)
    assert r.status_code == status, r.json
    assert (r.json["error"]["code"], r.json["error"]["message"]) == (code, message)
    assert snapshot() == before


def test_a_decline_needs_a_reason_and_only_the_assignee_answers(api_as, board, submitted):
    editor = api_as(board["editor"])
    aid_ = editor.post(f"/articles/{submitted}/assignments",
                       json={"reviewer": "reed@example.org"}).json["id"]
    r = api_as(board["reviewer"]).post(
        f"/articles/{submitted}/assignments/{aid_}/response", json={"answer": "decline"})
    assert r.status_code == 422 and r.json["error"]["message"] == (
        "The request needs a value for decline.comment.")
    r = api_as(board["reviewer"]).post(
        f"/articles/{submitted}/assignments/{aid_}/response",
        json={"answer": "decline", "comment": "   "})
    assert r.status_code == 422 and "decline.comment" in r.json["error"]["message"]
    r = api_as(board["reviewer2"]).post(
        f"/articles/{submitted}/assignments/{aid_}/response", json={"answer": "accept"})
    assert r.status_code == 403 and r.json["error"]["code"] == "not_assigned"
    r = api_as(board["reviewer"]).post(
        f"/articles/{submitted}/assignments/{aid_}/response", json={"answer": "maybe"})
    assert r.status_code == 422


def test_the_action_request_takes_a_conflict(api_as, board, submitted):
    reed = api_as(board["reviewer"])
    assert reed.act(submitted, "start_review").status_code == 200
    r = reed.act(submitted, "approve", conflict="none")
    # Tokens never sign; the field is accepted and the signature rule answers.
    assert r.status_code == 403 and r.json["error"]["code"] == "token_cannot_sign"
    r = reed.act(submitted, "approve", conflict=7)
    assert r.status_code == 422
