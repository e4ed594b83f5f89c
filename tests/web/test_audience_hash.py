"""The text for healthcare professionals is signed with the text for patients.

A revision may carry both; the content hash covers both when the professional one is
present and is exactly what it always was when it is absent (so every hash, signature
and audit event written before keeps verifying). Changing either text makes a new
revision that needs its own approval; altering the professional text in the database is
named by ``audit verify`` and stops the public page from stating the review.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from review_flow.articles.content_hash import _reference, content_hash, content_hash_of
from review_flow.articles.models import Revision
from review_flow.articles.queries import get_article
from review_flow.articles.writes import create_article, edit_article
from review_flow.cli import main
from review_flow.errors import ValidationFailed
from review_flow.web.public import page_cache
from tests.conftest import PASSWORD
from tests.web.conftest import BODY, REFS

CAUTION = "Educational purpose only • Exercise caution as content is pending human review"
PRO = "Consider first-line antihypertensives per guideline thresholds [1]; see [2].\n"
# The pinned vector of tests/unit/test_content_hash_vector.py: a revision without a
# professional text hashes exactly as before audience texts existed.
PINNED_TITLE = "Blood pressure: what \u201cnormal\u201d means"
PINNED_BODY = "Aim for < 130/80 mmHg [1].\n\nSee also [2].\n"
PINNED_REFS = [
    {"doi": "10.1000/xyz123", "title": "\u00c4rzteblatt: Hypertonie \u2014 Leitlinie"},
    {"pmid": "12345678", "title": "Trial", "url": "https://example.org/t?a=1&b=2"},
]
PINNED = "sha256:e1fffa012e0156eb01f0638fff3ebbe479f9ccb70a2f10771eaf3fb865c15126"


def test_without_a_professional_text_the_hash_is_unchanged() -> None:
    assert content_hash(PINNED_TITLE, PINNED_BODY, PINNED_REFS) == PINNED
    assert content_hash(PINNED_TITLE, PINNED_BODY, PINNED_REFS, None) == PINNED
    assert content_hash_of(PINNED_TITLE, PINNED_BODY, json.dumps(
        PINNED_REFS, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        PINNED_REFS, None) == PINNED


def test_the_professional_text_is_in_the_documented_canonical_json() -> None:
    import hashlib

    canonical = json.dumps(
        {"body": PINNED_BODY, "professional_body": PRO, "references": PINNED_REFS,
         "title": PINNED_TITLE}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    want = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert content_hash(PINNED_TITLE, PINNED_BODY, PINNED_REFS, PRO) == want
    assert _reference(PINNED_TITLE, PINNED_BODY, PINNED_REFS, PRO) == want
    assert content_hash_of(PINNED_TITLE, PINNED_BODY, "", PINNED_REFS, PRO) == want
    assert want != PINNED
    # Changing either text changes the hash.
    assert content_hash(PINNED_TITLE, PINNED_BODY, PINNED_REFS, PRO + "x") != want
    assert content_hash(PINNED_TITLE, PINNED_BODY + "x", PINNED_REFS, PRO) != want
    # An empty professional text is a text: the writers store blank as none (below).
    assert content_hash(PINNED_TITLE, PINNED_BODY, PINNED_REFS, "") != PINNED


def _create(db: Any, people: Any, pro: Any) -> int:
    with db.transaction() as s:
        return create_article(s, people["author"], title="High blood pressure", body=BODY,
                              references=REFS, professional_body=pro).id


def _revision(db: Any, article_id: int) -> Revision:
    with db.reading() as s:
        rev = get_article(s, article_id).current_revision
        assert rev is not None
        s.expunge(rev)
        return rev


def test_a_blank_professional_text_is_stored_as_none(db, people):
    aid = _create(db, people, "  \n")
    rev = _revision(db, aid)
    assert rev.professional_body is None
    assert rev.content_hash == content_hash("High blood pressure", BODY, REFS)


def test_a_professional_text_that_is_not_text_is_refused(db, people):
    with pytest.raises(ValidationFailed) as exc, db.transaction() as s:
        create_article(s, people["author"], title="T", body=BODY, references=REFS,
                       professional_body=["not", "text"])
    assert exc.value.message == "The text for healthcare professionals must be text."
    assert exc.value.details["fields"] == {"professional_body": "must be text"}
    with db.reading() as s:
        assert s.scalar(select(Revision.id)) is None


def _approve(db: Any, people: Any, aid: int) -> None:
    from review_flow.articles.actions import perform_action

    for action, who, kw in (("submit", "author", {}), ("start_review", "reviewer", {}),
                            ("approve", "reviewer", {"password": PASSWORD})):
        with db.transaction() as s:
            perform_action(s, people[who], aid, action, **kw)


@pytest.mark.parametrize("changed", ["body", "professional_body"])
def test_changing_either_text_voids_the_approval(db, people, changed):
    aid = _create(db, people, PRO)
    _approve(db, people, aid)
    approved = _revision(db, aid)
    assert approved.professional_body == PRO
    assert approved.content_hash == content_hash("High blood pressure", BODY, REFS, PRO)
    texts = {"body": BODY, "professional_body": PRO}
    texts[changed] += "Added sentence.\n"
    with db.transaction() as s:
        _, new = edit_article(s, people["author"], aid, title="High blood pressure",
                              references=REFS, **texts)
        assert new is not None
    with db.reading() as s:
        art = get_article(s, aid)
        assert art.state == "draft"  # the approval does not carry over
        assert art.current_revision.number == 2
        assert art.current_revision.content_hash != approved.content_hash
        assert art.approved_revision.number == 1  # readers keep the approved text
    # The new revision needs its own approval: the reviewer signs it again.
    _approve(db, people, aid)
    with db.reading() as s:
        art = get_article(s, aid)
        assert art.approved_revision.number == 2
        assert art.approved_revision.professional_body == texts["professional_body"]


def test_saving_the_same_two_texts_makes_no_revision(db, people):
    aid = _create(db, people, PRO)
    with db.transaction() as s:
        _, new = edit_article(s, people["author"], aid, title="High blood pressure", body=BODY,
                              references=REFS, professional_body=PRO)
    assert new is None


def _drop_guards(db: Any, backend: str) -> None:
    with db.transaction() as s:
        if backend == "sqlite":
            s.execute(text("DROP TRIGGER revisions_immutable"))
        else:
            s.execute(text("ALTER TABLE revisions DISABLE TRIGGER USER"))


def test_the_professional_text_cannot_be_updated(db, people):
    aid = _create(db, people, PRO)
    with pytest.raises(Exception, match="immutable"), db.transaction() as s:
        s.execute(text("UPDATE revisions SET professional_body = 'x' WHERE article_id = :a"),
                  {"a": aid})
    assert _revision(db, aid).professional_body == PRO


def test_tampered_professional_text_is_named_and_not_stated(
        app, client, db, db_url, backend, people, monkeypatch, tmp_path, caplog):
    aid = _create(db, people, PRO)
    _approve(db, people, aid)
    slug = _slug(db, aid)
    with app.app_context():
        page_cache().clear()
    page = client.get(f"/articles/{slug}").get_data(as_text=True)
    assert "Medically reviewed by Dr. Maya Reed, MD, FACP" in page and CAUTION not in page

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    assert runner.invoke(main, ["audit", "verify"], catch_exceptions=False).exit_code == 0

    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET professional_body = :p WHERE article_id = :a"),
                  {"p": PRO.replace("first-line", "no"), "a": aid})
    result = runner.invoke(main, ["audit", "verify"], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"article {aid}" in result.stderr and "revision 1" in result.stderr, result.stderr

    with app.app_context():
        page_cache().clear()
    with caplog.at_level(logging.WARNING, logger="review_flow.trust"):
        page = client.get(f"/articles/{slug}").get_data(as_text=True)
    assert CAUTION in page
    assert "Medically reviewed by" not in page and "application/ld+json" not in page
    assert any(f"article {aid}" in r.getMessage() and "hashes to" in r.getMessage()
               for r in caplog.records)


def _slug(db: Any, aid: int) -> str:
    with db.reading() as s:
        return get_article(s, aid).slug
