"""The audit log: append-only in the database, hash-chained, verified, exported."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import sqlite3
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from review_flow.articles.actions import perform_action
from review_flow.audit import chainwalk
from review_flow.audit import log as audit_log
from review_flow.audit import verify as audit_verify
from review_flow.audit.chain import HASHED_FIELDS, canonical_values, event_hash
from review_flow.audit.chainwalk import Range
from review_flow.audit.export import COLUMNS, iter_events, write_csv, write_jsonl
from review_flow.audit.models import AuditChainHead, AuditEvent
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


def _next_event(s, at):
    """A well-formed next event dated ``at``, with its hash, as a writer would add it."""
    seq, prev = s.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
    e = AuditEvent(seq=seq + 1, at=at, actor_id=None, actor_name="clock", action="auth.sign_out",
                   object_type="user", prev_hash=prev)
    e.hash = event_hash(prev, audit_log.hashed_values(e))
    return e


def test_database_refuses_an_event_dated_before_the_one_before_it(db, history):
    """A writer that does not clamp (another program, an old version) is refused by the
    chain trigger from ``ordered_from`` on; before it (an old log) it is let through."""
    with db.reading() as s:
        last = s.scalar(select(AuditEvent.at).order_by(AuditEvent.seq.desc()).limit(1))
    n = event_count(db)
    with pytest.raises(DBAPIError) as err, db.transaction() as s:
        s.add(_next_event(s, last - timedelta(seconds=1)))
    assert "audit chain" in str(err.value) and "dated before" in str(err.value)
    assert event_count(db) == n
    with db.transaction() as s:
        s.add(_next_event(s, last))  # the same time is not before it
        s.flush()
        s.execute(text("UPDATE audit_chain_head SET ordered_from = seq + 2"))
    with db.transaction() as s:
        s.add(_next_event(s, last - timedelta(days=1)))
    assert event_count(db) == n + 2


def _drop_triggers(db, backend):
    with db.transaction() as s:
        if backend == "sqlite":
            names = s.scalars(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name IN ('audit_events', 'audit_chain_head')"
                )
            ).all()
            for name in names:
                s.execute(text(f"DROP TRIGGER {name}"))
        else:
            s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            s.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))


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
        _forge(s, 3, prev)
    result = _verify(db)
    # The forged event itself is well formed; the first renumbered one exposes it.
    assert not result.ok and result.bad_seq == 4


def test_an_appended_forged_event_is_caught(db, backend, history):
    _drop_triggers(db, backend)
    total = event_count(db)
    with db.transaction() as s:
        prev = s.scalar(text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": total})
        _forge(s, total + 1, prev)
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
        result = perform_action(s, people["author"], aid, "submit")
        assert result.article.state == "submitted"  # changed in the session...
    assert snapshot(db, aid) == before  # ...and gone with the rollback


def test_failure_writing_the_event_rolls_back_the_state_change(db, people, monkeypatch):
    aid = create(db, people["author"])
    before = snapshot(db, aid)

    def broken_record(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_log, "record", broken_record)
    with pytest.raises(RuntimeError), db.transaction() as s:
        perform_action(s, people["author"], aid, "submit")
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


def _forge(s, seq: int, prev: str) -> None:
    """A well-formed event with a valid hash, written by someone other than the app."""
    forged = AuditEvent(
        seq=seq,
        at=audit_log.utcnow(),
        actor_id=None,
        actor_name="Intruder",
        action="article.approve",
        object_type="article",
        prev_hash=prev,
    )
    forged.hash = event_hash(prev, audit_log.hashed_values(forged))
    s.add(forged)


def _hash_of(s, seq: int) -> str:
    return s.scalar(text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": seq})


def _append_forged(s) -> None:
    total = s.scalar(text("SELECT max(seq) FROM audit_events"))
    _forge(s, total + 1, _hash_of(s, total))


def _insert_forged(s) -> None:
    total = s.scalar(text("SELECT max(seq) FROM audit_events"))
    for seq in range(total, 6, -1):
        s.execute(text("UPDATE audit_events SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
    _forge(s, 7, _hash_of(s, 6))


def _redate(s, seq: int = 7) -> None:
    """Date event ``seq`` a second before the event preceding it and re-hash the chain
    from there (someone with the database who recomputes every hash after an edit)."""
    before = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == seq - 1))
    prev = _hash_of(s, seq - 1)
    rest = s.scalars(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq))
    for e in rest.all():
        if e.seq == seq:
            e.at = before - timedelta(seconds=1)
        e.prev_hash = prev
        e.hash = prev = event_hash(prev, audit_log.hashed_values(e))
        s.flush()
    s.execute(text("UPDATE audit_chain_head SET hash = :h"), {"h": prev})


# Every kind of break verify names, placed at and next to the ranges' boundaries.
TAMPERS = {
    "edited": "UPDATE audit_events SET comment = 'x' WHERE seq = 7",
    "edited prev_hash": f"UPDATE audit_events SET prev_hash = '{'1' * 64}' WHERE seq = 5",
    "edited hash": f"UPDATE audit_events SET hash = '{'2' * 64}' WHERE seq = 6",
    "deleted": "DELETE FROM audit_events WHERE seq = 6",
    "deleted next": "DELETE FROM audit_events WHERE seq = 7",
    "deleted run": "DELETE FROM audit_events WHERE seq BETWEEN 5 AND 9",
    "deleted first": "DELETE FROM audit_events WHERE seq = 1",
    "truncated": "DELETE FROM audit_events WHERE seq >= 8",
    "truncated last": "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
    "renumbered": "UPDATE audit_events SET seq = seq + 100 WHERE seq = 6",
    "reordered": [
        "UPDATE audit_events SET seq = -1 WHERE seq = 6",
        "UPDATE audit_events SET seq = 6 WHERE seq = 7",
        "UPDATE audit_events SET seq = 7 WHERE seq = -1",
    ],
    "inserted": _insert_forged,
    "appended": _append_forged,
    "a REAL": "UPDATE audit_events SET revision = 1.5 WHERE seq = 4",
    "head behind": "UPDATE audit_chain_head SET seq = seq - 1",
    "head hash": f"UPDATE audit_chain_head SET hash = '{'3' * 64}'",
    "back in time": _redate,
}


def _tamper(db, backend, how) -> None:
    _drop_triggers(db, backend)
    with db.transaction() as s:
        if callable(how):
            how(s)
        else:
            for sql in [how] if isinstance(how, str) else how:
                s.execute(text(sql))


def _as_tuple(r):
    return (r.ok, r.bad_seq, r.message, r.events)


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_parallel_verify_agrees_with_a_single_pass(db, backend, history, tamper, monkeypatch):
    """Worker processes split the chain (1-6 and 7-11 with two; ranges of one or two
    events with three): a break at or next to a boundary is still found, and named and
    counted exactly as a single pass names and counts it."""
    with db.reading() as s:
        assert verify_chain(s, workers=2).ok
    _tamper(db, backend, TAMPERS[tamper])
    with db.reading() as s:
        single = verify_chain(s, workers=1)
        parallel = verify_chain(s, workers=2)
        monkeypatch.setattr(audit_verify, "MIN_CHUNK", 1)
        many = verify_chain(s, workers=3)
    assert not single.ok
    assert _as_tuple(parallel) == _as_tuple(single)
    assert _as_tuple(many) == _as_tuple(single)


@pytest.fixture(params=["fast", "plain"])
def walk_path(request, backend, monkeypatch):
    """Run the in-process walk through each way of reading rows: on SQLite the text
    from json_array or the values, on PostgreSQL a stream or a named cursor."""
    fast = request.param == "fast"
    if backend == "sqlite":
        monkeypatch.setattr(chainwalk, "SQLITE_JSON", fast)
    else:
        monkeypatch.setattr(chainwalk, "PG_STREAM", fast)
    return request.param


def _split_verify(s, cuts: list[int]):
    """Verify the chain as ranges ending at ``cuts`` and combine them as verify does."""
    head_seq, head_hash = s.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
    max_seq = s.scalar(text("SELECT max(seq) FROM audit_events")) or 0
    conn = s.connection()
    raw, dialect = conn.connection.driver_connection, conn.dialect.name
    bounds = [0, *cuts, head_seq]
    outcomes = [
        chainwalk.verify_range(raw, dialect, Range(lo + 1, hi, head_seq), None)
        for lo, hi in itertools.pairwise(bounds)
    ]
    return audit_verify.combine(outcomes, head_seq, head_hash, max_seq)


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_every_split_agrees_with_a_single_pass(db, backend, history, tamper, walk_path):
    """Whatever the boundary between two ranges, the combined answer is the single pass's."""
    _tamper(db, backend, TAMPERS[tamper])
    with db.reading() as s:
        single = verify_chain(s, workers=1)
        head = s.scalar(text("SELECT seq FROM audit_chain_head"))
        assert not single.ok
        for cut in range(1, head):
            assert _as_tuple(_split_verify(s, [cut])) == _as_tuple(single), cut
        assert _as_tuple(_split_verify(s, list(range(1, head)))) == _as_tuple(single)


