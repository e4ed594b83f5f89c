"""Signed checkpoints: the chain head signed with a key kept outside the database.

A hash chain in the database cannot by itself stop someone with full database access
from rewriting it end to end: they can recompute every hash and move the head. A
checkpoint is the head (log identity, event count, head hash, UTC time) signed with an
Ed25519 key the database never sees, printed as a C2SP signed note (tlog-checkpoint
body) and kept elsewhere. Later, ``audit verify --checkpoint`` proves the log still
holds exactly the checkpointed prefix: event ``size`` still has the signed hash, and the
chain up to it still verifies.

A checkpoint signs the head as it stood *before* its own ``audit.checkpoint`` event;
that event (which records the signed size, hash, key id and the whole note) is the
first event after the checkpoint, so the log itself records every checkpoint it issued
and the next checkpoint covers that record.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_flow.audit import log as audit_log
from review_flow.audit import signed_note
from review_flow.audit.chain import GENESIS_HASH
from review_flow.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from review_flow.audit.signed_note import NoteError
from review_flow.errors import ConfigurationError, ReviewFlowError
from review_flow.timeutil import isoformat, utcnow

KEY_FILE_SETTING = "REVIEW_FLOW_CHECKPOINT_KEY_FILE"
ORIGIN_SETTING = "REVIEW_FLOW_LOG_ORIGIN"
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_SIZE = 2**63 - 1
TIME_PREFIX = "time "  # the extension line that carries the UTC time
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


class CheckpointKeyError(ReviewFlowError):
    """The checkpoint key is missing, unreadable or not an Ed25519 key."""

    code = "checkpoint_key"
    status = 500


class CheckpointRefused(ReviewFlowError):
    """The log no longer extends its last checkpoint: signing it would bless a rewrite."""

    code = "checkpoint_refused"
    status = 409


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    head_hash: str  # SHA-256 hex, as the chain stores it
    at: datetime | None  # from the "time" extension line; None if the note has none

    def text(self) -> str:
        """The note's body: origin, size, base64 head hash, then the time extension."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(bytes.fromhex(self.head_hash)).decode(),
        ]
        stamp = isoformat(self.at)
        if stamp is not None:
            lines.append(TIME_PREFIX + stamp)
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        when = isoformat(self.at) if self.at is not None else "no time given"
        return f"size {self.size}, {when}"


# --- keys -------------------------------------------------------------------------------


def _read_key_file(path: str | None, what: str) -> bytes:
    if not path:
        raise CheckpointKeyError(
            f"no {what}: pass --key FILE or set {KEY_FILE_SETTING} "
            "(an Ed25519 private key in PEM, e.g. from `openssl genpkey -algorithm ed25519`)"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CheckpointKeyError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise CheckpointKeyError(f"{what} {path} is a directory, not a key file") from None
    except OSError as exc:
        raise CheckpointKeyError(f"{what} {path} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise CheckpointKeyError(f"{what} {path} is too large to be a key file")
    return data


def load_private_key(path: str | None) -> Ed25519PrivateKey:
    """The signing key from a PKCS#8 PEM file (unencrypted), or a clear error."""
    data = _read_key_file(path, "checkpoint key")
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:  # the PEM is encrypted
        raise CheckpointKeyError(
            f"checkpoint key {path} is encrypted; give an unencrypted PKCS#8 PEM file "
            "readable only by the account that signs"
        ) from None
    except (ValueError, binascii.Error):
        raise CheckpointKeyError(
            f"checkpoint key {path} is not a PEM private key "
            "(expected an Ed25519 key from `openssl genpkey -algorithm ed25519`)"
        ) from None
    except Exception as exc:  # the backend refuses some key types outright
        raise CheckpointKeyError(f"checkpoint key {path} cannot be loaded: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointKeyError(
            f"checkpoint key {path} is an {type(key).__name__.removesuffix('PrivateKey')} key, "
            "not Ed25519 (make one with `openssl genpkey -algorithm ed25519`)"
        )
    return key


def load_public_key(path: str) -> tuple[str | None, Ed25519PublicKey]:
    """A verifying key from a file: a PEM public key (``openssl pkey -pubout``) or a
    signed-note verifier key line (``name+keyid+base64``, which also names the log)."""
    data = _read_key_file(path, "public key")
    text = data.decode("utf-8", "replace").strip()
    if "+" in text and "-----BEGIN" not in text:
        try:
            return signed_note.parse_verifier_key(text)
        except NoteError as exc:
            raise CheckpointKeyError(f"public key {path}: {exc.message}") from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, binascii.Error):
        raise CheckpointKeyError(
            f"public key {path} is neither a PEM public key nor a verifier key (name+keyid+base64)"
        ) from None
    except Exception as exc:
        raise CheckpointKeyError(f"public key {path} cannot be loaded: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointKeyError(f"public key {path} is not an Ed25519 key")
    return None, key


def public_key_pem(raw_b64: str) -> str:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def verifier_key_of(name: str, raw_b64: str) -> str:
    return signed_note.verifier_key(
        name, Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))
    )


