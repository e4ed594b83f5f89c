"""Content rules: references, citation markers, the canonical content hash."""

from __future__ import annotations

import pytest

from review_flow.articles.content import (
    citation_numbers,
    clean_body,
    clean_content,
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
    ("refs", "field", "message"),
    [
        ("not a list", "references", "The references must be a list of objects."),
        ([{"url": "https://x.org"}], "references[0].title",
         "Reference 1: give the title of the study, guideline or page."),
        ([{"title": "t"}], "references[0]",
         "Reference 1: add a URL, DOI or PMID so readers can find the source."),
        ([{"title": "t", "url": "javascript:alert(1)"}], "references[0].url",
         "Reference 1: the URL \u201cjavascript:alert(1)\u201d is not a web address (it should "
         "start with https:// or http://)."),
        ([{"title": "t", "doi": "nope"}], "references[0].doi",
         "Reference 1: the DOI \u201cnope\u201d is not a DOI (it should look like 10.1234/abcd)."),
        ([{"title": "t", "pmid": "12a"}], "references[0].pmid",
         "Reference 1: the PMID \u201c12a\u201d is not a PubMed ID (it should be digits only, "
         "like 31234567)."),
        ([{"title": "t", "pmid": "1", "extra": 1}], "references[0].extra",
         "Reference 1: \u201cextra\u201d is not part of a reference (a reference has a title, "
         "and a url, doi or pmid)."),
        ([{"title": "ok", "pmid": "1"}, 5], "references[1]",
         "Reference 2: this is not a reference (it should be an object with a title and a "
         "url, doi or pmid)."),
    ],
)
def test_bad_references_name_the_field(refs, field, message) -> None:
    """Machines keep the 0-based JSON path; people read the reference's number from 1."""
    with pytest.raises(ValidationFailed) as err:
        parse_references(refs)
    assert field in err.value.details["fields"]
    assert err.value.message == message
    assert [p["field"] for p in err.value.details.get("problems", [{"field": field}])] == [field]


def test_every_bad_reference_is_reported_once() -> None:
    with pytest.raises(ValidationFailed) as err:
        clean_content("", "Text", [{"title": "a", "doi": "x"}, {"title": "b", "pmid": "1"},
                                   {"title": "c", "url": "ftp://y"}])
    problems = err.value.details["problems"]
    assert [(p["field"], p["message"]) for p in problems] == [
        ("title", "Give the article a title."),
        ("references[0].doi", "Reference 1: the DOI \u201cx\u201d is not a DOI (it should look "
                              "like 10.1234/abcd)."),
        ("references[2].url", "Reference 3: the URL \u201cftp://y\u201d is not a web address "
                              "(it should start with https:// or http://)."),
    ]
    assert set(err.value.details["fields"]) == {"title", "references[0].doi",
                                                "references[2].url"}


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
