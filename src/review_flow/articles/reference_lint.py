"""Reference lint: what an author and a reviewer should see before submitting or
signing. References the body never cites, citation markers that cite nothing, and
DOIs, PMIDs and URLs whose form is wrong. Format checks only: nothing here goes to the
network, so lint never says a source exists, only that its locator cannot be right.

Saving already refuses what cannot be a DOI, PMID or URL at all (``content.py``); the
lint is stricter about what slips through (a DOI with a trailing full stop pasted from a
sentence, a PMID with leading zeros, a URL whose host has no dot) and reads old
revisions saved before those rules. No Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from review_flow.articles.content import citation_numbers

# Crossref's recommended pattern for modern DOIs, anchored: prefix 10.NNNN(.NNNN)*, a
# suffix of the characters DOIs are minted with.
_DOI = re.compile(r"10\.\d{4,9}(?:\.\d+)*/[-._;()/:A-Za-z0-9<>\[\]+]+")
_PMID = re.compile(r"[1-9]\d{0,8}")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*"
                   r"[A-Za-z0-9]|localhost|\[[0-9A-Fa-f:.]+\]|\d{1,3}(?:\.\d{1,3}){3}")
_TRAILING = ".,;:"

KINDS = ("never_cited", "cites_nothing", "malformed_doi", "malformed_pmid", "malformed_url")


@dataclass(frozen=True)
class LintIssue:
    kind: str
    message: str
    # The reference it is about (1-based), or the marker's number for ``cites_nothing``.
    number: int

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "number": self.number, "message": self.message}


def reference_label(number: int, reference: Mapping[str, Any]) -> str:
    """'Reference 2 (Smith 2021)': how messages name a reference."""
    title = str(reference.get("title") or "").strip()
    if len(title) > 60:
        title = title[:57].rstrip() + "…"
    return f"Reference {number} ({title})" if title else f"Reference {number}"


def doi_problem(doi: str) -> str | None:
    if doi.lower().startswith(("doi:", "https://doi.org/", "http://dx.doi.org/")):
        return "write the DOI alone (10.…), without a “doi:” or link prefix"
    if doi[-1:] in _TRAILING:
        return f"ends with “{doi[-1]}”, which is probably punctuation copied with it"
    if not _DOI.fullmatch(doi):
        return "is not in the form 10.NNNN/suffix"
    return None


def pmid_problem(pmid: str) -> str | None:
    if not _PMID.fullmatch(pmid):
        return "should be 1 to 9 digits, not starting with 0"
    return None


def url_problem(url: str) -> str | None:
    if any(c.isspace() for c in url):
        return "contains a space"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "cannot be read as a web address"
    if parts.scheme.lower() not in ("http", "https"):
        return "should start with http:// or https://"
    host = parts.netloc.rpartition("@")[2]
    host = re.sub(r":\d+$", "", host)
    if not _HOST.fullmatch(host):
        return f"has no valid host name (“{host}”)"
    if url[-1:] in _TRAILING:
        return f"ends with “{url[-1]}”, which is probably punctuation copied with it"
    return None


def lint(body: str, references: Sequence[Mapping[str, Any]]) -> list[LintIssue]:
    """Every issue, markers first (in order of appearance), then each reference in order."""
    issues: list[LintIssue] = []
    cited = citation_numbers(body)
    count = len(references)
    for n in cited:
        if n < 1 or n > count:
            issues.append(LintIssue(
                "cites_nothing", f"The body cites [{n}], but there is no reference {n} "
                f"(the article has {count} reference{'s' if count != 1 else ''}).", n))
    cited_set = set(cited)
    for number, ref in enumerate(references, 1):
        label = reference_label(number, ref)
        if number not in cited_set:
            issues.append(LintIssue(
                "never_cited", f"{label} is never cited in the body.", number))
        for kind, key, check, name in (
            ("malformed_doi", "doi", doi_problem, "DOI"),
            ("malformed_pmid", "pmid", pmid_problem, "PMID"),
            ("malformed_url", "url", url_problem, "URL"),
        ):
            value = str(ref.get(key) or "").strip()
            if not value:
                continue
            why = check(value)
            if why:
                issues.append(LintIssue(kind, f"{label}: the {name} “{value}” {why}.", number))
    return issues
