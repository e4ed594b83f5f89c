"""``content_hash_of`` (references encoded once, the texts spliced in) writes exactly the
bytes of the definition, ``json.dumps`` with the published options, for every text.

``audit verify`` re-hashes every revision with it; a difference in one character's
escaping would call an intact revision altered, or an altered one intact.
"""

from __future__ import annotations

import sys

import pytest

from review_flow.articles.content_hash import (
    _reference,
    content_hash,
    content_hash_of,
    encoded_references,
)

REFERENCES = [
    None,
    [],
    [{"title": "\u00c4rzteblatt \u2014 \"quoted\" \\ back", "doi": "10.1/x"}],
    [{"z": 1, "a": [1.5, -0.0, 1e300, True, False, None, {"b": "\u2028\u0000"}]}],
    {"not": "a list"},
    "text",
    3,
]


def _every_character() -> list[str]:
    """Every Unicode scalar value but the surrogates, in strings of a plane each."""
    out = []
    for plane in range(17):
        start, end = plane * 0x10000, (plane + 1) * 0x10000
        out.append("".join(chr(c) for c in range(start, end) if not 0xD800 <= c < 0xE000))
    return out


@pytest.mark.parametrize("references", REFERENCES)
def test_spliced_hash_equals_the_definition_for_every_character(references: object) -> None:
    encoded = encoded_references(references)
    for text in _every_character():
        assert content_hash_of("T", text, encoded, references) == _reference("T", text, references)
        assert content_hash_of(text, "B", encoded, references) == _reference(text, "B", references)


@pytest.mark.parametrize(
    ("title", "body"),
    [("", ""), ('"', "\\"), ("\x00\x1f\x7f", "\n\r\t\b\f")],
)
def test_spliced_hash_equals_the_definition_for_edge_texts(title: str, body: str) -> None:
    for references in REFERENCES:
        want = _reference(title, body, references)
        assert content_hash_of(title, body, encoded_references(references), references) == want
        assert content_hash(title, body, references) == want


class _Text(str):
    """A str subclass: the encoder may write it otherwise; the full encoder decides."""


@pytest.mark.parametrize(
    ("title", "body"), [(None, "b"), ("t", None), (1, "b"), ("t", 2.5), (_Text("t"), "b")]
)
def test_other_types_take_the_full_encoder(title: object, body: object) -> None:
    refs = [{"a": 1}]
    assert content_hash_of(title, body, encoded_references(refs), refs) == _reference(
        title, body, refs  # type: ignore[arg-type]
    )


def test_values_no_encoder_writes_are_refused_alike() -> None:
    for title, body in ((b"bytes", "b"), ("t", object())):
        with pytest.raises(TypeError):
            _reference(title, body, None)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            content_hash_of(title, body, encoded_references(None), None)


def test_a_lone_surrogate_is_refused_alike() -> None:
    """Not UTF-8 encodable: no hash either way (verify names it as unreadable text)."""
    with pytest.raises(UnicodeEncodeError):
        _reference("\ud800", "b", None)
    with pytest.raises(UnicodeEncodeError):
        content_hash_of("\ud800", "b", encoded_references(None), None)


def test_a_wrong_references_text_changes_the_hash() -> None:
    """The splice really uses the encoded references: a check that can fail."""
    refs = [{"a": 1}]
    assert content_hash_of("t", "b", encoded_references([{"a": 2}]), refs) != _reference(
        "t", "b", refs
    )
    assert sys.maxunicode == 0x10FFFF  # the every-character test covers every plane