def test_a_value_no_writer_stores_is_named_not_a_crash(db, backend, history, walk_path):
    """SQLite keeps any type in any column: a BLOB cannot be hashed, so it was edited
    (json_array refuses it: the walk goes on reading values, from the event before)."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL columns are typed")
    _tamper(db, "sqlite", "UPDATE audit_events SET comment = X'00ff' WHERE seq = 4")
    with db.reading() as s:
        for workers in (1, 2):
            result = verify_chain(s, workers=workers)
            assert (result.ok, result.bad_seq, result.events) == (False, 4, 3)
            assert result.message == "event 4: its content does not match its hash (edited)"


def test_a_stopped_verify_leaves_the_transaction_as_it_was(
    db, backend, history, walk_path, monkeypatch
):
    """On PostgreSQL verify stops its stream early (cancelling the query) and changes
    planner settings: all inside a savepoint, so the session goes on unharmed, whether
    verify stopped at a bad event or because the caller raised (Ctrl-C in the CLI)."""
    monkeypatch.setattr(chainwalk, "BATCH", 2)  # rows still in flight when it stops

    class Interrupted(Exception):
        pass

    def interrupt(k: int) -> None:
        raise Interrupted

    def settings(s):
        if backend == "sqlite":
            return None
        q = "SELECT current_setting('enable_sort'), current_setting('jit')"
        return s.execute(text(q)).one()

    with db.reading() as s:
        before = settings(s)
        with pytest.raises(Interrupted):
            verify_chain(s, progress=interrupt)
        assert settings(s) == before
        assert verify_chain(s).ok
    _tamper(db, backend, TAMPERS["edited"])
    with db.reading() as s:
        assert verify_chain(s).bad_seq == 7
        assert verify_chain(s).bad_seq == 7
        assert s.scalar(text("SELECT count(*) FROM audit_events")) == event_count(db)
        assert settings(s) == before


def test_progress_counts_every_event_once(db, history, monkeypatch):
    """What the CLI's progress bar is fed adds up to the events verified, in parallel too."""
    monkeypatch.setattr(audit_verify, "MIN_CHUNK", 1)
    with db.reading() as s:
        for workers in (1, 2, 3):
            seen: list[int] = []
            result = verify_chain(s, progress=seen.append, workers=workers)
            assert result.ok and sum(seen) == result.events == event_count(db), workers


