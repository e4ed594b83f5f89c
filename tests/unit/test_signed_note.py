"""The C2SP signed-note format without a database: what is made, parsed and refused."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from review_flow.audit import checkpoints, signed_note
from review_flow.audit.signed_note import NoteError


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def test_sign_then_verify_round_trip():
    key = _key(1)
    note = signed_note.sign("example.org/log\n5\n", "example.org/log", key)
    parsed = signed_note.parse(note)
    assert parsed.text == "example.org/log\n5\n"
    sig = signed_note.verify(parsed, "example.org/log", key.public_key())
    assert sig.key_id == signed_note.key_id("example.org/log", key.public_key())
    raw = signed_note.public_bytes(key.public_key())
    assert sig.key_id == hashlib.sha256(b"example.org/log\n\x01" + raw).digest()[:4]


def test_a_verifier_key_survives_a_plus_in_its_base64():
    seed = next(
        i for i in range(256)
        if "+" in signed_note.verifier_key("n", _key(i).public_key()).split("+", 2)[2]
    )
    text = signed_note.verifier_key("example.org/log", _key(seed).public_key())
    name, key = signed_note.parse_verifier_key(text)
    assert name == "example.org/log"
    assert signed_note.public_bytes(key) == signed_note.public_bytes(_key(seed).public_key())


@pytest.mark.parametrize(
    "text",
    [
        "n+00000000+" + base64.b64encode(b"\x01" + b"\0" * 32).decode(),  # wrong key id
        "n+abcd+" + base64.b64encode(b"\x02" + b"\0" * 32).decode(),  # not Ed25519
        "n+abcd+!!!",
        "just-a-name",
    ],
)
def test_a_bad_verifier_key_is_refused(text):
    with pytest.raises(NoteError):
        signed_note.parse_verifier_key(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("", "n"),
        ("no newline", "n"),
        ("a\n\nb\n", "n"),
        ("tab\there\n", "n"),
        ("fine\n", "two words"),
        ("fine\n", "a+b"),
        ("fine\n", ""),
    ],
)
def test_sign_refuses_what_the_format_cannot_carry(text, name):
    with pytest.raises(NoteError):
        signed_note.sign(text, name, _key(2))


def test_a_wrong_signature_by_a_known_key_refuses_the_note():
    key = _key(3)
    note = signed_note.sign("log\n1\n", "log", key)
    other = signed_note.sign("log\n1\n", "log", _key(4)).split("\n\n")[1]
    # Our key id, someone else's signature bytes.
    ours = note.split("\n\n")[1]
    raw = base64.b64decode(ours.split(" ")[2])[:4] + base64.b64decode(other.split(" ")[2])[4:]
    forged = f"log\n1\n\n\u2014 log {base64.b64encode(raw).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        signed_note.verify(signed_note.parse(forged), "log", key.public_key())


def test_a_second_signature_by_a_witness_is_ignored():
    key, witness = _key(5), _key(6)
    note = signed_note.sign("log\n1\n", "log", key)
    cosigned = note + signed_note.sign("log\n1\n", "witness.example", witness).split("\n\n")[1]
    parsed = signed_note.parse(cosigned)
    assert len(parsed.signatures) == 2
    assert signed_note.verify(parsed, "log", key.public_key()).name == "log"


def test_checkpoint_body_round_trips():
    at = datetime(2026, 11, 30, 12, 0, 1, 250000, tzinfo=UTC)
    cp = checkpoints.Checkpoint("reviews.example.org/review-flow", 42, "ab" * 32, at)
    assert cp.text() == (
        "reviews.example.org/review-flow\n42\n"
        + base64.b64encode(bytes.fromhex("ab" * 32)).decode()
        + "\ntime 2026-11-30T12:00:01.250000Z\n"
    )
    note = signed_note.sign(cp.text(), cp.origin, _key(7))
    assert checkpoints.open_checkpoint(note, _key(7).public_key()) == cp


@pytest.mark.parametrize(
    "body",
    [
        "log\n",
        "log\n01\nAAAA\n",
        "log\n-1\n" + base64.b64encode(b"\0" * 32).decode() + "\n",
        "log\n99999999999999999999\n" + base64.b64encode(b"\0" * 32).decode() + "\n",
        "log\n1\n" + base64.b64encode(b"\0" * 31).decode() + "\n",
        "log\n1\n" + base64.b64encode(b"\0" * 32).decode() + "\ntime yesterday\n",
    ],
    ids=["short", "leading-zero", "negative", "huge", "hash-31-bytes", "time"],
)
def test_a_malformed_checkpoint_body_is_refused(body):
    note = signed_note.sign(body, "log", _key(8))
    with pytest.raises(NoteError):
        checkpoints.open_checkpoint(note, _key(8).public_key())


def test_default_origin_comes_from_the_base_url():
    assert checkpoints.default_origin("https://reviews.example.org:8443/a") == (
        "reviews.example.org/review-flow"
    )
    assert checkpoints.default_origin(None) == "localhost/review-flow"
