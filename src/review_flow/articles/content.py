"""What a revision says: references, citation markers and the content hash.

The content hash is what an approval signs, so its canonical form is fixed here once:
SHA-256 over compact, key-sorted JSON of NFC-normalized title, body and references.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from review_flow.articles.content_hash import content_hash  # noqa: F401 - re-exported
from review_flow.errors import ValidationFailed

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_REFERENCES = 500

# A character that is not white space, spelled out: Python's, Rust's and ECMAScript's \s
# differ (\x1c-\x1f, \x85, \ufeff), and these patterns are also the API document's.
SPACE_CHARS = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_SPACE = f"[^{SPACE_CHARS}]"
URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://[^{SPACE_CHARS}/$.?#]{NOT_SPACE}*$"
DOI_PATTERN = rf"^10\.[0-9]{{4,9}}/{NOT_SPACE}+$"
_DOI = re.compile(DOI_PATTERN)
_URL = re.compile(URL_PATTERN)
_PMID = re.compile(r"^[0-9]{1,9}$")
# [2], [1, 3], [2-4] / [2\u20134]; not a Markdown link text "[2](...)" nor a footnote "[^2]".
_CITATION = re.compile(r"(?<![\\!])\[(\d+(?:\s*[,\u2013-]\s*\d+)*)\](?!\()")


def no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text, and SQLite would keep it silently: refuse it."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class Reference(BaseModel):
    """One cited source: a title and at least one of url, doi, pmid."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    doi: str | None = Field(default=None, max_length=200)
    pmid: str | None = Field(default=None, max_length=12)

    @field_validator("title", "url", "doi", "pmid", mode="before")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        return no_nul(v) if isinstance(v, str) else v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v and not _URL.fullmatch(v):
            raise ValueError("must be an http(s) URL")
        return v or None

    @field_validator("doi")
    @classmethod
    def _doi(cls, v: str | None) -> str | None:
        if v and not _DOI.fullmatch(v):
            raise ValueError("must look like 10.1234/abc")
        return v or None

    @field_validator("pmid")
    @classmethod
    def _pmid(cls, v: str | None) -> str | None:
        if v and not _PMID.fullmatch(v):
            raise ValueError("must be digits only")
        return v or None

    @model_validator(mode="after")
    def _one_locator(self) -> Reference:
        if not (self.url or self.doi or self.pmid):
            raise ValueError("needs one of url, doi or pmid")
        return self


class Generator(BaseModel):
    """Provenance of a machine-written draft."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=100)

    @field_validator("name", "model", "version", mode="before")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        return no_nul(v) if isinstance(v, str) else v


def _field_path(loc: tuple[Any, ...], root: str) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _quoted(value: Any) -> str:
    text = str(value)
    shown = text if len(text) <= 80 else text[:79] + "\u2026"
    return f"\u201c{shown}\u201d"


_REFERENCE_PARTS = {"title": "the title", "url": "the URL", "doi": "the DOI", "pmid": "the PMID"}


def reference_words(err: Any) -> str:
    """What is wrong with one part of a reference, said to the person who typed it
    (``err``: a pydantic error whose ``loc`` starts inside the reference)."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    part = loc[0] if loc else None
    if kind == "string_pattern_mismatch":
        if part == "title":
            kind = "missing"
        elif isinstance(value, str) and value and "\x00" not in value:
            kind = "value_error"
    if part is None:
        return "add a URL, DOI or PMID so readers can find the source."
    if kind == "extra_forbidden":
        return (f"{_quoted(part)} is not part of a reference (a reference has a title, "
                "and a url, doi or pmid).")
    name = _REFERENCE_PARTS.get(str(part), str(part))
    if kind in ("missing", "string_too_short"):
        return "give the title of the study, guideline or page."
    if kind == "string_too_long":
        return f"{name} is too long (at most {err['ctx']['max_length']} characters)."
    if kind == "value_error" and isinstance(value, str) and "\x00" not in value:
        if part == "doi":
            return f"the DOI {_quoted(value)} is not a DOI (it should look like 10.1234/abcd)."
        if part == "url":
            return (f"the URL {_quoted(value)} is not a web address (it should start with "
                    "https:// or http://).")
        if part == "pmid":
            return (f"the PMID {_quoted(value)} is not a PubMed ID (it should be digits only, "
                    "like 31234567).")
    if kind == "value_error":
        return f"{name} contains a NUL character; remove it."
    return f"{name} must be text."


