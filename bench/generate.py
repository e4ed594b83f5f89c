"""Build a large review-flow database for measuring pages: 100,000 articles, ~290,000
revisions, ~1,100,000 audit events by default, whose chain ``review-flow audit verify``
accepts (and whose revisions and signatures it re-checks), in a few minutes.

The people are made through the user service; the articles are bulk inserted, each with
the history the service would have written for it: created, submitted, sent back twice
(a comment and a new revision each time), approved with a signature, and for a share of
them stopped earlier or retracted (final states: 65 % approved, 10 % under review, 8 %
submitted, 7 % changes requested, 5 % draft, 5 % retracted). Every audit event carries
the fields, data and hash the service would give it, in one chain from the migration's
first events; times run evenly over the last two years up to now, never going back along
the chain (the people's own events are dated at the start, as ``audit.log.record``
would never date an event before its predecessor). 40 % of the articles
belong to one writing-pipeline account ("My articles" of a prolific author).

SQLite: rows go in with ``executemany`` in one transaction per chunk (the chain and
search triggers run as usual). PostgreSQL: ``COPY``, with triggers and foreign-key
checks off for the load (``session_replication_role = replica``, which needs a superuser)
and the chain head set at the end; then ``VACUUM ANALYZE`` (``ANALYZE`` on SQLite).

Run: ``.venv/bin/python bench/generate.py --url sqlite:////tmp/big.sqlite3`` or
``--url postgresql+psycopg://postgres@127.0.0.1:5432/rf_big`` (created if missing; an
existing database must be empty of articles), ``--articles N``, ``--verify``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from review_flow import migrate
from review_flow.actor import Actor
from review_flow.articles.content import content_hash
from review_flow.articles.models import Article, Comment, Revision
from review_flow.articles.slugs import slugify
from review_flow.audit.chain import canonical_data, event_hash
from review_flow.audit.models import AuditChainHead, AuditEvent
from review_flow.db import Database, make_engine
from review_flow.policy import service as policy_service
from review_flow.signatures.models import Decision
from review_flow.timeutil import isoformat
from review_flow.users import passwords
from review_flow.users import service as users
from review_flow.workflow.definition import ACTIONS_BY_NAME, WORKFLOW_VERSION

PASSWORD = "bench password 1"
CHUNK = 5000  # articles per transaction

CONDITIONS = (
    "asthma", "diabetes", "hypertension", "migraine", "arthritis", "eczema", "psoriasis",
    "anemia", "gout", "glaucoma", "cataracts", "sciatica", "tinnitus", "vertigo", "insomnia",
    "depression", "anxiety", "bronchitis", "pneumonia", "influenza", "measles", "shingles",
    "lupus", "celiac disease", "crohn disease", "colitis", "heartburn", "heart failure",
    "atrial fibrillation", "stroke", "kidney stones", "osteoporosis", "scoliosis", "acne",
    "rosacea", "allergies", "sinusitis", "tonsillitis", "appendicitis", "hepatitis",
    "cirrhosis", "pancreatitis", "thyroid nodules", "hypothyroidism", "sleep apnea",
    "back pain", "neck pain", "plantar fasciitis", "tendinitis", "carpal tunnel syndrome",
    "dementia", "parkinson disease", "epilepsy", "multiple sclerosis", "obesity",
    "high cholesterol", "varicose veins", "hemorrhoids", "urinary infections", "prostatitis",
)
ASPECTS = (
    "what to expect", "symptoms and signs", "causes and risk factors", "diagnosis",
    "treatment options", "living with", "in children", "in older adults", "during pregnancy",
    "medicines explained", "when to see a doctor", "myths and facts", "prevention",
    "diet and exercise", "questions to ask your doctor", "recovery", "long-term outlook",
    "tests and results", "caring for someone with", "emergency warning signs",
)
BODY = (
    "This article explains {topic} in plain language for patients and carers [1]. It "
    "describes the usual course, the choices of treatment and what the evidence says about "
    "them, and when to ask for medical help [2].\n\nRevision {number}. Talk to your doctor "
    "before changing any treatment. Keep a list of your medicines and bring it to every "
    "appointment. If symptoms suddenly get worse, seek care at once.\n"
)
REFS = [
    {"title": "Clinical guideline (national institute)", "doi": "10.1000/guideline.2024"},
    {"title": "Patient information leaflet", "url": "https://medlineplus.gov/"},
]
# Final state shares (cumulative) and the number of lifecycle steps each one takes.
FINAL_STATES = (
    (0.65, "approved"), (0.75, "under_review"), (0.83, "submitted"),
    (0.90, "changes_requested"), (0.95, "draft"), (1.0, "retracted"),
)
# The full history; a final state is a prefix of it (draft: only the creation).
LIFECYCLE = (
    "create", "submit", "start_review", "request_changes", "edit", "submit", "start_review",
    "request_changes", "edit", "submit", "start_review", "approve", "retract",
)
STEPS = {
    "draft": 1, "changes_requested": 9, "submitted": 10, "under_review": 11, "approved": 12,
    "retracted": 13,
}
TO_STATE = {
    "submit": "submitted", "start_review": "under_review", "request_changes":
    "changes_requested", "approve": "approved", "retract": "retracted",
}
COMMENTS = {
    "request_changes": "Please cite the current guideline for the dosage section.",
    "retract": "Superseded by new guidance; withdrawn pending a rewrite.",
}
APPROVE = ACTIONS_BY_NAME["approve"]
SPAN = timedelta(days=730)


def people(db: Database) -> dict[str, list[Actor]]:
    """Authors (the first one a writing pipeline), reviewers and an editor, made through
    the user service so their accounts and audit events are the real ones."""
    made: dict[str, list[Actor]] = {"author": [], "reviewer": [], "editor": []}
    with db.transaction() as s:
        for i in range(50):
            name = "Drafting pipeline" if i == 0 else f"Author {i:02d}"
            u = users.add_user(s, email=f"author{i}@bench.example", name=name,
                               roles=["author"], password=PASSWORD)
            made["author"].append(Actor(u, frozenset({"author"})))
        for i in range(20):
            u = users.add_user(s, email=f"reviewer{i}@bench.example", name=f"Dr. Reviewer {i:02d}",
                               roles=["reviewer"], password=PASSWORD,
                               credentials="MD, FACP", specialties=["cardiology"])
            made["reviewer"].append(Actor(u, frozenset({"reviewer"})))
        u = users.add_user(s, email="editor@bench.example", name="Managing Editor",
                           roles=["editor"], password=PASSWORD)
        made["editor"].append(Actor(u, frozenset({"editor"})))
    return made


class Chain:
    """The audit chain continued in Python: each event's hash as ``audit.record`` makes it."""

    def __init__(self, seq: int, hash_: str) -> None:
        self.seq, self.hash = seq, hash_

    def event(self, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        row = {
            "seq": self.seq, "at": fields["at"], "actor_id": fields.get("actor_id"),
            "actor_name": fields["actor_name"], "action": fields["action"],
            "object_type": fields.get("object_type", "article"),
            "object_id": fields.get("object_id"), "article_id": fields.get("article_id"),
            "from_state": fields.get("from_state"), "to_state": fields.get("to_state"),
            "revision": fields.get("revision"), "content_hash": fields.get("content_hash"),
            "comment": fields.get("comment"), "workflow_version": WORKFLOW_VERSION,
            "policy_version": fields.get("policy_version"), "request_id": None,
            "client_addr": None, "data": canonical_data(fields.get("data")),
            "prev_hash": self.hash,
        }
        values = (
            row["seq"], isoformat(row["at"]), row["actor_id"], row["actor_name"], row["action"],
            row["object_type"], row["object_id"], row["article_id"], row["from_state"],
            row["to_state"], row["revision"], row["content_hash"], row["comment"],
            row["workflow_version"], row["policy_version"], row["request_id"],
            row["client_addr"], row["data"],
        )
        row["hash"] = self.hash = event_hash(self.hash, values)
        return row


class Builder:
    """Rows for a chunk of articles: each article's revisions, comments, decisions and
    events, in the order the service would have written them."""

    def __init__(self, who: dict[str, list[Actor]], chain: Chain, policy_version: int,
                 total_events: int, start: datetime, rng: random.Random) -> None:
        self.who, self.chain, self.policy_version = who, chain, policy_version
        self.rng = rng
        self.start, self.step = start, SPAN / total_events
        self.events_made = 0
        self.last_at = start
        self.next_revision = 1
        self.next_comment = 1
        self.next_decision = 1

    def _now(self) -> datetime:
        self.events_made += 1
        self.last_at = self.start + self.step * self.events_made
        return self.last_at

    def _final_state(self) -> str:
        x = self.rng.random()
        return next(state for share, state in FINAL_STATES if x < share)

    def article(self, article_id: int, out: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        author = self.who["author"][0 if rng.random() < 0.4 else rng.randrange(1, 50)]
        reviewer = self.who["reviewer"][article_id % 20]
        editor = self.who["editor"][0]
        topic = f"{rng.choice(CONDITIONS)}: {rng.choice(ASPECTS)}"
        title = topic[0].upper() + topic[1:]
        final = self._final_state()
        state, version, number = "draft", 0, 0
        revision: dict[str, Any] = {}
        article: dict[str, Any] = {
            "id": article_id, "slug": f"{slugify(title)}-{article_id}", "author_id": author.id,
            "approved_revision_id": None, "review_due": None, "submitted_at": None,
            "published_at": None,
        }
        for action in LIFECYCLE[:STEPS[final]]:
            at = self._now()
            version += 1
            actor = (author if action in ("create", "submit", "edit") else
                     editor if action == "retract" else reviewer)
            base = {"at": at, "actor_id": actor.id, "actor_name": actor.user.name,
                    "object_id": str(article_id), "article_id": article_id}
            if action in ("create", "edit"):
                number += 1
                body = BODY.format(topic=topic, number=number)
                revision = {
                    "id": self.next_revision, "article_id": article_id, "number": number,
                    "title": title, "body": body,
                    "references": REFS, "author_id": author.id, "generator": None,
                    "created_at": at,
                }
                revision["content_hash"] = content_hash(revision["title"], body, REFS)
                self.next_revision += 1
                out["revisions"].append(revision)
                if action == "create":
                    article["created_at"] = at
                    out["events"].append(self.chain.event(
                        **base, action="article.create", to_state="draft", revision=1,
                        content_hash=revision["content_hash"], data={"version": 1}))
                else:
                    out["events"].append(self.chain.event(
                        **base, action="article.edit", from_state=state, to_state=state,
                        revision=number, content_hash=revision["content_hash"],
                        policy_version=self.policy_version, data={"version": version}))
                continue
            from_state, state = state, TO_STATE[action]
            comment = COMMENTS.get(action)
            data: dict[str, Any] = {"version": version}
            if action == "approve":
                data.update(approvals=1, required_approvals=1, signature={
                    "printed_name": actor.user.name, "credentials": actor.user.credentials,
                    "meaning": APPROVE.signature_meaning})
                out["decisions"].append({
                    "id": self.next_decision, "article_id": article_id,
                    "revision_id": revision["id"], "revision_number": number,
                    "content_hash": revision["content_hash"], "reviewer_id": actor.id,
                    "kind": "approve", "printed_name": actor.user.name,
                    "credentials": actor.user.credentials,
                    "meaning": APPROVE.signature_meaning, "signed_at": at, "comment": None,
                    "attestations": None, "policy_version": self.policy_version,
                })
                self.next_decision += 1
                article["approved_revision_id"] = revision["id"]
                article["review_due"] = at + timedelta(days=365)
                article["published_at"] = at
            if action == "retract":
                article["published_at"] = None
            if action == "submit":
                article["submitted_at"] = at
            if comment:
                out["comments"].append({
                    "id": self.next_comment, "article_id": article_id,
                    "revision_id": revision["id"], "author_id": actor.id, "kind": action,
                    "body": comment, "created_at": at})
                self.next_comment += 1
            out["events"].append(self.chain.event(
                **base, action=f"article.{action}", from_state=from_state, to_state=state,
                revision=number, content_hash=revision["content_hash"], comment=comment,
                policy_version=self.policy_version, data=data))
            article["updated_at"] = at
        article.update(state=state, version=version, current_revision_id=revision["id"],
                       updated_at=article.get("updated_at", article["created_at"]))
        out["articles"].append(article)


TABLES = (  # load order: revisions before articles (the search trigger reads titles)
    ("revisions", Revision), ("articles", Article), ("comments", Comment),
    ("decisions", Decision), ("events", AuditEvent),
)
JSON_COLUMNS = {"references", "generator", "attestations"}


def _load_sqlite(db: Database, out: dict[str, list[dict[str, Any]]]) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for key, model in TABLES:
            rows = out[key]
            if rows:
                conn.execute(model.__table__.insert(), rows)


def _bulk_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # The hash indexes take keys in random order: with SQLite's default 2 MB page cache
    # every insert reads pages back once they outgrow it.
    cur.execute("PRAGMA cache_size = -1000000")
    # A benchmark database: a crash mid-load is rebuilt, not recovered.
    cur.execute("PRAGMA synchronous = OFF")
    cur.close()


def _pg_value(value: Any, column: str) -> Any:
    if column in JSON_COLUMNS and value is not None:
        return json.dumps(value)
    return value


def _load_postgresql(db: Database, out: dict[str, list[dict[str, Any]]]) -> None:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")
        for key, model in TABLES:
            rows = out[key]
            if not rows:
                continue
            table = model.__table__
            columns = [c.name for c in table.columns]
            keys = ["data" if c == "data" else c for c in columns]
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cur.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_pg_value(row.get(k), k) for k in keys])
        cur.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()


