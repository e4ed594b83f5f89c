"""``audit verify`` replays the chain against the tables the public page trusts.

Every tamper case here leaves the hash chain intact (or recomputes what it touches with
the published formula), so only the replay can catch it; where the database's own
guards would refuse the change, the test drops them first, as an intruder with the
database files would. Each case expects verify to name the right article and field.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from review_flow.articles.content import content_hash
from review_flow.audit import replay
from review_flow.audit.verify import verify_all
from tests.core.helpers import BODY, REFS, act, create, event_count

GUARDED = ("revisions", "decisions", "comments", "articles", "audit_events", "audit_chain_head")


@pytest.fixture
def story(db, people):
    """Four articles: approved (``ok``), retracted (``gone``), a draft never reviewed with
    two revisions (``draft``), and one under review with comments (``talk``)."""
    ok = create(db, people["author"])
    act(db, people["author"], ok, "submit")
    act(db, people["reviewer"], ok, "start_review")
    act(db, people["reviewer"], ok, "approve", comment="Accurate and well sourced.")
    gone = create(db, people["author"], title="Vitamin C and colds")
    act(db, people["author"], gone, "submit")
    act(db, people["reviewer"], gone, "start_review")
    act(db, people["reviewer"], gone, "approve")
    act(db, people["editor"], gone, "retract", comment="A cited trial was withdrawn.")
    draft = create(db, people["author"], title="Flu vaccines")
    with db.transaction() as s:
        from review_flow.articles.comments import add_comment
        from review_flow.articles.writes import edit_article

        edit_article(s, people["author"], draft, title="Flu vaccines",
                     body=BODY + "More.\n", references=REFS)
    talk = create(db, people["author"], title="Statins")
    act(db, people["author"], talk, "submit")
    act(db, people["reviewer2"], talk, "start_review")
    with db.transaction() as s:
        from review_flow.articles.comments import add_comment
        from review_flow.articles.writes import edit_article

        add_comment(s, people["reviewer2"], talk, "Paragraph 2 needs a source.")
    return {"ok": ok, "gone": gone, "draft": draft, "talk": talk, "people": people}


def _drop_guards(db, backend, tables=GUARDED):
    with db.transaction() as s:
        if backend == "sqlite":
            for t in tables:
                for name in s.scalars(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
                ), {"t": t}).all():
                    s.execute(text(f"DROP TRIGGER {name}"))
        else:
            for t in tables:
                s.execute(text(f"ALTER TABLE {t} DISABLE TRIGGER USER"))


def _verify(db, workers=1):
    with db.reading() as s:
        return verify_all(s, workers=workers)


def _expect(db, article_id, field, *, chain=None, table=None, workers=1):
    result = _verify(db, workers)
    assert not result.ok, result.message
    assert result.message.startswith(f"article {article_id}: {field}"), result.message
    assert " — the chain says " in result.message
    if chain is not None:
        assert f"the chain says {chain}" in result.message, result.message
    if table is not None:
        assert f"the table says {table}" in result.message, result.message
    return result.message


def test_an_untouched_record_verifies(db, story):
    result = _verify(db)
    assert result.ok, result.message
    assert result.message.startswith(f"OK: {event_count(db)} events verified")
    assert "4 articles replayed against the tables, 5 revisions re-hashed" in result.message


def test_a_sentence_appended_with_its_hash_recomputed_is_caught(db, backend, story):
    """The issue's first attack: new text, its hash recomputed with the published formula
    and written into the revision and its signature."""
    aid = story["ok"]
    _drop_guards(db, backend)
    forged_body = BODY + "Garlic cures it.\n"
    forged = content_hash("High Blood Pressure", forged_body, REFS)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET body = :b, content_hash = :h WHERE article_id = :a"),
                  {"b": forged_body, "h": forged, "a": aid})
        s.execute(text("UPDATE decisions SET content_hash = :h WHERE article_id = :a"),
                  {"h": forged, "a": aid})
    true_hash = content_hash("High Blood Pressure", BODY, REFS)
    _expect(db, aid, "approved revision", chain=f"1 ({true_hash})", table=f"1 ({forged})")


def test_altered_text_under_its_old_hash_is_caught(db, backend, story):
    aid = story["ok"]
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET body = 'Garlic cures it.' WHERE article_id = :a"),
                  {"a": aid})
    _expect(db, aid, "revision 1 text")


def test_a_changed_printed_name_is_caught(db, backend, story):
    aid = story["ok"]
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET printed_name = 'Dr. Famous' WHERE article_id = :a"),
                  {"a": aid})
    msg = _expect(db, aid, "signature of event", chain="'Dr. Maya Reed'", table="'Dr. Famous'")
    assert "printed name" in msg


def test_a_copied_signature_on_a_never_reviewed_draft_is_caught(db, story):
    """No trigger touched: a copy of a real signature, pointed at a draft revision, and
    the article set to approved on it."""
    aid = story["draft"]
    with db.transaction() as s:
        rev = s.execute(text(
            "SELECT id, number, content_hash FROM revisions WHERE article_id = :a "
            "ORDER BY number DESC"), {"a": aid}).first()
        s.execute(text(
            "INSERT INTO decisions (article_id, revision_id, revision_number, content_hash, "
            "reviewer_id, kind, printed_name, credentials, meaning, signed_at, comment, "
            "attestations, policy_version) SELECT :a, :r, :n, :h, reviewer_id, kind, "
            "printed_name, credentials, meaning, signed_at, comment, attestations, "
            "policy_version FROM decisions WHERE article_id = :ok"),
            {"a": aid, "r": rev.id, "n": rev.number, "h": rev.content_hash, "ok": story["ok"]})
        s.execute(text("UPDATE articles SET state = 'approved', approved_revision_id = :r "
                       "WHERE id = :a"), {"a": aid, "r": rev.id})
    _expect(db, aid, "state", chain="'draft'", table="'approved'")


def test_the_copied_signature_alone_is_caught_too(db, story):
    aid = story["draft"]
    with db.transaction() as s:
        s.execute(text(
            "INSERT INTO decisions (article_id, revision_id, revision_number, content_hash, "
            "reviewer_id, kind, printed_name, credentials, meaning, signed_at, comment, "
            "attestations, policy_version) SELECT :a, r.id, r.number, r.content_hash, "
            "d.reviewer_id, d.kind, d.printed_name, d.credentials, d.meaning, d.signed_at, "
            "d.comment, d.attestations, d.policy_version FROM decisions d, revisions r "
            "WHERE d.article_id = :ok AND r.article_id = :a AND r.number = 2"),
            {"a": aid, "ok": story["ok"]})
    msg = _expect(db, aid, "signature", chain="no such signature")
    assert "a approve by 'Dr. Maya Reed' on revision 2" in msg


def test_a_deleted_retraction_is_caught(db, backend, story):
    """The retraction's comment deleted and the article set back to approved (the
    comments guard of migration 0008 dropped first)."""
    aid = story["gone"]
    _drop_guards(db, backend, ("comments",))
    with db.transaction() as s:
        s.execute(text("DELETE FROM comments WHERE article_id = :a AND kind = 'retract'"),
                  {"a": aid})
        s.execute(text("UPDATE articles SET state = 'approved' WHERE id = :a"), {"a": aid})
    _expect(db, aid, "state", chain="'retracted'", table="'approved'")


def test_a_deleted_retraction_reason_alone_is_caught(db, backend, story):
    aid = story["gone"]
    _drop_guards(db, backend, ("comments",))
    with db.transaction() as s:
        s.execute(text("DELETE FROM comments WHERE article_id = :a AND kind = 'retract'"),
                  {"a": aid})
    _expect(db, aid, "retract comment", chain="'A cited trial was withdrawn.'",
            table="no such comment")


def test_a_truncated_tail_with_the_head_moved_back_is_caught(db, backend, story):
    """The last 20+ events deleted and the chain head moved back to the new last event:
    the chain is whole again, but the rows those events wrote are still there."""
    aid = story["talk"]
    with db.transaction() as s:
        from review_flow.articles.comments import add_comment

        for i in range(22):
            add_comment(s, story["people"]["reviewer2"], aid, f"Note {i}.")
    total = event_count(db)
    _drop_guards(db, backend, ("audit_events", "audit_chain_head"))
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": total - 22})
        s.execute(text(
            "UPDATE audit_chain_head SET seq = :n, "
            "hash = (SELECT hash FROM audit_events WHERE seq = :n) WHERE id = 1"),
            {"n": total - 22})
    msg = _expect(db, aid, "comment", chain="no such comment")
    assert "'Note 0.'" in msg


def test_a_changed_signer_is_caught(db, backend, story):
    aid = story["ok"]
    other = story["people"]["reviewer2"].id
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET reviewer_id = :u WHERE article_id = :a"),
                  {"u": other, "a": aid})
    msg = _expect(db, aid, "signature of event", table=f"user {other}")
    assert " signer " in msg


def test_a_changed_signing_time_and_credentials_are_caught(db, backend, story):
    aid = story["ok"]
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET credentials = 'MD, PhD' WHERE article_id = :a"),
                  {"a": aid})
    assert "credentials" in _expect(db, aid, "signature of event", table="'MD, PhD'")


def test_swapped_revision_numbers_are_caught(db, backend, story):
    aid = story["draft"]
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE revisions SET number = -1 WHERE article_id = :a AND number = 1"),
                  {"a": aid})
        s.execute(text("UPDATE revisions SET number = 1 WHERE article_id = :a AND number = 2"),
                  {"a": aid})
        s.execute(text("UPDATE revisions SET number = 2 WHERE article_id = :a AND number = -1"),
                  {"a": aid})
    _expect(db, aid, "revision 1 content hash")


def test_an_extra_approval_on_the_approved_revision_is_caught(db, story):
    aid = story["ok"]
    other = story["people"]["reviewer2"]
    with db.transaction() as s:
        s.execute(text(
            "INSERT INTO decisions (article_id, revision_id, revision_number, content_hash, "
            "reviewer_id, kind, printed_name, credentials, meaning, signed_at, comment, "
            "attestations, policy_version) SELECT article_id, revision_id, revision_number, "
            "content_hash, :u, kind, 'Dr. Chidi Okafor', 'MD, MPH', meaning, signed_at, "
            "NULL, attestations, policy_version FROM decisions WHERE article_id = :a"),
            {"u": other.id, "a": aid})
    _expect(db, aid, "signature", chain="no such signature")


def test_approved_without_an_approve_event_is_caught(db, story):
    aid = story["talk"]
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET state = 'approved', "
                       "approved_revision_id = current_revision_id WHERE id = :a"), {"a": aid})
    _expect(db, aid, "state", chain="'under_review'", table="'approved'")


def test_an_approved_revision_pointed_elsewhere_is_caught(db, story):
    """Editing approved text keeps revision 1 public; pointing readers at revision 2
    (never approved) is named with both revisions."""
    aid = story["ok"]
    with db.transaction() as s:
        from review_flow.articles.writes import edit_article

        edit_article(s, story["people"]["author"], aid, title="High Blood Pressure",
                     body=BODY + "Unreviewed.\n", references=REFS)
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET approved_revision_id = current_revision_id "
                       "WHERE id = :a"), {"a": aid})
    msg = _expect(db, aid, "approved revision")
    assert "the chain says 1 (sha256:" in msg and "the table says 2 (sha256:" in msg


def test_a_changed_version_is_caught(db, story):
    aid = story["talk"]
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET version = version + 5 WHERE id = :a"), {"a": aid})
    _expect(db, aid, "version")


def test_the_parallel_replay_names_the_same_disagreement(db, backend, story):
    """Worker processes (the path a large log takes) give the single pass's answer."""
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET printed_name = 'Dr. Famous' WHERE article_id = :a"),
                  {"a": story["gone"]})
    single = _verify(db, 1)
    parallel = _verify(db, 2)
    assert not single.ok and parallel.message == single.message
    assert single.message.startswith(f"article {story['gone']}: signature of event")
    assert _verify(db, 2).events == single.events