# --- the log's identity -----------------------------------------------------------------


def default_origin(base_url: str | None) -> str:
    """``<host of REVIEW_FLOW_BASE_URL>/review-flow``, or ``localhost/review-flow``."""
    host = urlsplit(base_url).hostname if base_url else None
    return f"{host or 'localhost'}/review-flow"


def log_origin(session: Session, setting: str | None, base_url: str | None) -> str:
    """The log's identity: fixed by its first checkpoint, so it never drifts with the
    site's address; before that, ``REVIEW_FLOW_LOG_ORIGIN`` or one derived from
    ``REVIEW_FLOW_BASE_URL``."""
    stored = session.scalar(select(AuditCheckpoint.origin).order_by(AuditCheckpoint.id).limit(1))
    if stored is not None:
        if setting and setting != stored:
            raise ConfigurationError(
                f"{ORIGIN_SETTING} is {setting!r}, but this log's checkpoints name it "
                f"{stored!r} (fixed by its first checkpoint); unset it or set it to {stored!r}"
            )
        return stored
    origin = setting or default_origin(base_url)
    try:
        return signed_note.check_key_name(origin)
    except NoteError as exc:
        raise ConfigurationError(
            f"The log origin {origin!r} (from {ORIGIN_SETTING}, or else the site's address) "
            f"is not valid: {exc.message}") from None


# --- taking a checkpoint ----------------------------------------------------------------


_LOCK_HEAD = (
    select(AuditChainHead.seq, AuditChainHead.hash, AuditChainHead.at)
    .where(AuditChainHead.id == 1)
    .with_for_update()
)


def take(
    session: Session,
    key: Ed25519PrivateKey,
    *,
    origin_setting: str | None = None,
    base_url: str | None = None,
    context: audit_log.RequestContext | None = None,
) -> AuditCheckpoint:
    """Sign the chain head, store the checkpoint and record ``audit.checkpoint``, in the
    caller's transaction (the head stays locked until it ends, so nothing slips in
    between the head signed and the event that records the signing)."""
    origin = log_origin(session, origin_setting, base_url)
    seq, head, head_at = session.execute(_LOCK_HEAD).one()
    _extends_last_checkpoint(session, seq)
    audit_log.seed_head(session, seq, head, head_at)
    at = audit_log.event_time(utcnow(), head_at)  # the time its event will carry
    checkpoint = Checkpoint(origin, seq, head, at)
    note = signed_note.sign(checkpoint.text(), origin, key)
    public = key.public_key()
    row = AuditCheckpoint(
        at=at,
        origin=origin,
        size=seq,
        head_hash=head,
        key_name=origin,
        key_id=signed_note.key_id(origin, public).hex(),
        public_key=base64.b64encode(signed_note.public_bytes(public)).decode(),
        note=note,
    )
    session.add(row)
    session.flush()
    audit_log.record(
        session,
        **audit_log.actor_of(None),
        action="audit.checkpoint",
        object_type="checkpoint",
        object_id=row.id,
        context=context,
        data={"size": seq, "head": head, "key_id": row.key_id, "note": note},
        at=at,
    )
    return row