def _ensure_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def generate(url: str, articles: int, seed: int = 7) -> dict[str, Any]:
    passwords.use_fast_hashing()
    _ensure_database(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    if db.engine.dialect.name == "sqlite":
        event.listen(db.engine, "connect", _bulk_pragmas)
    with db.reading() as s:
        if s.scalar(select(func.count()).select_from(Article)):
            raise SystemExit(f"{url} already holds articles: give an empty database.")
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    begin = now - SPAN - timedelta(days=1)
    # The people's events are dated at the start of the span, so the generated events
    # after them keep times in chain order (``audit verify`` checks it).
    from review_flow.audit import log as audit_log

    clock = audit_log.utcnow
    audit_log.utcnow = lambda: begin  # type: ignore[assignment]
    try:
        who = people(db)
    finally:
        audit_log.utcnow = clock  # type: ignore[assignment]
    with db.reading() as s:
        head = s.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one()
        policy_version, _ = policy_service.active_policy(s)
        first_ids = {
            "revisions": (s.scalar(select(func.max(Revision.id))) or 0) + 1,
            "comments": (s.scalar(select(func.max(Comment.id))) or 0) + 1,
            "decisions": (s.scalar(select(func.max(Decision.id))) or 0) + 1,
        }
    chain = Chain(head.seq, head.hash)
    builder = Builder(who, chain, policy_version, articles * 12, begin, random.Random(seed))
    builder.next_revision = first_ids["revisions"]
    builder.next_comment = first_ids["comments"]
    builder.next_decision = first_ids["decisions"]
    load = _load_sqlite if db.engine.dialect.name == "sqlite" else _load_postgresql
    counts = dict.fromkeys(("articles", "revisions", "comments", "decisions", "events"), 0)
    for first in range(1, articles + 1, CHUNK):
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in counts}
        for article_id in range(first, min(first + CHUNK, articles + 1)):
            builder.article(article_id, out)
        load(db, out)
        for k in counts:
            counts[k] += len(out[k])
        print(f"  {first + len(out['articles']) - 1:,} articles, {counts['events']:,} events",
              file=sys.stderr, end="\r")
    print(file=sys.stderr)
    with db.engine.begin() as conn:
        # PostgreSQL loaded with triggers off: the head moves here, as the trigger would.
        conn.execute(AuditChainHead.__table__.update().where(AuditChainHead.id == 1)
                     .values(seq=chain.seq, hash=chain.hash, at=builder.last_at))
        if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences on
            for table in ("articles", "revisions", "comments", "decisions"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    if db.engine.dialect.name == "postgresql":
        # VACUUM too: it moves the rows COPY left in the GIN index's pending list into the
        # index proper (a prefix search read the list at 10 ms until then).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    db.dispose()
    return {**counts, "seconds": round(time.perf_counter() - started, 1), "head": chain.seq}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL (SQLite file or PostgreSQL)")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify", action="store_true",
                        help="then run what `review-flow audit verify` runs")
    args = parser.parse_args()
    result = generate(args.url, args.articles, args.seed)
    print(json.dumps(result))
    if args.verify:
        from review_flow.audit.verify import verify_chain, verify_revisions

        db = Database(args.url)
        with db.reading() as s:
            start = time.perf_counter()
            chain = verify_chain(s)
            revs = verify_revisions(s)
        print(json.dumps({"chain": chain.message, "revisions": revs.message,
                          "ok": chain.ok and revs.ok,
                          "seconds": round(time.perf_counter() - start, 1)}))
        db.dispose()
        if not (chain.ok and revs.ok):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
