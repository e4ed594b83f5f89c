"""Reference lint: uncited references, markers citing nothing, malformed locators.
Pure functions, no database."""

from __future__ import annotations

import pytest

from review_flow.articles.reference_lint import doi_problem, lint, pmid_problem, url_problem

BP = [
    {"title": "2017 ACC/AHA Guideline for High Blood Pressure in Adults",
     "doi": "10.1161/HYP.0000000000000065"},
    {"title": "Hypertension - MedlinePlus", "url": "https://medlineplus.gov/highbloodpressure.html"},
]


def test_clean_article_has_no_issues() -> None:
    assert lint("No symptoms [1]. Salt [2].", BP) == []
    assert lint("Ranges [1-2].", BP) == []


def test_never_cited_reference_and_marker_citing_nothing() -> None:
    issues = lint("Antihistamines relieve sneezing [1] and itching [3].", BP)
    assert [(i.kind, i.number) for i in issues] == [("cites_nothing", 3), ("never_cited", 2)]
    assert issues[0].message == (
        "The body cites [3], but there is no reference 3 (the article has 2 references).")
    assert issues[1].message == (
        "Reference 2 (Hypertension - MedlinePlus) is never cited in the body.")


@pytest.mark.parametrize(("doi", "problem"), [
    ("10.1161/HYP.0000000000000065", None),
    ("10.1056/NEJMoa1809944", None),
    ("10.1056/NEJMoa1809944.", "ends with “.”, which is probably punctuation copied with it"),
    ("doi:10.1056/NEJMoa1809944", "write the DOI alone (10.…), without a “doi:” or link prefix"),
    ("10.12/abc", "is not in the form 10.NNNN/suffix"),
    ("10.1056/NEJM{oa}", "is not in the form 10.NNNN/suffix"),
])
def test_doi_forms(doi: str, problem: str | None) -> None:
    assert doi_problem(doi) == problem


@pytest.mark.parametrize(("pmid", "problem"), [
    ("37616235", None), ("1", None),
    ("037616235", "should be 1 to 9 digits, not starting with 0"),
    ("3761623x", "should be 1 to 9 digits, not starting with 0"),
    ("1234567890", "should be 1 to 9 digits, not starting with 0"),
])
def test_pmid_forms(pmid: str, problem: str | None) -> None:
    assert pmid_problem(pmid) == problem


@pytest.mark.parametrize(("url", "problem"), [
    ("https://medlineplus.gov/highbloodpressure.html", None),
    ("https://www.who.int/news-room/fact-sheets/detail/influenza-(seasonal)", None),
    ("http://localhost:8080/x", None),
    ("https://medlineplus/x", "has no valid host name (“medlineplus”)"),
    ("https://medlineplus.gov/page.",
     "ends with “.”, which is probably punctuation copied with it"),
    ("ftp://example.org/x", "should start with http:// or https://"),
    ("https://example.org/a b", "contains a space"),
])
def test_url_forms(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem


def test_each_malformed_locator_is_named_with_its_reference() -> None:
    refs = [{"title": "Smith 2021", "doi": "10.1056/NEJMoa1809944.", "pmid": "0123",
             "url": "https://example/x"}]
    assert [i.message for i in lint("Cited [1].", refs)] == [
        "Reference 1 (Smith 2021): the DOI “10.1056/NEJMoa1809944.” ends with “.”, which is "
        "probably punctuation copied with it.",
        "Reference 1 (Smith 2021): the PMID “0123” should be 1 to 9 digits, not starting with 0.",
        "Reference 1 (Smith 2021): the URL “https://example/x” has no valid host name "
        "(“example”).",
    ]