def test_the_parallel_replay_agrees_on_an_intact_record(db, story):
    assert _verify(db, 2).message == _verify(db, 1).message
    assert _verify(db, 2).ok


def test_a_broken_chain_is_named_before_the_replay(db, backend, story):
    _drop_guards(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET comment = 'x' WHERE seq = 3"))
        s.execute(text("UPDATE articles SET state = 'approved'"))
    result = _verify(db)
    assert not result.ok and result.bad_seq == 3 and "edited" in result.message


def test_signature_events_carry_the_decision_and_round_under_format_3(db, story):
    with db.reading() as s:
        data = s.scalar(text(
            "SELECT data FROM audit_events WHERE action = 'article.approve' AND article_id = :a"),
            {"a": story["ok"]})
        decision_id, round_id = s.execute(
            text("SELECT id, round_id FROM decisions WHERE article_id = :a"),
            {"a": story["ok"]}).one()
    data = json.loads(data)
    assert data["format"] == 3
    assert data["signature"]["decision_id"] == decision_id
    assert "attestations" in data["signature"]
    assert round_id is not None and data["signature"]["round_id"] == round_id


def test_format_1_signature_events_still_verify(db, backend, story):
    """A log written before format 2 (no decision id in the event) still verifies: the
    signatures are matched to their events in order."""
    _drop_guards(db, backend, ("audit_events",))
    with db.transaction() as s:
        from review_flow.audit.chain import event_hash

        rows = s.execute(text(
            "SELECT seq, data FROM audit_events WHERE data LIKE '%decision_id%' ORDER BY seq"
        )).all()
        assert rows
        for seq, data in rows:
            d = json.loads(data)
            del d["format"]
            del d["signature"]["decision_id"], d["signature"]["attestations"]
            del d["signature"]["round_id"]
            s.execute(text("UPDATE audit_events SET data = :d WHERE seq = :s"),
                      {"d": json.dumps(d, sort_keys=True, separators=(",", ":")), "s": seq})
        # Re-chain from the first rewritten event on, as a format-1 writer would have.
        from review_flow.audit.log import hashed_values
        from review_flow.audit.models import AuditEvent

        prev = s.scalar(text("SELECT hash FROM audit_events WHERE seq = :s"),
                        {"s": rows[0][0] - 1})
        for e in s.query(AuditEvent).filter(AuditEvent.seq >= rows[0][0]).order_by(
                AuditEvent.seq):
            h = event_hash(prev, hashed_values(e))
            s.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                      {"p": prev, "h": h, "s": e.seq})
            prev = h
        s.execute(text("UPDATE audit_chain_head SET hash = :h WHERE id = 1"), {"h": prev})
    result = _verify(db)
    assert result.ok, result.message
    # ... and the replay still compares what format 1 recorded.
    _drop_guards(db, backend, ("decisions",))
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET meaning = 'I looked at it' WHERE article_id = :a"),
                  {"a": story["ok"]})
    assert "meaning" in _expect(db, story["ok"], "signature of event")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE comments SET body = 'changed'",
        "DELETE FROM comments WHERE kind = 'retract'",
        "DELETE FROM articles",
        "UPDATE audit_chain_head SET seq = seq - 1",
    ],
)
def test_the_new_guards_refuse(db, story, sql):
    with pytest.raises(DBAPIError) as err, db.transaction() as s:
        s.execute(text(sql))
    assert any(w in str(err.value) for w in ("append-only", "never deleted", "never moves back"))
    assert _verify(db).ok