def test_a_failed_worker_fails_the_verify(db, backend, history, monkeypatch):
    """A worker that cannot do its range must never let the chain pass as verified."""
    bad = "/nonexistent/dir/audit.sqlite3" if backend == "sqlite" else "postgresql:///nonexistent"
    monkeypatch.setattr(audit_verify, "_driver_dsn", lambda url: bad)
    with db.reading() as s, pytest.raises(RuntimeError, match="verify worker"):
        verify_chain(s, workers=2)


def test_an_interrupted_parallel_verify_stops_its_workers(db, history, monkeypatch):
    """Ctrl-C in the parent (here: its progress callback raising) ends the workers too."""
    monkeypatch.setattr(audit_verify, "MIN_CHUNK", 1)
    started: list[subprocess.Popen[str]] = []
    popen = subprocess.Popen

    def spy(*args, **kwargs):
        proc = popen(*args, **kwargs)
        started.append(proc)
        return proc

    def interrupt(k: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(audit_verify.subprocess, "Popen", spy)
    with db.reading() as s, pytest.raises(KeyboardInterrupt):
        verify_chain(s, progress=interrupt, workers=3)
    assert len(started) == 2 and all(p.returncode is not None for p in started)


def test_sqlite_json_agrees_with_the_writers_encoder(db):
    """The proof the SQLite fast path rests on holds for this SQLite..."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    raw = sqlite3.connect(db.engine.url.database)
    try:
        assert chainwalk.sqlite_json_agrees(raw)
        # ...and fails for a json_array that escapes one character more than the writer.
        raw.create_function(
            "json_array", -1, lambda *v: json.dumps(v, separators=(",", ":")), deterministic=True
        )
        assert raw.execute("SELECT json_array('x')").fetchone()[0] == '["x"]'
        assert not chainwalk.sqlite_json_agrees(raw)
    finally:
        raw.close()
    chars = list(chainwalk._every_character())
    assert sum(map(len, chars)) == 0x110000 - 0x800  # every scalar value, once
    assert {ord(chars[0][0]), ord(chars[-1][-1])} == {0, 0x10FFFF}


def _rewrite_from(s, seq: int, text_of) -> None:
    """A forger's rewrite of every hash from ``seq`` to the head, hashing ``text_of``."""
    head = s.scalar(text("SELECT max(seq) FROM audit_events"))
    prev = _hash_of(s, seq - 1)
    raw = s.connection().connection.driver_connection
    for n in range(seq, head + 1):
        new = hashlib.sha256((prev + text_of(raw, n)).encode()).hexdigest()
        s.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :n"),
            {"p": prev, "h": new, "n": n},
        )
        prev = new
    s.execute(text("UPDATE audit_chain_head SET hash = :h"), {"h": prev})


