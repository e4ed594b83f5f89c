"""Replay the chained events into the state they imply and compare it with the tables.

The hash chain proves the events are the ones written; the public page, though, reads
the tables (an article's state and approved revision, its signatures, its retraction).
Someone with database access can change those without touching a single event. So
``audit verify`` replays every article's events, in order, into what they say must be
there, and compares that with what is there:

- the article: it exists, its state, version, author, current and approved revision;
- every revision: its number and content hash as the chain recorded them, and its text
  still hashing to that hash;
- every signature (decision): kind, revision and content hash, signer, printed name,
  credentials, meaning, time, comment, (chain format 2) its id and attestations, and
  (format 3) its review round and disclosed conflict of interest;
- every comment the events wrote: the action's comment (a retraction's reason among
  them) and plain comments, with author, revision and time.

The first disagreement is named: article, field, what the chain says, what the table
says. Streams: each table is read ordered by article and merged one article at a time
(``ix_audit_events_article_seq`` orders the events), so memory holds one article.

Like ``chainwalk``, free of SQLAlchemy and of the application, so a large replay can be
split by article ranges over worker processes (``python -m review_flow.audit.replay``).
"""

from __future__ import annotations

import json
from itertools import chain, groupby
from operator import itemgetter

from review_flow.articles.content_hash import content_hash_of, encoded_references

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

BATCH = 2000
_PG_TIME = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
# Events that move an article's state (everything with a to_state but comments).
_CREATE, _EDIT, _COMMENT = "article.create", "article.edit", "comment.add"
_SIGNED = ("article.approve", "article.reject")
_REFS = '"references"'  # a reserved word on PostgreSQL


def _time(dialect: str, column: str) -> str:
    return _PG_TIME.format(column) if dialect == "postgresql" else column


def _json(dialect: str, column: str) -> str:
    return f"{column}::text" if dialect == "postgresql" else column


def _version(dialect: str) -> str:
    """``data.version`` read by the database (text on PostgreSQL, a number on SQLite)."""
    if dialect == "postgresql":
        return "CAST(data AS json) ->> 'version'"
    return "json_extract(data, '$.version')"  # not JSON: an error, named by replay_range


def queries(dialect: str) -> dict[str, str]:
    """One query per table, each ordered by article id; ``%(lo)d``..``%(hi)d`` bound the
    article ids and ``%(head)d`` the last event the replay reads."""
    where = "article_id >= %(lo)d AND article_id <= %(hi)d"
    return {
        "events": (
            f"SELECT article_id, seq, action, actor_id, {_time(dialect, 'at')}, from_state, "
            "to_state, revision, content_hash, comment, object_id, "
            # The whole data only where a signature is in it; else only its version.
            f"CASE WHEN action IN ('article.approve', 'article.reject') THEN data END, "
            f"{_version(dialect)} FROM audit_events "
            f"WHERE {where} AND seq <= %(head)d ORDER BY article_id, seq"
        ),
        "articles": (
            "SELECT id, state, version, author_id, current_revision_id, approved_revision_id "
            "FROM articles WHERE id >= %(lo)d AND id <= %(hi)d ORDER BY id"
        ),
        "revisions": (
            f"SELECT article_id, id, number, title, body, {_json(dialect, _REFS)}, "
            f"content_hash FROM revisions WHERE {where} ORDER BY article_id, number"
        ),
        "decisions": (
            "SELECT article_id, id, revision_id, revision_number, content_hash, reviewer_id, "
            f"kind, printed_name, credentials, meaning, {_time(dialect, 'signed_at')}, "
            f"comment, {_json(dialect, 'attestations')}, round_id, conflict FROM decisions "
            f"WHERE {where} "
            "ORDER BY article_id, id"
        ),
        "comments": (
            f"SELECT article_id, id, revision_id, author_id, kind, body, "
            f"{_time(dialect, 'created_at')} FROM comments WHERE {where} "
            "ORDER BY article_id, id"
        ),
    }