def test_the_disagreement_message_names_article_field_chain_and_table():
    d = replay.Disagreement(42, "approved revision", "3 (sha256:a)", "4 (sha256:b)")
    assert d.message == (
        "article 42: approved revision — the chain says 3 (sha256:a), the table says 4 (sha256:b)"
    )


def test_event_data_the_database_cannot_read_is_named_not_a_crash(db, backend, story):
    """Event data that is not JSON (the chain names that edit first; the replay alone must
    still answer, not crash)."""
    from review_flow.audit.verify import verify_replay

    _drop_guards(db, backend, ("audit_events",))
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET data = 'not json' WHERE seq = "
                       "(SELECT min(seq) FROM audit_events WHERE article_id = :a)"),
                  {"a": story["talk"]})
    with db.reading() as s:
        result = verify_replay(s, 10**9)
    assert not result.ok and "records — the chain says readable rows" in result.message
    assert _verify(db).message.startswith("event ")  # verify names the edited event


def test_the_cli_exits_1_naming_the_article_and_field(db_url, db, story, tmp_path, monkeypatch):
    """``review-flow audit verify``: "OK: N events verified" on an intact record; exit 1
    with the disagreement on stderr once a table is changed."""
    from click.testing import CliRunner

    from review_flow.cli import main

    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"], catch_exceptions=False)
    assert ok.exit_code == 0 and ok.stdout.startswith(f"OK: {event_count(db)} events verified")
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET state = 'approved' WHERE id = :a"),
                  {"a": story["talk"]})
    bad = runner.invoke(main, ["audit", "verify"], catch_exceptions=False)
    assert bad.exit_code == 1
    assert (f"FAILED: article {story['talk']}: state — the chain says 'under_review', "
            "the table says 'approved'") in bad.stderr


