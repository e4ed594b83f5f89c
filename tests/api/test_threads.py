"""The comment-thread endpoints: list (keyset pages), open, reply, resolve, reopen; the
refusals by name; the approve action refused while a blocking thread is open."""

from __future__ import annotations

from tests.core.helpers import act, create

BODY = "Hypertension has no symptoms [1].\n\nLimit salt to 5 g a day [2].\n"


def _under_review(db, people):
    aid = create(db, people["author"], body=BODY)
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    return aid


def test_open_reply_resolve_reopen_and_list(api_as, db, people):
    aid = _under_review(db, people)
    reed = api_as(people["reviewer"])
    r = reed.post(f"/articles/{aid}/threads", json={
        "body": "Which guideline?", "paragraph": 2, "quote": "5 g a day", "blocking": True,
        "expected_revision": 1})
    assert r.status_code == 201, r.json
    thread = r.json
    assert thread["anchor"] == {"revision": 1, "paragraph": 2, "quote": "5 g a day",
                                "start": 14, "end": 23}
    assert thread["current"] == {"revision": 1, "paragraph": 2, "start": 14, "end": 23,
                                 "exact": True}
    assert (thread["state"], thread["blocking"], thread["outdated"]) == ("open", True, False)
    assert thread["opened_by"]["name"] == "Dr. Maya Reed"
    tid = thread["id"]
    author = api_as(people["author"])
    r = author.post(f"/articles/{aid}/threads/{tid}/replies", json={"body": "The WHO's."})
    assert r.status_code == 201, r.json
    assert [m["body"] for m in r.json["messages"]] == ["Which guideline?", "The WHO's."]
    r = author.post(f"/articles/{aid}/threads/{tid}/resolve")
    assert (r.status_code, r.json["state"]) == (200, "resolved")
    assert r.json["history"][0]["change"] == "resolve"
    r = author.post(f"/articles/{aid}/threads/{tid}/resolve")
    assert (r.status_code, r.json["error"]["code"]) == (409, "thread_already_resolved")
    r = reed.post(f"/articles/{aid}/threads/{tid}/reopen")
    assert (r.status_code, r.json["state"]) == (200, "open")
    r = author.get(f"/articles/{aid}/threads")
    assert r.status_code == 200
    assert [t["id"] for t in r.json["items"]] == [tid]
    assert r.json["next_cursor"] is None


def test_the_list_pages_by_keyset(api_as, db, people):
    aid = _under_review(db, people)
    reed = api_as(people["reviewer"])
    ids = [reed.post(f"/articles/{aid}/threads", json={"body": f"Note {i}", "paragraph": 1}
                     ).json["id"] for i in range(3)]
    r = reed.get(f"/articles/{aid}/threads?limit=2")
    assert [t["id"] for t in r.json["items"]] == ids[:2]
    assert r.headers["Link"].endswith('; rel="next"')
    r = reed.get(f"/articles/{aid}/threads?limit=2&cursor={r.json['next_cursor']}")
    assert [t["id"] for t in r.json["items"]] == ids[2:]
    r = reed.get(f"/articles/{aid}/threads?cursor=revisions_1")
    assert (r.status_code, r.json["error"]["code"]) == (400, "invalid_cursor")


def test_refusals_are_named(api_as, db, people):
    aid = _under_review(db, people)
    reed = api_as(people["reviewer"])
    r = reed.post(f"/articles/{aid}/threads", json={"body": "x", "paragraph": 3})
    assert (r.status_code, r.json["error"]["code"], r.json["error"]["message"]) == (
        422, "unknown_paragraph", "There is no paragraph 3: revision 1 has 2 paragraphs.")
    r = api_as(people["author"]).post(f"/articles/{aid}/threads",
                                      json={"body": "x", "paragraph": 1, "blocking": True})
    assert (r.status_code, r.json["error"]["code"]) == (403, "role_required")
    tid = reed.post(f"/articles/{aid}/threads", json={"body": "x", "paragraph": 1}).json["id"]
    r = api_as(people["reviewer2"]).post(f"/articles/{aid}/threads/{tid}/resolve")
    assert (r.status_code, r.json["error"]["code"], r.json["error"]["message"]) == (
        403, "not_thread_party", "Only the article's author or Dr. Maya Reed, who opened this "
        "thread, may resolve it.")
    r = reed.post(f"/articles/{aid}/threads", json={"body": "x", "paragraph": 1,
                                                     "expected_revision": 2})
    assert (r.status_code, r.json["error"]["code"]) == (409, "content_changed")
    r = reed.post(f"/articles/{aid + 1000}/threads/{tid}/replies", json={"body": "x"})
    assert r.status_code == 404


def test_a_reviewer_not_assigned_is_refused_where_the_policy_requires_assignment(
        api_as, db, people):
    from review_flow.policy import service as policy
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    with db.transaction() as s:
        policy.set_policy(s, changed_by=None,
                          changes={"require_assignment": True, "allow_claiming": False})
    aid = create(db, people["author"], body=BODY)
    act(db, people["author"], aid, "submit")
    with db.transaction() as s:
        assignments.assign(s, people["editor"], aid, users.get_by_email(s, "reed@example.org"))
    with db.transaction() as s:
        assignments.respond(s, people["reviewer"], aid, "accept")
    r = api_as(people["reviewer"]).post(f"/articles/{aid}/threads",
                                        json={"body": "Which guideline?", "paragraph": 1})
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    okafor = api_as(people["reviewer2"])
    for path, body in ((f"/articles/{aid}/threads", {"body": "Me too", "paragraph": 1}),
                       (f"/articles/{aid}/threads/{tid}/replies", {"body": "Me too"})):
        r = okafor.post(path, json=body)
        assert r.status_code == 403
        assert r.json["error"]["code"] == "assignment_required"
        assert r.json["error"]["message"] == (
            "Only reviewers assigned to this review can comment; ask the managing editor to "
            "assign you.")
        assert r.json["error"]["details"]["rule"] == "require_assignment"
    assert [m["body"] for m in api_as(people["author"]).get(
        f"/articles/{aid}/threads").json["items"][0]["messages"]] == ["Which guideline?"]
