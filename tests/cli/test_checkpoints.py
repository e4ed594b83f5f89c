"""Signed checkpoints through the command line, on SQLite and PostgreSQL: taking one,
proving the log still holds it, and catching the attacks a hash chain alone misses."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from review_flow.audit.chain import event_hash
from review_flow.audit.log import hashed_values
from review_flow.audit.models import AuditCheckpoint, AuditEvent
from review_flow.audit.verify import verify_chain
from review_flow.cli import main
from tests.core.helpers import act, create, event_count


@pytest.fixture
def cli(db_url, db, tmp_path, monkeypatch):
    """``review-flow`` in process against this test's database, no key configured."""
    monkeypatch.setenv("REVIEW_FLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("REVIEW_FLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("CHECKPOINT_KEY_FILE", "LOG_ORIGIN", "BASE_URL"):
        monkeypatch.delenv(f"REVIEW_FLOW_{name}", raising=False)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def write_key(path: Path, key: Any = None, **kw: Any) -> Path:
    key = key or Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, kw.get("encryption", NoEncryption()))
    )
    return path


@pytest.fixture
def key(tmp_path) -> Path:
    return write_key(tmp_path / "checkpoint.pem")


def public_pem(key_file: Path, out: Path) -> Path:
    key = load_pem_private_key(key_file.read_bytes(), None)
    out.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return out


@pytest.fixture
def busy_log(db, people):
    """Eight submitted articles: 5 users + 16 events, more than 20 in all."""
    ids = []
    for i in range(8):
        aid = create(db, people["author"], title=f"Article {i}")
        act(db, people["author"], aid, "submit")
        ids.append(aid)
    return ids


def checkpoint(cli, key: Path, out: Path) -> str:
    r = cli("audit", "checkpoint", "--key", str(key))
    assert r.exit_code == 0, r.stderr
    out.write_text(r.stdout, encoding="utf-8")
    return r.stdout


def checkpoint_rows(db) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0


def _disable_guards(db, backend, *tables: str) -> None:
    """What an attacker with database access does first."""
    with db.transaction() as s:
        for table in tables:
            if backend == "sqlite":
                names = s.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                    {"t": table},
                ).all()
                for name in names:
                    s.execute(text(f"DROP TRIGGER {name}"))
            else:
                s.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _hand_parse(note: str) -> tuple[str, str, bytes, bytes]:
    """The signed-note format read by hand from its specification, not with our parser."""
    body, _, sigs = note.rpartition("\n\n")
    (line,) = sigs.rstrip("\n").split("\n")
    assert line.startswith("\u2014 ")  # an em dash, not a hyphen
    name, encoded = line[2:].split(" ")
    raw = base64.b64decode(encoded)
    return body + "\n", name, raw[:4], raw[4:]


# --- taking a checkpoint ----------------------------------------------------------------


def test_a_checkpoint_is_a_standard_signed_note_of_the_head(cli, db, key, tmp_path, busy_log):
    before = event_count(db)
    note = checkpoint(cli, key, tmp_path / "cp.txt")
    body, name, key_id, signature = _hand_parse(note)
    origin, size, root, time_line = body.rstrip("\n").split("\n")
    assert origin == name == "localhost/review-flow"
    assert int(size) == before  # the head before the checkpoint's own event
    with db.reading() as s:
        signed = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == before))
        own = s.execute(select(AuditEvent).where(AuditEvent.seq == before + 1)).scalar_one()
        row = s.execute(select(AuditCheckpoint)).scalar_one()
        s.expunge_all()  # keep the loaded values after the session ends
    assert base64.b64decode(root) == bytes.fromhex(signed)
    assert time_line.startswith("time 20") and time_line.endswith("Z")
    # The key id and signature follow the specification, checked independently here.
    public = load_pem_private_key(key.read_bytes(), None).public_key()
    raw_public = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key_id == hashlib.sha256(name.encode() + b"\n\x01" + raw_public).digest()[:4]
    Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, body.encode())
    # Stored, and recorded in the chain as the event right after the signed head.
    assert row.note == note and row.size == before and row.head_hash == signed
    assert row.key_id == key_id.hex()
    assert own.action == "audit.checkpoint" and own.actor_name == "system"
    assert own.data == {"size": before, "head": signed, "key_id": key_id.hex(), "note": note}
    assert event_count(db) == before + 1
    assert cli("audit", "verify").exit_code == 0


def test_a_key_made_by_openssl_signs(cli, tmp_path, db):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    key = tmp_path / "openssl.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    checkpoint(cli, key, tmp_path / "cp.txt")
    r = cli("audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"), "--key", str(key))
    assert r.exit_code == 0, r.stderr