class Disagreement:
    """The first place where the tables differ from what the chain says."""

    __slots__ = ("article_id", "chain", "field", "table")

    def __init__(self, article_id: int, field: str, chain: Any, table: Any) -> None:
        self.article_id = article_id
        self.field = field
        self.chain = chain
        self.table = table

    @property
    def message(self) -> str:
        return (
            f"article {self.article_id}: {self.field} — the chain says {self.chain}, "
            f"the table says {self.table}"
        )

    def as_list(self) -> list[Any]:
        return [self.article_id, self.field, self.chain, self.table]

    def __repr__(self) -> str:
        return f"Disagreement({self.message!r})"


class ReplayOutcome:
    """What replaying articles ``lo..hi`` found: counts, and the first disagreement."""

    __slots__ = ("articles", "events", "failure", "lo", "revisions")

    def __init__(self, lo: int) -> None:
        self.lo = lo
        self.articles = self.events = self.revisions = 0
        self.failure: Disagreement | None = None


class _Plain(str):
    """Text shown as it is (``user 3``), where other text is quoted."""


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return repr(value) if isinstance(value, str) and not isinstance(value, _Plain) else str(value)


def _user(user_id: Any) -> _Plain:
    return _Plain(f"user {user_id}")


def _revision(number: int | None, hash_: str | None) -> str:
    return "none" if number is None else f"{number} ({hash_})"


def replay_range(raw: Any, dialect: str, lo: int, hi: int, head: int) -> ReplayOutcome:
    """Replay articles ``lo..hi`` (events up to ``head``) on a driver connection."""
    outcome = ReplayOutcome(lo)
    bounds = {"lo": lo, "hi": hi, "head": head}
    streams: dict[str, Any] = {}
    cursors = []
    try:
        for name, sql in queries(dialect).items():
            if dialect == "postgresql":
                cursor = raw.cursor(name=f"review_flow_replay_{name}_{lo}")
                cursor.itersize = BATCH
            else:
                cursor = raw.cursor()
            cursors.append(cursor)
            cursor.execute(sql % bounds)
            streams[name] = _groups(cursor)
        _merge(streams, outcome)
    except raw.Error as exc:  # e.g. event data that is not JSON: no writer stores that
        outcome.failure = Disagreement(
            lo, "records", "readable rows", f"rows the database cannot read ({exc})"
        )
    finally:
        for cursor in cursors:
            cursor.close()
    return outcome


def _groups(cursor: Any) -> Iterator[tuple[int, list[Any]]]:
    rows = chain.from_iterable(iter(lambda: cursor.fetchmany(BATCH), []))
    for key, group in groupby(rows, key=itemgetter(0)):
        yield key, list(group)


_NONE: tuple[Any, list[Any]] = (None, [])


def _merge(streams: dict[str, Iterator[tuple[int, list[Any]]]], outcome: ReplayOutcome) -> None:
    names = ("events", "articles", "revisions", "decisions", "comments")
    its = [streams[n] for n in names]
    heads = [next(it, _NONE) for it in its]
    while True:
        keys = [h[0] for h in heads if h[0] is not None]
        if not keys:
            return
        aid = min(keys)
        parts = []
        for i, h in enumerate(heads):
            if h[0] == aid:
                parts.append(h[1])
                heads[i] = next(its[i], _NONE)
            else:
                parts.append([])
        outcome.articles += 1
        outcome.events += len(parts[0])
        outcome.revisions += len(parts[2])
        failure = check_article(aid, *parts)
        if failure is not None:
            outcome.failure = failure
            return


class Replayed:
    """What an article's events, in chain order, say its record is (``replay_events``)."""

    __slots__ = ("approved", "author", "chain_revisions", "created", "current", "said",
                 "signed", "state", "version")

    def __init__(self) -> None:
        self.state: Any = None
        self.author: Any = None
        self.version: Any = None
        self.created = False
        self.current: tuple[Any, Any] = (None, None)  # (number, content_hash)
        self.approved: tuple[Any, Any] | None = None
        self.chain_revisions: dict[int, str] = {}
        self.signed: list[Any] = []  # the approve/reject events
        self.said: list[tuple[Any, ...]] = []  # comments the events wrote


