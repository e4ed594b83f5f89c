"""Content rules: references, citation markers, the canonical content hash."""

from __future__ import annotations

import pytest

from review_flow.articles.content import (
    citation_numbers,
    clean_body,
    clean_title,
    content_hash,
    dangling_citations,
    parse_generator,
    parse_references,
)
from review_flow.errors import ValidationFailed


def test_citation_markers() -> None:
    body = "A [1]. B [2, 3]. C [4-6]. D [7\u20138]. Link [9](http://x). Foot [^10]. ![11]"
    assert citation_numbers(body) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert dangling_citations("see [1] and [3]", 2) == [3]
    assert dangling_citations("see [0]", 2) == [0]
    assert dangling_citations("no markers", 0) == []


@pytest.mark.parametrize(
    ("refs", "field"),
    [
        ("not a list", "references"),
        ([{"url": "https://x.org"}], "references[0].title"),
        ([{"title": "t"}], "references[0]"),
        ([{"title": "t", "url": "javascript:alert(1)"}], "references[0].url"),
        ([{"title": "t", "doi": "nope"}], "references[0].doi"),
        ([{"title": "t", "pmid": "12a"}], "references[0].pmid"),
        ([{"title": "t", "pmid": "1", "extra": 1}], "references[0].extra"),
        ([{"title": "ok", "pmid": "1"}, 5], "references[1]"),
    ],
)
def test_bad_references_name_the_field(refs, field) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_references(refs)
    assert field in err.value.details["fields"]
    assert err.value.message.startswith(field)


def test_good_references_are_canonical() -> None:
    refs = parse_references([{"title": " Guideline ", "doi": "10.1161/HYP.65", "url": None}])
    assert refs == [{"title": "Guideline", "doi": "10.1161/HYP.65"}]


def test_generator() -> None:
    assert parse_generator({"name": "writer", "model": "m"}) == {"name": "writer", "model": "m"}
    with pytest.raises(ValidationFailed):
        parse_generator({"model": "m"})


def test_content_hash_is_canonical() -> None:
    refs = [{"title": "t", "pmid": "1"}]
    h = content_hash("Caf\u00e9", clean_body("x\r\n"), refs)
    assert h.startswith("sha256:") and len(h) == 71
    # Cleaning normalises to NFC before hashing, so the decomposed form hashes alike
    assert content_hash(clean_title("Cafe\u0301"), clean_body("x\n"), refs) == h
    assert content_hash("Cafe", "x\n", refs) != h
    assert content_hash("Caf\u00e9", "x\n", [{"title": "t", "pmid": "2"}]) != h