def test_the_key_file_comes_from_the_environment(cli, key, tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEW_FLOW_CHECKPOINT_KEY_FILE", str(key))
    r = cli("audit", "checkpoint")
    assert r.exit_code == 0, r.stderr
    (tmp_path / "cp.txt").write_text(r.stdout, encoding="utf-8")
    r = cli("audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"))
    assert r.exit_code == 0, r.stderr
    assert f"the public half of the checkpoint key {key}" in r.stdout


def _garbage(tmp_path: Path) -> Path:
    p = tmp_path / "garbage.pem"
    p.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    return p


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda t: None, "no checkpoint key: pass --key FILE or set REVIEW_FLOW_CHECKPOINT_KEY"),
        (lambda t: t / "missing.pem", "missing.pem does not exist"),
        (lambda t: t, "is a directory"),
        (_garbage, "is not a PEM private key"),
        (lambda t: write_key(t / "ed448.pem", Ed448PrivateKey.generate()), "not Ed25519"),
        (
            lambda t: write_key(
                t / "locked.pem", encryption=BestAvailableEncryption(b"secret-pass")
            ),
            "is encrypted",
        ),
    ],
    ids=["none", "missing", "directory", "garbage", "ed448", "encrypted"],
)
def test_a_bad_key_is_a_clear_error_and_writes_nothing(cli, db, tmp_path, busy_log, make, needle):
    path = make(tmp_path)
    events = event_count(db)
    r = cli("audit", "checkpoint", *(["--key", str(path)] if path else []))
    assert r.exit_code == 1 and r.stdout == ""
    assert needle in r.stderr, r.stderr
    assert event_count(db) == events and checkpoint_rows(db) == 0


def test_an_unreadable_key_is_a_clear_error(cli, db, busy_log):
    """A file the system will not read back (root reads any mode, so not a chmod)."""
    r = cli("audit", "checkpoint", "--key", "/proc/self/mem")
    assert r.exit_code == 1
    assert "checkpoint key /proc/self/mem cannot be read: Input/output error" in r.stderr
    assert checkpoint_rows(db) == 0


def test_the_log_origin_is_configurable_then_fixed(cli, db, key, tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEW_FLOW_BASE_URL", "https://reviews.example.org/x")
    assert checkpoint(cli, key, tmp_path / "a.txt").startswith("reviews.example.org/review-flow\n")
    # The site moves: the log keeps its name.
    monkeypatch.setenv("REVIEW_FLOW_BASE_URL", "https://elsewhere.example.net")
    assert checkpoint(cli, key, tmp_path / "b.txt").startswith("reviews.example.org/review-flow\n")
    monkeypatch.setenv("REVIEW_FLOW_LOG_ORIGIN", "other.example/log")
    events, rows = event_count(db), checkpoint_rows(db)
    r = cli("audit", "checkpoint", "--key", str(key))
    assert r.exit_code == 1
    assert "REVIEW_FLOW_LOG_ORIGIN is 'other.example/log'" in r.stderr
    assert "'reviews.example.org/review-flow'" in r.stderr
    assert (event_count(db), checkpoint_rows(db)) == (events, rows)


def test_an_origin_that_cannot_name_a_key_is_refused(cli, db, key, monkeypatch):
    monkeypatch.setenv("REVIEW_FLOW_LOG_ORIGIN", "my log+1")
    r = cli("audit", "checkpoint", "--key", str(key))
    assert r.exit_code == 1 and "REVIEW_FLOW_LOG_ORIGIN" in r.stderr
    assert checkpoint_rows(db) == 0


def test_a_checkpoint_of_an_empty_log_verifies(cli, key, tmp_path):
    note = checkpoint(cli, key, tmp_path / "cp.txt")
    assert note.split("\n")[1] == "0"
    r = cli("audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"), "--key", str(key))
    assert r.exit_code == 0, r.stderr


def test_the_database_refuses_to_change_a_checkpoint(cli, db, key, tmp_path):
    checkpoint(cli, key, tmp_path / "cp.txt")
    for sql in ("UPDATE audit_checkpoints SET size = 1", "DELETE FROM audit_checkpoints"):
        with pytest.raises(DBAPIError) as err, db.transaction() as s:
            s.execute(text(sql))
        assert "append-only" in str(err.value)
    assert checkpoint_rows(db) == 1


# --- proving the log still holds a checkpoint ---------------------------------------------