def replay_events(aid: int, events: list[Any]) -> Replayed | Disagreement:
    """Replay one article's events (the ``events`` query's columns, in chain order; any
    columns after them are ignored) into what they imply, or the first event that does
    not follow from the ones before. ``audit.as_of`` replays a prefix of them: the
    article as it stood at an instant."""
    r = Replayed()
    for e in events:
        _, seq, action, actor, at, from_state, to_state, rev, chash, comment, oid, _, v = e[:13]
        if action == _COMMENT:
            r.said.append(
                (int(oid) if oid and oid.isdigit() else oid, "comment", comment, actor, rev, at)
            )
            continue
        if not action.startswith("article.") or to_state is None:
            continue  # not a change of the article (e.g. a refused attempt, if recorded)
        if action == _CREATE:
            if r.created:
                return Disagreement(aid, "creation", f"event {seq} creates it again", "one article")
            r.created, r.author = True, actor
        elif not r.created:
            return Disagreement(
                aid, "history", f"event {seq} ({action}) before its creation", "an article"
            )
        elif from_state != r.state:
            return Disagreement(
                aid,
                f"state before event {seq} ({action})",
                _show(from_state),
                f"the one before it: {_show(r.state)}",
            )
        if action in (_CREATE, _EDIT):
            r.chain_revisions[rev] = chash
            r.current = (rev, chash)
        elif comment:
            r.said.append((None, action[8:], comment, actor, rev, at))
        if to_state == "approved" and from_state != "approved":
            r.approved = (rev, chash)
        if action in _SIGNED:
            r.signed.append(e)
        r.state = to_state
        r.version = v
    return r


def check_article(
    aid: int,
    events: list[Any],
    articles: list[Any],
    revisions: list[Any],
    decisions: list[Any],
    comments: list[Any],
) -> Disagreement | None:
    """Replay one article's events and compare; the first disagreement, or None."""
    replayed = replay_events(aid, events)
    if isinstance(replayed, Disagreement):
        return replayed
    state, author, version = replayed.state, replayed.author, replayed.version
    created, current, approved = replayed.created, replayed.current, replayed.approved
    chain_revisions, signed, said = replayed.chain_revisions, replayed.signed, replayed.said
    row = articles[0] if articles else None
    if not created:
        if row is None:  # events that name an article never created (a comment on none)
            return (
                None
                if not (revisions or decisions or comments)
                else Disagreement(aid, "existence", "no such article", "rows that belong to it")
            )
        return Disagreement(
            aid,
            "existence",
            "no such article (no article.create event)",
            f"an article in state {_show(row[1])}",
        )
    if row is None:
        return Disagreement(
            aid, "existence", f"an article in state {_show(state)}", "no such article"
        )
    _, t_state, t_version, t_author, t_current_id, t_approved_id = row
    if t_state != state:
        return Disagreement(aid, "state", _show(state), _show(t_state))
    by_id = {r[1]: (r[2], r[6]) for r in revisions}
    t_approved = by_id.get(t_approved_id, (None, None)) if t_approved_id else (None, None)
    if (approved or (None, None)) != t_approved:
        return Disagreement(
            aid, "approved revision", _revision(*(approved or (None, None))), _revision(*t_approved)
        )
    failure = _check_revisions(aid, chain_revisions, revisions)
    if failure is None:
        failure = _check_signatures(aid, signed, decisions, by_id)
    if failure is None:
        failure = _check_comments(aid, said, comments, by_id)
    if failure is not None:
        return failure
    t_current = by_id.get(t_current_id, (None, None))
    if current != t_current:
        return Disagreement(aid, "current revision", _revision(*current), _revision(*t_current))
    if version is not None and str(version) != str(t_version):
        return Disagreement(aid, "version", version, t_version)
    if author != t_author:
        return Disagreement(aid, "author", f"user {author}", f"user {t_author}")
    return None


_LAST_REFS: list[Any] = [None, None, ""]  # the last references text read, its value, encoded