def _by_python(raw, seq: int) -> str:
    return canonical_values(chainwalk._values(raw, seq))


def _by_sqlite(raw, seq: int) -> str:
    cols = ", ".join(f'"{f}"' for f in HASHED_FIELDS)
    return raw.execute(f"SELECT json_array({cols}) FROM audit_events WHERE seq = {seq}").fetchone()[
        0
    ]


@pytest.mark.parametrize("rewrite", [_by_python, _by_sqlite])
def test_both_sqlite_paths_give_one_verdict_on_a_forged_real(db, history, rewrite, monkeypatch):
    """SQLite writes a REAL otherwise than Python (1.0e+20, 1e+20), so the fast path lets
    the writer's encoder write a row holding one. A forger who rewrote every hash from
    such a row to the head gets the same verdict from both paths: accepted when hashed as
    the writer hashes (no chain catches a full rewrite), refused when hashed otherwise."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    _drop_triggers(db, "sqlite")
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET revision = 1e20 WHERE seq = 4"))
        _rewrite_from(s, 4, rewrite)
    verdicts = set()
    for fast in (True, False):
        monkeypatch.setattr(chainwalk, "SQLITE_JSON", fast)
        with db.reading() as s:
            verdicts.add(_as_tuple(verify_chain(s)))
    assert len(verdicts) == 1
    (verdict,) = verdicts
    assert verdict[:2] == ((True, None) if rewrite is _by_python else (False, 4))


def test_default_workers_one_per_cpu_up_to_eight_on_every_database(monkeypatch):
    urls = (
        "sqlite:////tmp/x.sqlite3",
        "postgresql+psycopg://u@db.internal/rf",
        "postgresql+psycopg://u@127.0.0.1/rf",
        "postgresql+psycopg:///rf",  # a Unix socket
    )
    for cpus, expected in ((4, 4), (2, 2), (16, 8), (1, 1), (None, 1)):
        monkeypatch.setattr(audit_verify.os, "cpu_count", lambda cpus=cpus: cpus)
        assert {audit_verify.default_workers(make_url(u)) for u in urls} == {expected}
    assert audit_verify.default_sqlite_workers() == 1


def test_chunks_cover_the_chain_in_order_largest_first():
    chunks = audit_verify._Chunks(100_000, 2)
    ranges = list(iter(chunks.claim, None))
    assert ranges[0].first == 1 and ranges[-1].last == 100_000
    assert all(a.last + 1 == b.first for a, b in itertools.pairwise(ranges))
    sizes = [r.last - r.first + 1 for r in ranges]
    assert sizes == sorted(sizes, reverse=True)[: len(sizes) - 1] + sizes[-1:]
    assert sizes[0] == 25_000 and min(sizes[:-1]) == audit_verify.MIN_CHUNK
    assert [(r.first, r.last) for r in iter(audit_verify._Chunks(12, 2).claim, None)] == [
        (1, 6),
        (7, 12),
    ]
    stopped = audit_verify._Chunks(100, 2)
    stopped.claim()
    stopped.stop()
    assert stopped.claim() is None


# --- times never go back along the chain ------------------------------------------------


def _last_at(s):
    return s.scalar(select(AuditEvent.at).order_by(AuditEvent.seq.desc()).limit(1))


def test_an_event_is_never_dated_before_the_one_before_it(db, history):
    """A clock stepped back, another server's slower clock or an action recorded "as of"
    an earlier time: the event takes its predecessor's time instead, in the same
    transaction and in the next (the head keeps the last event's time)."""
    with db.transaction() as s:
        last = _last_at(s)
        early = last - timedelta(hours=1)
        e1 = audit_log.record(s, actor_id=None, actor_name="clock test",
                              action="auth.sign_out", object_type="user", at=early)
        e2 = audit_log.record(s, actor_id=None, actor_name="clock test",
                              action="auth.sign_out", object_type="user", at=early)
    assert e1.at == e2.at == last
    with db.transaction() as s:
        e3 = audit_log.record(s, actor_id=None, actor_name="clock test",
                              action="auth.sign_out", object_type="user", at=early)
        later = audit_log.record(s, actor_id=None, actor_name="clock test",
                                 action="auth.sign_out", object_type="user",
                                 at=last + timedelta(seconds=5))
    assert e3.at == last and later.at == last + timedelta(seconds=5)
    with db.reading() as s:
        assert s.scalar(text("SELECT at FROM audit_chain_head")) is not None
        assert _last_at(s) == later.at
        assert verify_chain(s).ok


@pytest.mark.parametrize("workers", [1, 2])
def test_verify_names_an_event_dated_before_the_one_before_it(db, backend, history, workers):
    _tamper(db, backend, _redate)
    with db.reading() as s:
        result = verify_chain(s, workers=workers)
        before = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == 6))
    assert not result.ok and result.bad_seq == 7 and result.events == 6
    assert result.message == (
        f"event 7: dated {isoformat(before - timedelta(seconds=1))}, before event 6 "
        f"({isoformat(before)}); times never go back along the chain (a forged or re-dated "
        "event)"
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_an_old_log_s_events_out_of_time_order_are_reported_not_failed(
    db, backend, history, workers
):
    """Events before ``ordered_from`` were written before times were kept in order
    (migration 0022 sets it after the last that goes back): verify passes, naming how many
    go back and the first; from ``ordered_from`` on the same fails."""
    _tamper(db, backend, _redate)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_chain_head SET ordered_from = 8"))
    with db.reading() as s:
        result = verify_chain(s, workers=workers)
    assert result.ok, result.message
    assert result.message.endswith(
        "(note: 1 of the events before event 8, written before times were kept in chain "
        "order, are dated before the event preceding them; the first is event 7)"
    )
    with db.transaction() as s:
        s.execute(text("UPDATE audit_chain_head SET ordered_from = 7"))
    with db.reading() as s:
        assert verify_chain(s, workers=workers).bad_seq == 7


def test_the_migration_orders_times_after_the_last_event_that_goes_back(db, backend, history):
    """0022 on an existing log: ``ordered_from`` is the event after the last one dated
    before its predecessor (1 when none is), ``at`` the last event's time."""
    import importlib.util
    from pathlib import Path

    path = (Path(__file__).resolve().parents[2] / "migrations" / "versions"
            / "20261130_1700_0022_ordered_event_times.py")
    spec = importlib.util.spec_from_file_location("migration_0022", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.transaction() as s:
        s.execute(text(migration.FILL))
        assert s.execute(text("SELECT ordered_from FROM audit_chain_head")).scalar() == 1
    _tamper(db, backend, _redate)
    with db.transaction() as s:
        s.execute(text(migration.FILL))
    with db.reading() as s:
        assert s.execute(text("SELECT ordered_from FROM audit_chain_head")).scalar() == 8
        head_at = s.scalar(select(AuditChainHead.at))
        assert head_at == _last_at(s)
        assert verify_chain(s).ok


def test_sqlite_tests_for_a_real_only_where_one_can_be_stored(db, backend, history):
    """A number written into a column of TEXT affinity is stored as text, never as a
    REAL (tried here), so the walk tests only the other hashed fields for one; a REAL in
    any of those still sends its row to the writer's encoder (the "a REAL" tamper)."""
    if backend != "sqlite":
        pytest.skip("SQLite only")
    with db.reading() as s:
        raw = s.connection().connection.driver_connection
        columns = chainwalk.sqlite_real_columns(raw)
    assert columns == ("seq", "at", "actor_id", "article_id", "revision", "policy_version")
    text_fields = [f for f in HASHED_FIELDS if f not in columns]
    _drop_triggers(db, backend)
    with db.transaction() as s:
        for f in text_fields:
            s.execute(text(f'UPDATE audit_events SET "{f}" = 1.5 WHERE seq = 3'))
        kinds = s.execute(text(
            "SELECT " + ", ".join(f'typeof("{f}")' for f in text_fields)
            + " FROM audit_events WHERE seq = 3")).one()
    assert set(kinds) == {"text"}
    assert chainwalk._text_affinity("VARCHAR(64)") and chainwalk._text_affinity("TEXT")
    assert not any(chainwalk._text_affinity(t) for t in ("INTEGER", "DATETIME", "", "BLOB",
                                                         "REAL", "CHARINT"))