class _Problems:
    """Every problem with an input, each with its machine ``field`` and a message a
    person reads, raised together as one ``ValidationFailed``."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.problems: list[dict[str, Any]] = []

    def add(self, field: str, short: str, message: str, **extra: Any) -> None:
        """``short``: the ``fields`` entry (stable, for machines); ``message``: for people."""
        self.fields.setdefault(field, short)
        self.problems.append({"code": "validation_failed", "message": message,
                              "field": field, **extra})

    def merge(self, exc: ValidationFailed) -> None:
        problems = exc.details.get("problems") or [
            {"code": "validation_failed", "message": exc.message}]
        self.fields.update(exc.details.get("fields") or {})
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            messages = [p["message"] for p in self.problems]
            raise ValidationFailed(" ".join(messages), fields=self.fields,
                                   problems=self.problems)


def _pydantic_problem(exc: ValidationError, root: str) -> ValidationFailed:
    found = _Problems()
    for e in exc.errors():
        path = _field_path(e["loc"], root)
        reason = e["msg"].removeprefix("Value error, ")
        said = "is required" if e["type"] == "missing" else reason.lower()
        found.add(path, reason, f"The {root}'s {path.removeprefix(root + '.')} {said}.")
    return ValidationFailed(" ".join(p["message"] for p in found.problems),
                            fields=found.fields, problems=found.problems)


def parse_references(raw: Any) -> list[dict[str, Any]]:
    """Validate a references list (as decoded from JSON) into canonical dicts.

    Every bad reference is reported, numbered from 1 as people count them (the
    ``field`` keeps the 0-based JSON path machines use; ``reference`` is the number)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed(
            "The references must be a list of objects.", fields={"references": "must be a list"}
        )
    if len(raw) > MAX_REFERENCES:
        raise ValidationFailed(
            f"An article may have at most {MAX_REFERENCES} references; this one has {len(raw)}.",
            fields={"references": f"at most {MAX_REFERENCES}"},
        )
    out = []
    found = _Problems()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            words = ("this is not a reference (it should be an object with a title and a "
                     "url, doi or pmid).")
            found.add(f"references[{i}]", "must be an object", f"Reference {i + 1}: {words}",
                      reference=i + 1, reason=words)
            continue
        try:
            ref = Reference.model_validate(item)
        except ValidationError as exc:
            for e in exc.errors():
                words = reference_words(e)
                found.add(_field_path(e["loc"], f"references[{i}]"),
                          e["msg"].removeprefix("Value error, "),
                          f"Reference {i + 1}: {words}", reference=i + 1, reason=words)
            continue
        out.append(ref.model_dump(exclude_none=True))
    found.raise_if_any()
    return out


def parse_generator(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationFailed(
            "The generator must be an object with a name (and a model and version).",
            fields={"generator": "must be an object"}
        )
    try:
        return Generator.model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise _pydantic_problem(exc, "generator") from None


def clean_title(title: Any) -> str:
    if not isinstance(title, str):
        raise ValidationFailed("The title must be text.", fields={"title": "must be text"})
    if "\x00" in title:
        raise ValidationFailed(
            "The title contains a NUL character; remove it.", fields={"title": "contains NUL"}
        )
    title = unicodedata.normalize("NFC", " ".join(title.split()))
    if len(title) > MAX_TITLE:
        raise ValidationFailed(
            f"The title is too long: at most {MAX_TITLE} characters (this one has "
            f"{len(title)}).",
            fields={"title": f"at most {MAX_TITLE} characters"},
        )
    return title


def clean_body(body: Any) -> str:
    if not isinstance(body, str):
        raise ValidationFailed("The body must be text.", fields={"body": "must be text"})
    # Only what is the same text either way: CRLF line ends (a browser's textarea sends
    # them) and the Unicode form (NFC). Nothing is trimmed or appended, so a pipeline's
    # hash of the body it sent, line ends LF and in NFC, is the revision's content hash
    # (before, trailing white space was cut and a newline appended).
    body = unicodedata.normalize("NFC", body.replace("\r\n", "\n"))
    if len(body) > MAX_BODY:
        raise ValidationFailed(
            f"The text is too long: at most {MAX_BODY} characters (this one has {len(body)}).",
            fields={"body": f"at most {MAX_BODY} characters"},
        )
    if "\x00" in body:
        raise ValidationFailed("The text contains a NUL character; remove it.",
                               fields={"body": "contains NUL"})
    return body


def clean_content(title: Any, body: Any, references: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """Title, body and references checked together: every problem is reported at once."""
    found = _Problems()
    clean: dict[str, Any] = {}
    for name, check in (("title", clean_title), ("body", clean_body),
                        ("references", parse_references)):
        value = {"title": title, "body": body, "references": references}[name]
        try:
            clean[name] = check(value)
        except ValidationFailed as exc:
            found.merge(exc)
    if "title" in clean and not clean["title"]:
        found.problems.insert(0, {"code": "validation_failed",
                                  "message": "Give the article a title.", "field": "title"})
        found.fields = {"title": "required", **found.fields}
    found.raise_if_any()
    return clean["title"], clean["body"], clean["references"]


def citation_numbers(body: str) -> list[int]:
    """Every reference number cited in the body, in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(body):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = re.split(r"\s*[\u2013-]\s*", part)
            lo, hi = int(bounds[0]), int(bounds[-1])
            if hi < lo or hi - lo > 50:
                hi = lo
            for n in range(lo, hi + 1):
                seen.setdefault(n, None)
    return list(seen)


def dangling_citations(body: str, reference_count: int) -> list[int]:
    """Citation numbers in the body that name no reference."""
    return [n for n in citation_numbers(body) if n < 1 or n > reference_count]
