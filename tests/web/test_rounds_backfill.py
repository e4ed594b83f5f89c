"""Migration 0020's backfill on a database that holds articles in every state, with
decisions and ``start_review`` events: taken down to 0024 (the revision before 0020 in the
chain) and upgraded again, it opens one round for each article waiting for review (none
for the others), gives an article under review its reviewer's claim, leaves decisions
without a round, and the quorum still counts the approvals already signed."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from review_flow import migrate
from review_flow.articles.models import Article
from review_flow.audit.models import AuditEvent
from review_flow.policy import service as policy
from review_flow.rounds.acting import round_approvers
from review_flow.rounds.models import Assignment, ReviewRound
from review_flow.rounds.reading import round_as_dict
from review_flow.signatures.models import Decision


def _down_to_before_0020(db: Any) -> None:
    """The story is told by today's code, then the schema is taken down to 0024: what
    stays is what a 0024 database held (articles, decisions, audit events). The audit
    chain's replay is not checked here: today's events name rounds a 0024 one would not."""
    url = db.engine.url.render_as_string(hide_password=False)
    cfg = migrate.alembic_config(url)
    before = ScriptDirectory.from_config(cfg).get_revision("0020").down_revision
    assert before == "0024"
    db.engine.dispose()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, str(before))
    assert migrate.current_revision(db.engine) == "0024"
    assert "review_rounds" not in inspect(db.engine).get_table_names()


def test_the_backfill_opens_rounds_and_claims_for_what_waits_for_review(db: Any, story: Any,
                                                                        people: Any) -> None:
    with db.transaction() as s:  # two approvals: a review can be half done
        policy.set_policy(s, changed_by=None, changes={"required_approvals": 2})
    ids = {st: story.in_state(st) for st in ("draft", "submitted", "under_review",
                                             "changes_requested", "rejected")}
    for st in ("approved", "retracted"):
        ids[st] = story.in_state("under_review", title=f"Article {st}")
        story.act(ids[st], "approve", "reviewer")
        story.act(ids[st], "approve", "reviewer2")
    story.act(ids["retracted"], "retract", "editor", comment="Superseded.")
    # Under review with one of two approvals, started by the second reviewer.
    half = story.create(title="Half approved")
    story.act(half, "submit", "author")
    story.act(half, "start_review", "reviewer2")
    story.act(half, "approve", "reviewer2")
    # Back in review after changes were asked for: a second submission of a new revision.
    again = story.in_state("changes_requested", title="Submitted again")
    story.edit(again, body="Lower salt intake helps [1]. Revised.\n")
    story.act(again, "submit", "author")
    assert [story.state(a) for a in (half, again, ids["approved"], ids["retracted"])] == [
        "under_review", "submitted", "approved", "retracted"]
    with db.reading() as s:
        decisions_before = s.execute(select(Decision.id, Decision.kind, Decision.reviewer_id)
                                     .order_by(Decision.id)).all()
    _down_to_before_0020(db)
    migrate.upgrade(db.engine)

    with db.reading() as s:
        articles = {a.id: a for a in s.scalars(select(Article))}
        newest = policy.active_policy(s)[0]
        rounds = {r.article_id: r for r in s.scalars(select(ReviewRound))}
        waiting = {ids["submitted"], ids["under_review"], half, again}
        assert set(rounds) == waiting
        for aid in waiting:
            r, art = rounds[aid], articles[aid]
            assert (r.number, r.closed_at, r.outcome) == (1, None, None)
            assert r.revision_id == art.current_revision_id
            assert r.policy_version == newest
            assert r.opened_at == art.submitted_at
        claims = {(a.article_id, a.reviewer_id, a.state, a.assigned_by_id)
                  for a in s.scalars(select(Assignment))}
        assert claims == {
            (ids["under_review"], people["reviewer"].id, "accepted", people["reviewer"].id),
            (half, people["reviewer2"].id, "completed", people["reviewer2"].id),
        }
        started = s.scalar(select(AuditEvent.at).where(
            AuditEvent.article_id == half, AuditEvent.action == "article.start_review"))
        claim = s.scalars(select(Assignment).where(Assignment.article_id == half)).one()
        assert claim.responded_at == claim.created_at == started
        assert (claim.review_due - started).days == 14
        # Decisions keep no round (append-only), and none was lost or added.
        assert s.execute(select(Decision.id, Decision.kind, Decision.reviewer_id)
                         .order_by(Decision.id)).all() == decisions_before
        assert s.scalars(select(Decision.round_id).where(Decision.round_id.is_not(None))
                         ).all() == []
        # The half-done review's approval still counts in its round, and shows in it.
        assert set(round_approvers(s, rounds[half], articles[half].current_revision_id)) == {
            people["reviewer2"].id}
        shown = round_as_dict(s, half)
        assert shown is not None
        assert [a["reviewer"] for a in shown["approvals"]] == ["Dr. Chidi Okafor, MD, MPH"]
    # The second approval completes the quorum: the round closes approved.
    story.act(half, "approve", "reviewer")
    assert story.state(half) == "approved"
    with db.reading() as s:
        r = s.scalars(select(ReviewRound).where(ReviewRound.article_id == half)).one()
        assert r.outcome == "approved" and r.closed_at is not None