def test_a_log_that_grew_still_holds_its_checkpoints(cli, db, people, key, tmp_path, busy_log):
    first = tmp_path / "first.txt"
    checkpoint(cli, key, first)
    act(db, people["reviewer"], busy_log[0], "start_review")
    act(db, people["reviewer"], busy_log[0], "approve")
    second = tmp_path / "second.txt"
    checkpoint(cli, key, second)
    act(db, people["author"], busy_log[1], "withdraw")
    pub = public_pem(key, tmp_path / "pub.pem")
    r = cli("audit", "verify", "--checkpoint", str(first), "--checkpoint", str(second),
            "--public-key", str(pub))
    assert r.exit_code == 0, r.stderr
    assert f"2 checkpoint signature(s) verified with the public key in {pub}" in r.stdout
    assert r.stdout.count("the log still holds exactly these") == 2
    assert r.stdout.index("OK: ") < r.stdout.index(f"checkpoint {first}")


def test_a_truncated_tail_passes_plain_verify_but_not_the_checkpoint(
    cli, db, backend, people, key, tmp_path, busy_log
):
    """Delete the last 20+ events and move the chain head back: the chain alone is
    consistent again; a checkpoint taken before says how much is gone. The attacker
    also deletes the stored checkpoints: the kept copy is what counts."""
    kept = tmp_path / "kept.txt"
    note = checkpoint(cli, key, kept)
    size = int(note.split("\n")[1])
    act(db, people["author"], busy_log[2], "withdraw")
    total = event_count(db)
    keep = size - 20  # 20 events the checkpoint covers, and those after it
    _disable_guards(db, backend, "audit_events", "audit_checkpoints", "audit_chain_head")
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": keep})
        s.execute(text("DELETE FROM audit_checkpoints"))
        last = s.scalar(text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": keep})
        s.execute(text("UPDATE audit_chain_head SET seq = :n, hash = :h"), {"n": keep, "h": last})
    assert total - keep >= 20
    # The chain alone is whole again (the replay may still find rows the cut events wrote:
    # the checkpoint does not depend on that).
    with db.reading() as s:
        chain = verify_chain(s)
    assert chain.ok and chain.events == keep, chain.message
    r = cli("audit", "verify", "--checkpoint", str(kept), "--key", str(key))
    assert r.exit_code == 1
    assert f"FAILED: checkpoint {kept} (size {size}, 20" in r.stderr
    assert f"the log has only {keep} events, the checkpoint covers {size}" in r.stderr


def test_a_recomputed_chain_after_an_edit_fails_the_checkpoint(
    cli, db, backend, key, tmp_path, busy_log
):
    """Edit an early event and recompute every hash after it with the published formula:
    plain verify cannot tell; the checkpoint's signed hash can."""
    kept = tmp_path / "kept.txt"
    note = checkpoint(cli, key, kept)
    size = int(note.split("\n")[1])
    with db.reading() as s:
        signed = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == size))
    _disable_guards(db, backend, "audit_events")
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET actor_name = 'Someone Else' WHERE seq = 7"))
        prev = s.scalar(text("SELECT prev_hash FROM audit_events WHERE seq = 7"))
        for event in s.scalars(select(AuditEvent).where(AuditEvent.seq >= 7).order_by(
                AuditEvent.seq)):
            event.prev_hash = prev
            event.hash = prev = event_hash(prev, hashed_values(event))
        s.flush()
        s.execute(text("UPDATE audit_chain_head SET hash = :h"), {"h": prev})
    plain = cli("audit", "verify")
    assert plain.exit_code == 0, plain.stderr
    with db.reading() as s:
        now = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == size))
    assert now != signed
    r = cli("audit", "verify", "--checkpoint", str(kept), "--key", str(key))
    assert r.exit_code == 1
    assert (
        f"FAILED: checkpoint {kept} (size {size}, " in r.stderr
        and f"the log's event {size} has hash {now}, the checkpoint says {signed}" in r.stderr
    )
    # Nor will the key sign the rewritten log: the stored checkpoint no longer matches.
    events = event_count(db)
    r = cli("audit", "checkpoint", "--key", str(key))
    assert r.exit_code == 1 and "not signing: the log no longer holds" in r.stderr
    assert event_count(db) == events and checkpoint_rows(db) == 1


