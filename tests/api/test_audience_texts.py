"""A pipeline sends the text for patients and the one for healthcare professionals."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.api.conftest import GENERATOR, REFS, draft

PRO = "First-line: thiazide-type diuretic, ACE inhibitor, ARB or CCB [1].\n"


def test_both_texts_are_stored_hashed_and_returned(api_as: Any, people: Any) -> None:
    api = api_as(people["author"])
    r = api.post("/articles", json=draft(professional_body=PRO, generator=GENERATOR))
    assert r.status_code == 201, r.get_json()
    content = r.get_json()["content"]
    assert content["professional_body"] == PRO
    # The pipeline can compute the hash itself: the documented canonical JSON.
    canonical = json.dumps({"body": draft()["body"], "professional_body": PRO,
                            "references": REFS, "title": draft()["title"]},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content["content_hash"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    aid = r.get_json()["id"]
    revs = api.get(f"/articles/{aid}/revisions").get_json()["items"]
    assert revs[0]["professional_body"] == PRO

    # A PUT replaces the whole text: leaving the professional text out removes it.
    r = api.put(f"/articles/{aid}", json=draft(expected_version=1))
    assert r.status_code == 200, r.get_json()
    content = r.get_json()["content"]
    assert content["revision"] == 2 and content["professional_body"] is None
    no_pro = json.dumps({"body": draft()["body"], "references": REFS,
                         "title": draft()["title"]},
                        sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content["content_hash"] == "sha256:" + hashlib.sha256(no_pro.encode()).hexdigest()


def test_a_professional_text_that_is_not_text_is_refused(api_as: Any, people: Any,
                                                         snapshot: Any) -> None:
    api = api_as(people["author"])
    before = snapshot()
    r = api.post("/articles", json=draft(professional_body=42))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert "professional_body" in json.dumps(error)
    assert snapshot() == before