def _references(text: str | None) -> list[Any]:
    """Parsed references and their canonical text; revisions of one article mostly share
    them (parsed and encoded once)."""
    if text is None:
        return [None, None, encoded_references(None)]
    if text != _LAST_REFS[0]:
        value = json.loads(text)
        _LAST_REFS[:] = [text, value, encoded_references(value)]
    return _LAST_REFS


def _check_revisions(aid: int, expected: dict[int, str], rows: list[Any]) -> Disagreement | None:
    seen = set()
    for _, _, number, title, body, refs, chash in rows:
        want = expected.get(number)
        if want is None:
            return Disagreement(
                aid, f"revision {number}", "no such revision", f"a revision ({chash})"
            )
        if want != chash:
            return Disagreement(aid, f"revision {number} content hash", want, chash)
        try:
            _, value, encoded = _references(refs)
            actual = content_hash_of(title, body, encoded, value)
        except (TypeError, ValueError):  # a value no writer stores: no canonical form
            actual = "no hash (unreadable text)"
        if actual != chash:
            return Disagreement(
                aid,
                f"revision {number} text",
                f"text hashing to {want}",
                f"text hashing to {actual}",
            )
        seen.add(number)
    for number, want in expected.items():
        if number not in seen:
            return Disagreement(
                aid, f"revision {number}", f"a revision ({want})", "no such revision"
            )
    return None


_SIGNATURE_FIELDS = ("printed_name", "credentials", "meaning")


def _check_signatures(
    aid: int, events: list[Any], rows: list[Any], by_id: dict[int, tuple[int, str]]
) -> Disagreement | None:
    """Each approve/reject event wrote one decision, in order (ids grow under the
    article's row lock)."""
    for i in range(max(len(events), len(rows))):
        e = events[i] if i < len(events) else None
        d = rows[i] if i < len(rows) else None
        if e is None:
            assert d is not None  # one of the two lists is this long
            return Disagreement(
                aid,
                f"signature {d[1]}",
                "no such signature",
                f"a {d[6]} by {_show(d[7])} on revision {d[3]}",
            )
        seq, action, actor, at, rev, chash, comment, data = (
            e[1],
            e[2],
            e[3],
            e[4],
            e[7],
            e[8],
            e[9],
            e[11],
        )
        if d is None:
            return Disagreement(
                aid,
                f"signature of event {seq}",
                f"a {action[8:]} of revision {rev}",
                "no such signature",
            )
        sig = (json.loads(data) if data else {}).get("signature") or {}
        attested = d[12]
        if (
            (action[8:], rev, chash, rev, actor, at, comment)
            == (d[6], d[3], d[4], by_id.get(d[2], (None,))[0], d[5], d[10], d[11])
            and (sig.get("printed_name"), sig.get("credentials"), sig.get("meaning"))
            == (d[7], d[8], d[9])
            and sig.get("decision_id", d[1]) == d[1]
            and (
                "attestations" not in sig
                or sig["attestations"] == (None if attested is None else json.loads(attested))
            )
            and sig.get("round_id", d[13]) == d[13]
            and sig.get("conflict") == d[14]
        ):
            continue  # the usual case: all agree (the fields one by one only to name one)
        name = f"signature of event {seq}"
        checks: list[tuple[str, Any, Any]] = [
            ("kind", action[8:], d[6]),
            ("revision", rev, d[3]),
            ("content hash", chash, d[4]),
            ("revision row", rev, by_id.get(d[2], (None,))[0]),
            ("signer", _user(actor), _user(d[5])),
            *((f, sig.get(f), d[7 + k]) for k, f in enumerate(_SIGNATURE_FIELDS) if f in sig),
            ("time", at, d[10]),
            ("comment", comment, d[11]),
        ]
        if "decision_id" in sig:
            checks.append(("id", sig["decision_id"], d[1]))
        if "attestations" in sig:
            checks.append(
                (
                    "attestations",
                    sig["attestations"],
                    json.loads(d[12]) if d[12] is not None else None,
                )
            )
        if "round_id" in sig:  # chain format 3
            checks.append(("round", sig["round_id"], d[13]))
        checks.append(("conflict disclosed", sig.get("conflict"), d[14]))
        for field, want, got in checks:
            if want != got:
                return Disagreement(
                    aid, f"{name} {field.replace('_', ' ')}", _show(want), _show(got)
                )
    return None


