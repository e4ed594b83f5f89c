"""The article timeline: one story from the article's audit events, any event kind shown,
keyset pages in both directions, and the index plans that keep a page cheap."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime
from typing import Any

import pytest

from review_flow.articles.comments import add_comment
from review_flow.audit import as_of, timeline
from review_flow.audit import log as audit
from review_flow.audit.actions import AUDIT_ACTIONS
from review_flow.rounds import assignments
from tests.conftest import PASSWORD


def _text(html: str) -> str:
    return html_lib.unescape(html)


def test_the_story_of_an_article(as_role: Any, story: Any, db: Any, people: Any) -> None:
    aid = story.create(title="Understanding High Blood Pressure")
    story.act(aid, "submit", "author")
    with db.transaction() as s:
        assignments.assign(s, people["editor"], aid, people["reviewer"].user)
    with db.transaction() as s:
        assignments.respond(s, people["reviewer"], aid, "accept")
    with db.transaction() as s:
        add_comment(s, people["reviewer"], aid, "Please cite the 2017 guideline.")
    story.act(aid, "start_review", "reviewer")
    story.act(aid, "approve", "reviewer", password=PASSWORD)
    story.edit(aid, title="High Blood Pressure, revised")
    story.act(aid, "submit", "author")
    story.act(aid, "start_review", "reviewer2")
    story.act(aid, "approve", "reviewer2", password=PASSWORD)
    story.act(aid, "retract", "editor", comment="Superseded by a newer guideline.")

    response = as_role("auditor").get(f"/audit/articles/{aid}/timeline")
    assert response.status_code == 200
    page = _text(response.get_data(as_text=True))
    order = [
        "Created, with revision 1",
        "Submit for review (revision 1)",
        "Review round 1 opened.",
        "Reviewer assigned",
        "Reviewer</dt><dd class=\"wrap-anywhere\">Dr. Maya Reed",
        "Assignment accepted",
        "Comment",
        "Please cite the 2017 guideline.",
        "Start review (revision 1)",
        "Approve (revision 1)",
        "Published: readers now see revision 1 as medically reviewed.",
        "Review round 1 closed: approved.",
        "Signed by</strong> Dr. Maya Reed, MD, FACP",
        "“I approve this revision as medically accurate”",
        "Revision 2 saved",
        "Readers keep the approved text until this revision is approved.",
        "Review round 2 opened.",
        "Approve (revision 2)",
        "Published: readers now see revision 2 as medically reviewed.",
        "Signed by</strong> Dr. Chidi Okafor, MD, MPH",
        "Retract (revision 2)",
        "Withdrawn from readers",
        "Superseded by a newer guideline.",
    ]
    positions = [page.find(piece) for piece in order]
    assert -1 not in positions, [p for p, i in zip(order, positions, strict=True) if i < 0]
    assert positions == sorted(positions), "the story is not in order"
    # Actors as named then, states, revision links and the diff form, as-of links.
    assert "By Erin Editor · <code>assignment.create</code>" in page
    assert "approved&nbsp;→ draft" in _text(page) or "approved\xa0→ draft" in page
    assert f'href="/write/{aid}/revisions/2">Text of revision 2</a>' in page
    assert f'action="/review/{aid}/compare"' in page
    assert f"/audit/articles/{aid}/as-of?at=" in page

    # Admins read the timeline but not review pages: no links they could not follow.
    admin_page = as_role("admin").get(f"/audit/articles/{aid}/timeline").get_data(as_text=True)
    assert "Text of revision 2" not in admin_page and "Approve (revision 1)" in admin_page


def test_an_event_kind_added_later_shows_without_code(as_role: Any, story: Any, db: Any,
                                                      people: Any, monkeypatch: Any) -> None:
    """Other work adds kinds (reference checks, checklist answers, threads): the timeline
    shows them generically, every detail of their data included."""
    monkeypatch.setitem(AUDIT_ACTIONS, "reference.check",
                        "A reviewer marked a reference verified or a problem.")
    aid = story.create()
    with db.transaction() as s:
        audit.record(s, actor_id=people["reviewer"].id, actor_name="Dr. Maya Reed",
                     action="reference.check", object_type="reference", object_id="2",
                     article_id=aid, revision=1, comment="The DOI resolves to a retraction.",
                     data={"verdict": "problem", "reference": 2, "nested": {"a": [1, 2]}})
    page = _text(as_role("editor").get(f"/audit/articles/{aid}/timeline").get_data(
        as_text=True))
    assert ("reference.check: A reviewer marked a reference verified or a problem." in page)
    assert "By Dr. Maya Reed · <code>reference.check</code> · revision 1" in page
    assert "The DOI resolves to a retraction." in page
    assert "<dt>Verdict</dt><dd class=\"wrap-anywhere\">problem</dd>" in page
    assert "<dt>Nested</dt><dd class=\"wrap-anywhere\">{\"a\": [1, 2]}</dd>" in page
    assert 'class="timeline-event generic"' in page


def test_pages_in_both_directions(story: Any, db: Any) -> None:
    aid = story.create()
    other = story.create(title="Another article")
    for _ in range(3):
        story.act(aid, "submit", "author")
        story.act(aid, "withdraw", "author")
        story.act(other, "submit", "author")
        story.act(other, "withdraw", "author")
    with db.reading() as s:
        seqs = [e.seq for e in story.events() if e.article_id == aid]
        assert len(seqs) == 7
        first = timeline.page(s, aid, limit=3)
        assert [e.row.seq for e in first.entries] == seqs[:3]
        assert first.earlier is None and first.later == seqs[2]
        second = timeline.page(s, aid, after=first.later, limit=3)
        assert [e.row.seq for e in second.entries] == seqs[3:6]
        assert second.earlier == seqs[3]
        third = timeline.page(s, aid, after=second.later, limit=3)
        assert [e.row.seq for e in third.entries] == seqs[6:] and third.later is None
        back = timeline.page(s, aid, before=third.entries[0].row.seq, limit=3)
        assert [e.row.seq for e in back.entries] == seqs[3:6]
        newest = timeline.page(s, aid, before=2**62, limit=3)
        assert [e.row.seq for e in newest.entries] == seqs[4:]
        assert newest.earlier == seqs[4]


def _plan(db: Any, backend: str, stmt: Any, params: dict[str, Any]) -> list[str]:
    compiled = stmt.compile(dialect=db.engine.dialect)
    params = {**{k: v for k, v in compiled.params.items() if v is not None}, **params}
    with db.engine.connect() as conn:
        if backend == "sqlite":
            values = tuple(params[k] for k in compiled.positiontup)
            return [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                                       values)]
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).all()
        conn.rollback()
        return [r[0] for r in rows]


def _when(backend: str) -> datetime:
    t = datetime(2030, 1, 1, tzinfo=UTC)
    return t.replace(tzinfo=None) if backend == "sqlite" else t


@pytest.mark.parametrize(("name", "stmt", "index"), [
    ("timeline forward", timeline._FORWARD, "ix_audit_events_article_seq"),
    ("timeline backward", timeline._BACKWARD, "ix_audit_events_article_seq"),
    ("as-of events", as_of._EVENTS, "ix_audit_events_article_changes"),
])
def test_timeline_and_as_of_read_one_index_range(db: Any, backend: str, name: str, stmt: Any,
                                                 index: str) -> None:
    params = {"aid": 1, "after": 0, "before": 2**62, "limit": 101, "at": _when(backend)}
    plan = _plan(db, backend, stmt, params)
    text = "\n".join(plan)
    assert index in text, (name, plan)
    if backend == "sqlite":
        assert not any(s.startswith("SCAN") for s in plan), (name, plan)
    else:
        assert "Seq Scan" not in text, (name, plan)


def test_as_of_reads_few_rows_with_indexes(db: Any, backend: str) -> None:
    for stmt, params in ((as_of._APPROVALS, {"rev_id": 1, "at": _when(backend)}),
                         (as_of._REVISION, {"aid": 1, "number": 1}),
                         (as_of._POLICY_AT, {"at": _when(backend)})):
        plan = _plan(db, backend, stmt, params)
        text = "\n".join(plan)
        if backend == "sqlite":
            # The approvals' sub-select probes the article's events; decisions by revision.
            assert not any(s.startswith("SCAN audit_events") or s.startswith("SCAN decisions")
                           or s.startswith("SCAN revisions") for s in plan), plan
        else:
            assert "Seq Scan on audit_events" not in text, plan
            assert "Seq Scan on decisions" not in text, plan


def test_pages_cost_the_same_statements_however_long_the_history(
        as_role: Any, story: Any, db: Any, people: Any, shared_db: Any,
        count_queries: Any) -> None:
    """No statement per event: a short and a long history cost the same count."""
    short = story.in_state("approved", title="Short history")
    long = story.create(title="Long history")
    for i in range(4):
        story.act(long, "submit", "author")
        with db.transaction() as s:
            add_comment(s, people["reviewer"], long, f"Comment {i}")
        story.act(long, "start_review", "reviewer")
        story.act(long, "request_changes", "reviewer", comment="Cite the guideline.")
    story.act(long, "submit", "author")
    with db.transaction() as s:
        assignments.assign(s, people["editor"], long, people["reviewer2"].user)
    story.act(long, "start_review", "reviewer")
    story.act(long, "approve", "reviewer", password=PASSWORD)
    auditor = as_role("auditor")
    counts = {}
    for aid in (short, long):
        for path in (f"/audit/articles/{aid}/timeline", f"/audit/articles/{aid}/as-of"):
            auditor.get(path)  # warm: session and user loaded as on every page
            with count_queries() as q:
                assert auditor.get(path).status_code == 200
            counts[(aid, path.rsplit("/", 1)[-1])] = q.count
    assert counts[(short, "timeline")] == counts[(long, "timeline")], counts
    assert counts[(short, "as-of")] == counts[(long, "as-of")], counts
    assert counts[(long, "timeline")] <= 5 and counts[(long, "as-of")] <= 8, counts
