"""The public page states a review only when the chained record supports it.

Each tamper leaves the tables looking reviewed; the page must then show the text as
pending review, name no reviewer, and log why (``signatures/trust.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from review_flow.articles.content import content_hash
from review_flow.signatures import trust
from review_flow.web.public import page_cache
from tests.web.conftest import BODY

CAUTION = "Educational purpose only • Exercise caution as content is pending human review"


def _drop_guards(db: Any, backend: str) -> None:
    with db.transaction() as s:
        for t in ("revisions", "decisions", "comments"):
            if backend == "sqlite":
                for name in s.scalars(text("SELECT name FROM sqlite_master WHERE "
                                           "type = 'trigger' AND tbl_name = :t"), {"t": t}).all():
                    s.execute(text(f"DROP TRIGGER {name}"))
            else:
                s.execute(text(f"ALTER TABLE {t} DISABLE TRIGGER USER"))


def _page(app: Any, client: Any, slug: str) -> str:
    with app.app_context():
        page_cache().clear()  # the page as a fresh render gives it
    response = client.get(f"/articles/{slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _shown_as_pending(page: str) -> None:
    assert CAUTION in page
    assert "Medically reviewed by" not in page
    assert "Dr. Maya Reed" not in page and "Dr. Famous" not in page
    assert "application/ld+json" not in page
    assert '<li class="step current" aria-current="step">Approved</li>' not in page


@pytest.fixture
def approved(app: Any, client: Any, story: Any) -> tuple[int, str]:
    article_id = story.in_state("approved")
    slug = story.slug(article_id)
    page = _page(app, client, slug)  # checked and cached while the record is intact
    assert "Medically reviewed by Dr. Maya Reed, MD, FACP" in page and CAUTION not in page
    return article_id, slug


def test_a_changed_printed_name_is_not_stated(app, client, db, backend, approved, caplog):
    article_id, slug = approved
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET printed_name = 'Dr. Famous' WHERE article_id = :a"),
                  {"a": article_id})
    with caplog.at_level(logging.WARNING, logger="review_flow.trust"):
        page = _page(app, client, slug)
    _shown_as_pending(page)
    assert any(f"article {article_id}" in r.getMessage() and "matches no approval event"
               in r.getMessage() for r in caplog.records)


def test_text_with_a_recomputed_hash_is_not_stated(app, client, db, backend, approved, caplog):
    article_id, slug = approved
    _drop_guards(db, backend)
    with db.transaction() as s:
        rev = s.execute(text("SELECT title, \"references\" FROM revisions WHERE article_id = :a"),
                        {"a": article_id}).one()
        import json

        refs = rev[1] if isinstance(rev[1], list) else json.loads(rev[1])
        body = BODY + "Garlic cures it.\n"
        forged = content_hash(rev[0], body, refs)
        s.execute(text("UPDATE revisions SET body = :b, content_hash = :h WHERE article_id = :a"),
                  {"b": body, "h": forged, "a": article_id})
        s.execute(text("UPDATE decisions SET content_hash = :h WHERE article_id = :a"),
                  {"h": forged, "a": article_id})
    with caplog.at_level(logging.WARNING, logger="review_flow.trust"):
        page = _page(app, client, slug)
    _shown_as_pending(page)
    assert any("matches no approval event" in r.getMessage() for r in caplog.records)


def test_altered_text_under_the_signed_hash_is_not_stated(app, client, db, backend, approved,
                                                          caplog):
    article_id, slug = approved
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET body = :b WHERE article_id = :a"),
                  {"b": BODY + "Garlic cures it.\n", "a": article_id})
    with caplog.at_level(logging.WARNING, logger="review_flow.trust"):
        page = _page(app, client, slug)
    _shown_as_pending(page)
    assert any("hashes to" in r.getMessage() for r in caplog.records)


def test_a_copied_signature_on_a_draft_is_not_stated(app, client, db, approved, story, caplog):
    """No trigger touched: a real signature copied onto a never-reviewed revision."""
    source, _ = approved
    draft = story.in_state("submitted", title="Never reviewed")
    with db.transaction() as s:
        rev = s.execute(text("SELECT id, number, content_hash FROM revisions "
                             "WHERE article_id = :a"), {"a": draft}).one()
        s.execute(text(
            "INSERT INTO decisions (article_id, revision_id, revision_number, content_hash, "
            "reviewer_id, kind, printed_name, credentials, meaning, signed_at, comment, "
            "attestations, policy_version) SELECT :a, :r, :n, :h, reviewer_id, kind, "
            "printed_name, credentials, meaning, signed_at, comment, attestations, "
            "policy_version FROM decisions WHERE article_id = :src"),
            {"a": draft, "r": rev.id, "n": rev.number, "h": rev.content_hash, "src": source})
        s.execute(text("UPDATE articles SET state = 'approved', approved_revision_id = :r "
                       "WHERE id = :a"), {"a": draft, "r": rev.id})
    with caplog.at_level(logging.WARNING, logger="review_flow.trust"):
        page = _page(app, client, story.slug(draft))
    _shown_as_pending(page)
    assert any(f"article {draft}" in r.getMessage() for r in caplog.records)


def test_approved_with_no_signature_is_not_stated(app, client, db, story):
    article_id = story.in_state("under_review")
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET state = 'approved', "
                       "approved_revision_id = current_revision_id WHERE id = :a"),
                  {"a": article_id})
    page = _page(app, client, story.slug(article_id))
    assert CAUTION in page and "Medically reviewed by" not in page


def test_the_verdict_is_cached_by_text_and_signatures(app, client, db, backend, approved,
                                                      monkeypatch):
    """The same approved text and signatures are checked once per process; a changed
    signature is a new question, answered anew."""
    article_id, slug = approved
    checks = []
    original = trust._check

    def counting(*args: Any) -> Any:
        checks.append(args)
        return original(*args)

    monkeypatch.setattr(trust, "_check", counting)
    assert "Medically reviewed by Dr. Maya Reed" in _page(app, client, slug)
    assert checks == []  # checked when the fixture first rendered it
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET credentials = 'MD' WHERE article_id = :a"),
                  {"a": article_id})
    _shown_as_pending(_page(app, client, slug))
    assert len(checks) == 1
    _shown_as_pending(_page(app, client, slug))
    assert len(checks) == 1