def test_only_the_failing_checkpoint_is_named(cli, db, backend, people, key, tmp_path, busy_log):
    early, late = tmp_path / "early.txt", tmp_path / "late.txt"
    size_early = int(checkpoint(cli, key, early).split("\n")[1])
    act(db, people["author"], busy_log[3], "withdraw")
    act(db, people["author"], busy_log[4], "withdraw")
    size_late = int(checkpoint(cli, key, late).split("\n")[1])
    _disable_guards(db, backend, "audit_events", "audit_chain_head")
    with db.transaction() as s:  # drop the last three events: the late checkpoint's tail
        s.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": size_late - 2})
        last = s.scalar(text("SELECT hash FROM audit_events WHERE seq = :n"),
                        {"n": size_late - 2})
        s.execute(text("UPDATE audit_chain_head SET seq = :n, hash = :h"),
                  {"n": size_late - 2, "h": last})
    r = cli("audit", "verify", "--checkpoint", str(early), "--checkpoint", str(late),
            "--key", str(key))
    assert r.exit_code == 1
    assert f"checkpoint {early} (size {size_early}, " in r.stdout
    assert f"FAILED: checkpoint {late} (size {size_late}, " in r.stderr
    assert str(early) not in r.stderr


# --- refusing a note that is not what the key signed --------------------------------------


def _refuses(r: Any, *needles: str) -> None:
    assert r.exit_code == 1, r.stdout
    assert "verified with" not in r.stdout and "OK:" not in r.stdout
    for needle in needles:
        assert needle in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda n: n.replace(f"\n{n.split(chr(10))[1]}\n", "\n1\n", 1), "does not verify"),
        (lambda n: n.replace("time 20", "time 19"), "does not verify"),
        (lambda n: n.replace("\u2014 ", "-- "), "must start with an em dash"),
        (lambda n: n.split("\n\n")[0] + "\n", "no signature block"),
        (lambda n: "x" * 10, "no signature block"),
        (lambda n: n.replace("\n\n", "\nextra\n\n\n"), "blank line"),
    ],
    ids=["size", "time", "hyphen", "unsigned", "garbage", "blank-line"],
)
def test_an_altered_note_is_refused(cli, key, tmp_path, busy_log, edit, needle):
    note = checkpoint(cli, key, tmp_path / "cp.txt")
    forged = tmp_path / "forged.txt"
    forged.write_text(edit(note), encoding="utf-8")
    _refuses(
        cli("audit", "verify", "--checkpoint", str(forged), "--key", str(key)),
        f"checkpoint {forged} refused",
        needle,
    )


def test_a_note_signed_by_another_key_is_refused(cli, db, key, tmp_path, busy_log):
    other = write_key(tmp_path / "other.pem")
    note = tmp_path / "cp.txt"
    checkpoint(cli, other, note)
    _refuses(
        cli("audit", "verify", "--checkpoint", str(note), "--key", str(key)),
        "is not signed by localhost/review-flow with key id",
    )
    # A forger who re-signs a made-up head with their own key gets nowhere either.
    _refuses(
        cli("audit", "verify", "--checkpoint", str(note),
            "--public-key", str(public_pem(key, tmp_path / "pub.pem"))),
        "is not signed by",
    )


def test_the_verifier_key_line_works_and_must_name_the_log(cli, key, tmp_path, busy_log):
    from review_flow.audit import signed_note

    note = tmp_path / "cp.txt"
    checkpoint(cli, key, note)
    public = load_pem_private_key(key.read_bytes(), None).public_key()
    vkey = tmp_path / "vkey.txt"
    vkey.write_text(signed_note.verifier_key("localhost/review-flow", public) + "\n")
    r = cli("audit", "verify", "--checkpoint", str(note), "--public-key", str(vkey))
    assert r.exit_code == 0, r.stderr
    vkey.write_text(signed_note.verifier_key("other.example/log", public))
    _refuses(
        cli("audit", "verify", "--checkpoint", str(note), "--public-key", str(vkey)),
        "the checkpoint is for log localhost/review-flow, the verifier key is for other.example",
    )


def test_missing_checkpoint_file_and_missing_key_are_clear(cli, key, tmp_path):
    _refuses(
        cli("audit", "verify", "--checkpoint", str(tmp_path / "nope.txt"), "--key", str(key)),
        "nope.txt cannot be read: No such file or directory",
    )
    note = tmp_path / "cp.txt"
    checkpoint(cli, key, note)
    _refuses(cli("audit", "verify", "--checkpoint", str(note)), "no checkpoint key")
    _refuses(
        cli("audit", "verify", "--checkpoint", str(note), "--public-key", str(key)),
        "is neither a PEM public key nor a verifier key",
    )


def test_a_key_without_a_checkpoint_is_a_usage_error(cli, key):
    r = cli("audit", "verify", "--key", str(key))
    assert r.exit_code == 2 and "add --checkpoint" in r.stderr
