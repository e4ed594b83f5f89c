"""The content hash's canonical form, pinned by a known vector.

Every stored approval signs a content hash, and ``audit verify`` re-hashes every
revision: a change to the canonical form (key order, separators, escaping of non-ASCII,
the field names, the prefix) would orphan every signature ever made. The literal below
was computed once from the canonical form described in ``articles/content.py``; it must
never change.
"""

from __future__ import annotations

import hashlib
import json

from review_flow.articles.content import content_hash, parse_references

TITLE = "Blood pressure: what \u201cnormal\u201d means"
BODY = "Aim for < 130/80 mmHg [1].\n\nSee also [2].\n"
RAW_REFERENCES = [
    {"title": "\u00c4rzteblatt: Hypertonie \u2014 Leitlinie", "doi": "10.1000/xyz123"},
    {"title": "Trial", "pmid": "12345678", "url": "https://example.org/t?a=1&b=2"},
]
PINNED = "sha256:e1fffa012e0156eb01f0638fff3ebbe479f9ccb70a2f10771eaf3fb865c15126"


def test_the_content_hash_matches_the_pinned_vector() -> None:
    assert content_hash(TITLE, BODY, parse_references(RAW_REFERENCES)) == PINNED


def test_the_pinned_vector_is_sha256_of_the_documented_canonical_json() -> None:
    """Spelled out independently of the code: compact, key-sorted JSON, UTF-8 unescaped."""
    references = [
        {"doi": "10.1000/xyz123", "title": "\u00c4rzteblatt: Hypertonie \u2014 Leitlinie"},
        {"pmid": "12345678", "title": "Trial", "url": "https://example.org/t?a=1&b=2"},
    ]
    canonical = (
        '{"body":' + json.dumps(BODY, ensure_ascii=False)
        + ',"references":[{"doi":"10.1000/xyz123","title":"\u00c4rzteblatt: Hypertonie '
        '\u2014 Leitlinie"},{"pmid":"12345678","title":"Trial",'
        '"url":"https://example.org/t?a=1&b=2"}],"title":'
        + json.dumps(TITLE, ensure_ascii=False) + "}"
    )
    assert "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest() == PINNED
    assert content_hash(TITLE, BODY, references) == PINNED  # key order in a dict is not data