def _extends_last_checkpoint(session: Session, head_seq: int) -> None:
    """Refuse to sign a log that no longer begins with the last checkpoint's prefix (a
    signature then would bless the rewrite). One indexed query."""
    last = session.execute(
        select(AuditCheckpoint.size, AuditCheckpoint.head_hash, AuditCheckpoint.at)
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return
    problem = prefix_problem(session, Checkpoint("", last.size, last.head_hash, last.at), head_seq)
    if problem is not None:
        raise CheckpointRefused(
            f"not signing: the log no longer holds the last checkpoint's prefix "
            f"(size {last.size}, {isoformat(last.at)}): {problem}. Run `review-flow audit "
            "verify` with your kept checkpoints to find what changed"
        )


# --- reading and checking checkpoints -----------------------------------------------------


def read(note_text: str) -> tuple[Checkpoint, signed_note.Note]:
    """Parse a checkpoint note (signatures not yet checked): a clear error on bad input."""
    note = signed_note.parse(note_text)
    lines = note.text.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("a checkpoint has at least three lines: origin, size, root hash")
    origin, size, root, *extensions = lines
    signed_note.check_key_name(origin)
    if not _SIZE.fullmatch(size) or int(size) > MAX_SIZE:
        raise NoteError(f"the checkpoint's size {size[:40]!r} is not a decimal event count")
    try:
        raw = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(raw) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes (SHA-256)")
    at = None
    for line in extensions:
        if line.startswith(TIME_PREFIX):
            stamp = line.removeprefix(TIME_PREFIX)
            if not _TIME.fullmatch(stamp):
                raise NoteError(f"the checkpoint's time {stamp[:40]!r} is not ISO 8601 UTC")
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return Checkpoint(origin, int(size), raw.hex(), at), note


def open_checkpoint(
    note_text: str, key: Ed25519PublicKey, key_name: str | None = None
) -> Checkpoint:
    """A checkpoint whose signature by the log's key verifies, or a clear error.

    The key name is the checkpoint's origin (the log signs as itself); a verifier key
    that names another log is refused."""
    checkpoint, note = read(note_text)
    if key_name is not None and key_name != checkpoint.origin:
        raise NoteError(
            f"the checkpoint is for log {checkpoint.origin}, the verifier key is for {key_name}"
        )
    signed_note.verify(note, checkpoint.origin, key)
    return checkpoint


def prefix_problem(
    session: Session, checkpoint: Checkpoint, head_seq: int | None = None
) -> str | None:
    """Why the log does not hold exactly the checkpointed prefix, or None if it does:
    its event ``size`` must exist, within the chain head, with the signed hash. (That
    the chain up to it verifies is ``audit verify``'s walk.)"""
    n, want = checkpoint.size, checkpoint.head_hash
    if n == 0:
        return None if want == GENESIS_HASH else "a checkpoint of no events has the wrong hash"
    if head_seq is None:
        head_seq = session.scalar(select(AuditChainHead.seq).where(AuditChainHead.id == 1))
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == n))
    if found is None:
        have = session.scalar(select(func.max(AuditEvent.seq))) or 0
        return f"the log has only {have} events, the checkpoint covers {n}"
    if head_seq is not None and head_seq < n:
        return f"the chain head records only {head_seq} events, the checkpoint covers {n}"
    if found != want:
        return f"the log's event {n} has hash {found}, the checkpoint says {want}"
    return None


@dataclass(frozen=True)
class Proof:
    """A checkpoint file whose signature verified, ready to be checked against the log."""

    label: str
    checkpoint: Checkpoint


def load_proofs(files: list[str], key: Ed25519PublicKey, key_name: str | None) -> list[Proof]:
    """Read and open each checkpoint file; the first bad one is a clear error."""
    proofs = []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise NoteError(f"checkpoint {path} cannot be read: {reason}") from None
        try:
            proofs.append(Proof(path, open_checkpoint(text, key, key_name)))
        except NoteError as exc:
            raise NoteError(f"checkpoint {path} refused: {exc.message}") from None
    return proofs


def check(session: Session, proof: Proof) -> tuple[bool, str]:
    """(ok, a sentence naming the checkpoint) for one verified checkpoint against the log."""
    cp = proof.checkpoint
    name = f"checkpoint {proof.label} ({cp.describe()})"
    stored = session.scalar(select(AuditCheckpoint.origin).order_by(AuditCheckpoint.id).limit(1))
    if stored is not None and stored != cp.origin:
        return False, f"{name}: it is for log {cp.origin}, this database holds log {stored}"
    problem = prefix_problem(session, cp)
    if problem is None:
        return True, f"{name}: the log still holds exactly these {cp.size} events"
    return False, f"{name}: {problem}"


def latest(session: Session, limit: int = 10, before: int | None = None) -> list[AuditCheckpoint]:
    """The newest checkpoints first, a page at a time (keyset on ``id``)."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditCheckpoint.id < before)
    return list(session.scalars(stmt))