def _check_comments(
    aid: int, said: list[tuple[Any, ...]], rows: list[Any], by_id: dict[int, tuple[int, str]]
) -> Disagreement | None:
    for i in range(max(len(said), len(rows))):
        want = said[i] if i < len(said) else None
        c = rows[i] if i < len(rows) else None
        if want is None:
            assert c is not None  # one of the two lists is this long
            return Disagreement(
                aid,
                f"comment {c[1]}",
                "no such comment",
                f"a {'' if c[4] == 'comment' else c[4] + ' '}comment {_show(c[5])}",
            )
        if c is None:
            return Disagreement(aid, f"{want[1]} comment", _show(want[2]), "no such comment")
        cid, kind, body, author, rev, at = want
        number = by_id.get(c[2], (None,))[0] if c[2] is not None else None
        if (kind, body, author, rev, at) == (c[4], c[5], c[3], number, c[6]) and cid in (
            None,
            c[1],
        ):
            continue
        for field, w, g in (
            ("id", cid, c[1]) if cid is not None else ("id", c[1], c[1]),
            ("kind", kind, c[4]),
            ("text", body, c[5]),
            ("author", _user(author), _user(c[3])),
            ("revision", rev, number),
            ("time", at, c[6]),
        ):
            if w != g:
                return Disagreement(aid, f"{kind} comment {c[1]} {field}", _show(w), _show(g))
    return None


def article_bounds(raw: Any) -> tuple[int, int]:
    """The lowest and highest article id named by an article row or an event.

    Four scalar sub-selects, each one index probe; a ``UNION ALL`` of the two aggregates
    made SQLite scan both indexes (80 ms at a million events, before any worker starts).
    """
    cursor = raw.cursor()
    try:
        cursor.execute(
            "SELECT (SELECT min(id) FROM articles), (SELECT max(id) FROM articles), "
            "(SELECT min(article_id) FROM audit_events), "
            "(SELECT max(article_id) FROM audit_events)"
        )
        lo_a, hi_a, lo_e, hi_e = cursor.fetchone()
    finally:
        cursor.close()
    lows = [x for x in (lo_a, lo_e) if x is not None]
    highs = [x for x in (hi_a, hi_e) if x is not None]
    return (min(lows) if lows else 0), (max(highs) if highs else 0)


DSN_ENV = "REVIEW_FLOW_VERIFY_DSN"


def _main(argv: list[str]) -> int:
    """Worker: ``python -m review_flow.audit.replay DIALECT HEAD``, the database named by
    ``$REVIEW_FLOW_VERIFY_DSN``; for each ``LO HI`` line on stdin, one ``result {json}``
    line. Each range runs in one read-only snapshot."""
    import os
    import sys

    from review_flow.audit.chainwalk import connect

    dialect, head = argv[0], int(argv[1])
    conn = connect(dialect, os.environ[DSN_ENV])
    out = sys.stdout
    try:
        if dialect == "postgresql":
            conn.execute("SET default_transaction_isolation = 'repeatable read'")
            conn.execute("SET default_transaction_read_only = on")
            conn.commit()
        out.write("ready\n")
        out.flush()
        for line in sys.stdin:
            lo, hi = map(int, line.split())
            if dialect != "postgresql":
                conn.execute("BEGIN")
            try:
                o = replay_range(conn, dialect, lo, hi, head)
            finally:
                conn.rollback()
            result = {
                "lo": o.lo,
                "articles": o.articles,
                "events": o.events,
                "revisions": o.revisions,
                "failure": None if o.failure is None else o.failure.as_list(),
            }
            out.write("result " + json.dumps(result) + "\n")
            out.flush()
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