def test_the_parallel_replay_names_the_first_article_whichever_worker_finds_it(
    db, story, monkeypatch
):
    """Ranges of one article each, over two workers: of two disagreements, the one of the
    lower article is named, as a single pass names it."""
    from review_flow.audit import verify

    monkeypatch.setattr(verify, "REPLAY_CHUNK", 1)
    with db.transaction() as s:
        s.execute(text("UPDATE articles SET state = 'approved' WHERE id IN (:a, :b)"),
                  {"a": story["draft"], "b": story["talk"]})
    single, parallel = _verify(db, 1), _verify(db, 2)
    assert parallel.message == single.message
    assert single.message.startswith(f"article {story['draft']}: state")


def test_a_signature_moved_to_another_round_is_named(db, backend, story):
    _drop_guards(db, backend, ("decisions",))
    with db.transaction() as s:
        other = s.scalar(text("SELECT round_id FROM decisions WHERE article_id = :a"),
                         {"a": story["gone"]})
        s.execute(text("UPDATE decisions SET round_id = :r WHERE article_id = :a"),
                  {"r": other, "a": story["ok"]})
    assert "round" in _expect(db, story["ok"], "signature of event")


def test_a_conflict_added_to_a_signature_afterwards_is_named(db, backend, story):
    _drop_guards(db, backend, ("decisions",))
    with db.transaction() as s:
        s.execute(text("UPDATE decisions SET conflict = 'Consults for Acme' WHERE article_id = :a"),
                  {"a": story["ok"]})
    message = _expect(db, story["ok"], "signature of event", table="'Consults for Acme'")
    assert "conflict disclosed" in message


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "workers"])
@pytest.mark.parametrize("tamper", ["none", "event", "table", "head"])
def test_review_flow_verify_without_the_app_answers_as_the_app_does(
    db, db_url, backend, story, tmp_path, monkeypatch, tamper, parallel
):
    """Run as ``review-flow`` on SQLite, ``audit verify`` works on a driver connection
    before any app is built (so its workers start sooner); its output and exit status are
    exactly the app's, for an intact record, an edited event, a table the chain disagrees
    with and a missing chain head, in one process and with workers."""
    from click.testing import CliRunner

    from review_flow import cli
    from review_flow.app import create_app
    from review_flow.audit import verify

    if parallel:
        for name, value in (("PARALLEL_THRESHOLD", 1), ("MIN_CHUNK", 1), ("REPLAY_CHUNK", 1)):
            monkeypatch.setattr(verify, name, value)
        monkeypatch.setattr(verify.os, "cpu_count", lambda: 2)
    if tamper != "none":
        _drop_guards(db, backend)
    with db.transaction() as s:
        if tamper == "event":
            s.execute(text("UPDATE audit_events SET comment = 'x' WHERE seq = 3"))
        elif tamper == "table":
            s.execute(text("UPDATE articles SET state = 'approved' WHERE id = :a"),
                      {"a": story["draft"]})
        elif tamper == "head":
            s.execute(text("DELETE FROM audit_chain_head"))
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    taken: list[bool] = []
    without_app = cli._verify_sqlite_without_app

    def spy(**options):
        done = None  # it exits with status 1 itself on a failed verify
        try:
            done = without_app(**options)
            return done
        finally:
            taken.append(done is not False)

    monkeypatch.setattr(cli, "_verify_sqlite_without_app", spy)
    own = CliRunner().invoke(cli.main, ["audit", "verify"])
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    theirs = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert taken == [backend == "sqlite"], (own.output, own.exception)  # PostgreSQL: usual path
    assert (own.exit_code, own.stdout, own.stderr) == (
        theirs.exit_code, theirs.stdout, theirs.stderr
    )
    expected = {
        "none": "OK: ",
        "event": "FAILED: event 3",
        "table": f"FAILED: article {story['draft']}: state",
        "head": "FAILED: the chain head is missing",
    }[tamper]
    assert own.exit_code == (0 if tamper == "none" else 1)
    assert (own.stdout if tamper == "none" else own.stderr).startswith(expected), own.output
