"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: sign, parse, verify.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key id || signature)>``. Written to the published format,
not a format of our own, so that standard tools and witnesses can read our checkpoints.
Only the Ed25519 signature type (0x01) is made or checked here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from review_flow.errors import ReviewFlowError

ED25519 = 0x01  # the signature type byte of an Ed25519 key
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line
MAX_NOTE_BYTES = 1 << 20  # refuse anything larger before parsing it
MAX_SIGNATURES = 100

# A key name: non-empty, no Unicode white space, no "+" (the verifier key separator).
_KEY_NAME = re.compile(r"[^\s+]+")


class NoteError(ReviewFlowError):
    """A note that is malformed, or whose signature does not verify."""

    code = "bad_note"
    status = 422


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # the signature proper, without the key id


@dataclass(frozen=True)
class Note:
    text: str  # what the signatures cover: the body, ending in "\n"
    signatures: tuple[Signature, ...]


def check_key_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise NoteError(f"{name!r} cannot name a key: it must be non-empty, without spaces or '+'")
    return name


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    """The 4-byte key id: the start of SHA-256(name, newline, type byte, public key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_bytes(key))
    return digest.digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The text form a verifier is given: ``name+<hex key id>+<base64(type || key)>``."""
    encoded = base64.b64encode(bytes([ED25519]) + public_bytes(key)).decode()
    return f"{check_key_name(name)}+{key_id(name, key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """The name and public key of a verifier key string; refuses an inconsistent one."""
    parts = text.strip().split("+", 2)  # names and ids hold no "+"; base64 may
    if len(parts) != 3:
        raise NoteError("a verifier key reads name+keyid+base64key")
    name, hex_id, encoded = parts
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError("the verifier key's last part is not base64") from None
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, key).hex() != hex_id.lower():
        raise NoteError("the verifier key's id does not match its name and key")
    return name, key


def _check_text(text: str) -> None:
    if not text or not text.endswith("\n"):
        raise NoteError("a note's text must be non-empty and end with a newline")
    if "\n\n" in text:
        raise NoteError("a note's text must not contain a blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text must not contain control characters")


def sign(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note: ``text``, a blank line and one Ed25519 signature by ``name``."""
    _check_text(text)
    check_key_name(name)
    sig = key.sign(text.encode())
    line = base64.b64encode(key_id(name, key.public_key()) + sig).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {line}\n"


def parse(note: str) -> Note:
    """Split a note into its text and signatures (none verified yet)."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("the note is larger than 1 MiB")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("no signature block: a note ends with a blank line and signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("the last signature line must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature(line) for line in lines))


def _parse_signature(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"not a signature line (must start with an em dash): {line[:80]!r}")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError(f"the signature by {name} is not base64") from None
    if len(raw) < 5:
        raise NoteError(f"the signature by {name} is too short")
    return Signature(name, raw[:4], raw[4:])


def verify(note: Note, name: str, key: Ed25519PublicKey) -> Signature:
    """The note's signature by this key, checked; a clear error when there is none or
    it does not verify (a wrong signature by a known key refuses the whole note)."""
    wanted = key_id(name, key)
    mine = [s for s in note.signatures if s.name == name and s.key_id == wanted]
    if not mine:
        present = ", ".join(f"{s.name} (key id {s.key_id.hex()})" for s in note.signatures)
        raise NoteError(
            f"the note is not signed by {name} with key id {wanted.hex()}; "
            f"it carries signatures by: {present}"
        )
    for sig in mine:
        try:
            key.verify(sig.signature, note.text.encode())
        except InvalidSignature:
            raise NoteError(
                f"the signature by {name} (key id {wanted.hex()}) does not verify: "
                "the note was altered or signed by another key"
            ) from None
    return mine[0]
