"""Reference checks over the API: read the references with their checks and lint, mark
one; refusals are named errors that write nothing; the approve body takes the checklist."""

from __future__ import annotations

from typing import Any

from tests.core.helpers import REFS, act


def _in_review(api_as: Any, people: Any, db: Any, body: str = "Salt [1].") -> int:
    author = api_as(people["author"])
    aid = author.post("/articles", json={"title": "Salt", "body": body,
                                         "references": REFS}).json["id"]
    author.act(aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    return aid


def test_a_reviewer_checks_references_and_everyone_on_the_article_reads_them(
        api_as: Any, people: Any, db: Any, snapshot: Any) -> None:
    aid = _in_review(api_as, people, db)
    reviewer, author = api_as(people["reviewer"]), api_as(people["author"])
    shown = reviewer.get(f"/articles/{aid}/reference-checks").json
    r = reviewer.post(f"/articles/{aid}/references/1/check",
                      json={"status": "problem", "note": "Retracted in 2023.",
                            "content_hash": shown["content_hash"]})
    assert r.status_code == 201, r.json
    assert (r.json["reference"], r.json["status"], r.json["note"]) == (1, "problem",
                                                                      "Retracted in 2023.")
    read = author.get(f"/articles/{aid}/reference-checks").json
    assert read["revision"] == 1
    first = read["references"][0]
    assert first["title"] == REFS[0]["title"]
    assert [(c["reviewer"]["name"], c["status"], c["note"], c["revision"])
            for c in first["checks"]] == [("Dr. Maya Reed", "problem", "Retracted in 2023.", 1)]
    assert read["references"][1]["checks"] == []
    assert read["lint"] == [{"kind": "never_cited", "number": 2, "message":
                             "Reference 2 (MedlinePlus) is never cited in the body."}]


def test_refusals_are_named_and_write_nothing(api_as: Any, people: Any, db: Any,
                                              snapshot: Any) -> None:
    aid = _in_review(api_as, people, db)
    reviewer, author = api_as(people["reviewer"]), api_as(people["author"])
    before = snapshot()
    for who, number, body, status, code in (
        (reviewer, 1, {"status": "problem"}, 422, "validation_failed"),  # no note
        (reviewer, 9, {"status": "verified"}, 422, "unknown_reference"),
        (reviewer, 1, {"status": "verified", "content_hash": "sha256:" + "0" * 64}, 409,
         "content_changed"),
        (author, 1, {"status": "verified"}, 403, "role_required"),
    ):
        r = who.post(f"/articles/{aid}/references/{number}/check", json=body)
        assert (r.status_code, r.json["error"]["code"]) == (status, code), r.json
    r = reviewer.post(f"/articles/{aid}/references/1/check", json={"status": "fine"})
    assert r.status_code in (400, 422) and "status" in r.json["error"]["message"]
    assert snapshot() == before


def test_the_approve_body_takes_the_checklist(api_as: Any, people: Any, db: Any) -> None:
    aid = _in_review(api_as, people, db)
    reviewer = api_as(people["reviewer"])
    r = reviewer.act(aid, "approve", checklist={"Claims match the cited sources": "maybe"})
    assert r.status_code in (400, 422) and "checklist" in r.json["error"]["message"]
    r = reviewer.act(aid, "approve", checklist={"Claims match the cited sources": "yes"})
    assert r.json["error"]["code"] == "token_cannot_sign"  # a token still never signs
