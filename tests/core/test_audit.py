"""The audit log: append-only in the database, hash-chained, verified, exported."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from review_flow.articles import service as articles
from review_flow.audit import log as audit_log
from review_flow.audit.chain import event_hash
from review_flow.audit.export import COLUMNS, iter_events, write_csv, write_jsonl
from review_flow.audit.models import AuditEvent
from review_flow.audit.verify import verify_chain, verify_revisions
from review_flow.timeutil import isoformat
from tests.core.helpers import act, create, event_count, snapshot


@pytest.fixture
def history(db, people):
    """An approved article and a submitted one: a dozen chained events."""
    aid = create(db, people["author"])
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "approve")
    other = create(db, people["author"], title="Flu vaccines")
    act(db, people["author"], other, "submit")
    return aid


def _verify(db):
    with db.reading() as s:
        return verify_chain(s)


def test_chain_verifies(db, history):
    result = _verify(db)
    assert result.ok, result.message
    assert result.events == event_count(db) >= 10
    assert result.message.startswith(f"OK: {result.events} events verified")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET comment = 'changed' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
        "UPDATE decisions SET content_hash = 'sha256:forged'",
        "DELETE FROM decisions",
        "UPDATE revisions SET body = 'forged'",
        "DELETE FROM revisions",
    ],
)
def test_database_refuses_to_rewrite_history(db, history, sql):
    with pytest.raises(DBAPIError) as err, db.transaction() as s:
        s.execute(text(sql))
    assert "append-only" in str(err.value) or "immutable" in str(err.value)
    assert _verify(db).ok


def test_database_refuses_an_event_that_does_not_extend_the_chain(db, history):
    n = event_count(db)
    with pytest.raises(DBAPIError) as err, db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO audit_events "
                "(seq, at, actor_name, action, object_type, prev_hash, hash) "
                "VALUES (:seq, CURRENT_TIMESTAMP, 'x', 'article.edit', 'article', :p, :h)"
            ),
            {"seq": n + 5, "p": "0" * 64, "h": "f" * 64},
        )
    assert "audit chain" in str(err.value)


def _drop_triggers(db, backend):
    with db.transaction() as s:
        if backend == "sqlite":
            names = s.scalars(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_events'"
                )
            ).all()
            for name in names:
                s.execute(text(f"DROP TRIGGER {name}"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def test_tampering_with_triggers_dropped_is_caught_at_the_right_event(db, backend, history):
    _drop_triggers(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET actor_name = 'Someone Else' WHERE seq = 4"))
    result = _verify(db)
    assert not result.ok and result.bad_seq == 4 and "edited" in result.message


def test_a_deleted_event_is_caught(db, backend, history):
    _drop_triggers(db, backend)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    result = _verify(db)
    assert not result.ok and result.bad_seq == 5
    assert result.message.startswith("event 5: missing")


def test_a_deleted_last_event_is_caught_by_the_head(db, backend, history):
    total = event_count(db)
    _drop_triggers(db, backend)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = :n"), {"n": total})
    result = _verify(db)
    assert not result.ok and result.bad_seq == total
    assert "chain head" in result.message


def test_an_inserted_event_is_caught(db, backend, history):
    """A forger renumbers events 3.. and slips in a well-formed event 3 of their own."""
    _drop_triggers(db, backend)
    total = event_count(db)
    with db.transaction() as s:
        for seq in range(total, 2, -1):
            s.execute(text("UPDATE audit_events SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
        prev = s.scalar(text("SELECT hash FROM audit_events WHERE seq = 2"))
        forged = AuditEvent(
            seq=3,
            at=audit_log.utcnow(),
            actor_id=None,
            actor_name="Intruder",
            action="article.approve",
            object_type="article",
            prev_hash=prev,
        )
        forged.hash = event_hash(prev, audit_log.hashed_values(forged))
        s.add(forged)
    result = _verify(db)
    # The forged event itself is well formed; the first renumbered one exposes it.
    assert not result.ok and result.bad_seq == 4


def test_an_appended_forged_event_is_caught(db, backend, history):
    _drop_triggers(db, backend)
    total = event_count(db)
    with db.transaction() as s:
        prev = s.scalar(text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": total})
        forged = AuditEvent(
            seq=total + 1,
            at=audit_log.utcnow(),
            actor_id=None,
            actor_name="Intruder",
            action="article.approve",
            object_type="article",
            prev_hash=prev,
        )
        forged.hash = event_hash(prev, audit_log.hashed_values(forged))
        s.add(forged)
    result = _verify(db)
    assert not result.ok and result.bad_seq == total + 1


def test_reordered_events_are_caught(db, backend, history):
    _drop_triggers(db, backend)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 6"))
        s.execute(text("UPDATE audit_events SET seq = 6 WHERE seq = 7"))
        s.execute(text("UPDATE audit_events SET seq = 7 WHERE seq = -1"))
    result = _verify(db)
    assert not result.ok and result.bad_seq == 6


def test_altered_revision_text_is_caught(db, backend, history):
    with db.transaction() as s:
        if backend == "sqlite":
            s.execute(text("DROP TRIGGER revisions_immutable"))
        else:
            s.execute(text("ALTER TABLE revisions DISABLE TRIGGER USER"))
        s.execute(text("UPDATE revisions SET body = 'Altered text' WHERE id = 1"))
    with db.reading() as s:
        result = verify_revisions(s)
    assert not result.ok and "revision 1 of article" in result.message


def test_failure_before_commit_leaves_neither_change_nor_event(db, people):
    aid = create(db, people["author"])
    before = snapshot(db, aid)

    def boom(session):
        raise RuntimeError("injected failure before commit")

    with pytest.raises(RuntimeError), db.transaction() as s:
        event.listen(s, "before_commit", boom)
        result = articles.perform_action(s, people["author"], aid, "submit")
        assert result.article.state == "submitted"  # changed in the session...
    assert snapshot(db, aid) == before  # ...and gone with the rollback


def test_failure_writing_the_event_rolls_back_the_state_change(db, people, monkeypatch):
    aid = create(db, people["author"])
    before = snapshot(db, aid)

    def broken_record(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_log, "record", broken_record)
    with pytest.raises(RuntimeError), db.transaction() as s:
        articles.perform_action(s, people["author"], aid, "submit")
    assert snapshot(db, aid) == before


def test_events_record_the_request(db, people):
    from dataclasses import replace

    from review_flow.audit.log import RequestContext

    actor = replace(people["author"], context=RequestContext("req-42", "203.0.113.9"))
    aid = create(db, actor)
    with db.reading() as s:
        e = s.scalars(select(AuditEvent).where(AuditEvent.article_id == aid)).one()
        assert (e.request_id, e.client_addr, e.actor_id, e.actor_name) == (
            "req-42",
            "203.0.113.9",
            actor.id,
            "Alex Author",
        )
        assert e.at.tzinfo is not None


def test_unknown_audit_actions_are_refused(db):
    from review_flow.audit.actions import UnknownAuditAction

    with pytest.raises(UnknownAuditAction), db.transaction() as s:
        audit_log.record(
            s, actor_id=None, actor_name="x", action="article.teleport", object_type="article"
        )


def test_export_jsonl_and_csv(db, history):
    with db.reading() as s:
        buf = io.StringIO()
        n = write_jsonl(iter_events(s), buf)
        lines = [json.loads(line) for line in buf.getvalue().splitlines()]
        assert n == len(lines) == event_count(db)
        for key in (
            "seq",
            "at",
            "actor",
            "action",
            "article_id",
            "from_state",
            "to_state",
            "revision",
            "content_hash",
            "comment",
            "prev_hash",
            "hash",
        ):
            assert key in lines[0]
        assert lines[0]["at"].endswith("Z")
        assert [line["seq"] for line in lines] == list(range(1, n + 1))
        assert lines[1]["prev_hash"] == lines[0]["hash"]
        only = list(iter_events(s, article_id=history))
        assert {e["article_id"] for e in only} == {history} and len(only) == 4
        buf = io.StringIO()
        write_csv(iter_events(s, article_id=history), buf)
        rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
        assert list(rows[0].keys()) == list(COLUMNS)
        assert [r["action"] for r in rows] == [
            "article.create",
            "article.submit",
            "article.start_review",
            "article.approve",
        ]
        last_at = s.scalar(select(AuditEvent.at).order_by(AuditEvent.seq.desc()).limit(1))
        since = list(iter_events(s, since=last_at))
        assert since and all(e["at"] >= isoformat(last_at) for e in since)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_events SET comment = 'x' WHERE seq = 7",
        "DELETE FROM audit_events WHERE seq = 6",
        "DELETE FROM audit_events WHERE seq = 7",
        "UPDATE audit_events SET seq = seq + 100 WHERE seq = 6",
    ],
)
def test_parallel_verify_agrees_with_a_single_pass(db, backend, history, tamper):
    """Two worker processes split the chain (1-6 and 7-12 here): a break at or next to
    the boundary is still found, and named exactly as a single pass names it."""
    with db.reading() as s:
        assert verify_chain(s, workers=2).ok
    _drop_triggers(db, backend)
    with db.transaction() as s:
        s.execute(text(tamper))
    with db.reading() as s:
        single = verify_chain(s, workers=1)
        parallel = verify_chain(s, workers=2)
    assert not single.ok
    assert (parallel.ok, parallel.bad_seq) == (single.ok, single.bad_seq)
