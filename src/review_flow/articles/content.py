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


def _pydantic_problem(exc: ValidationError, root: str) -> ValidationFailed:
    fields = {
        _field_path(e["loc"], root): e["msg"].removeprefix("Value error, ") for e in exc.errors()
    }
    first = next(iter(fields.items()))
    return ValidationFailed(f"{first[0]}: {first[1]}", fields=fields)


def parse_references(raw: Any) -> list[dict[str, Any]]:
    """Validate a references list (as decoded from JSON) into canonical dicts."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed(
            "references: must be a list of objects", fields={"references": "must be a list"}
        )
    if len(raw) > MAX_REFERENCES:
        raise ValidationFailed(
            f"references: at most {MAX_REFERENCES} allowed",
            fields={"references": f"at most {MAX_REFERENCES}"},
        )
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationFailed(
                f"references[{i}]: must be an object",
                fields={f"references[{i}]": "must be an object"},
            )
        try:
            ref = Reference.model_validate(item)
        except ValidationError as exc:
            raise _pydantic_problem(exc, f"references[{i}]") from None
        out.append(ref.model_dump(exclude_none=True))
    return out


def parse_generator(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationFailed(
            "generator: must be an object", fields={"generator": "must be an object"}
        )
    try:
        return Generator.model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise _pydantic_problem(exc, "generator") from None


def clean_title(title: Any) -> str:
    if not isinstance(title, str):
        raise ValidationFailed("title: must be text", fields={"title": "must be text"})
    if "\x00" in title:
        raise ValidationFailed(
            "title: must not contain NUL characters", fields={"title": "contains NUL"}
        )
    title = unicodedata.normalize("NFC", " ".join(title.split()))
    if len(title) > MAX_TITLE:
        raise ValidationFailed(
            f"title: at most {MAX_TITLE} characters",
            fields={"title": f"at most {MAX_TITLE} characters"},
        )
    return title


def clean_body(body: Any) -> str:
    if not isinstance(body, str):
        raise ValidationFailed("body: must be text", fields={"body": "must be text"})
    # Only what is the same text either way: CRLF line ends (a browser's textarea sends
    # them) and the Unicode form (NFC). Nothing is trimmed or appended, so a pipeline's
    # hash of the body it sent, line ends LF and in NFC, is the revision's content hash
    # (before, trailing white space was cut and a newline appended).
    body = unicodedata.normalize("NFC", body.replace("\r\n", "\n"))
    if len(body) > MAX_BODY:
        raise ValidationFailed(
            f"body: at most {MAX_BODY} characters",
            fields={"body": f"at most {MAX_BODY} characters"},
        )
    if "\x00" in body:
        raise ValidationFailed("body: contains a NUL character", fields={"body": "contains NUL"})
    return body


def clean_professional_body(text: Any) -> str | None:
    """The optional text for healthcare professionals, cleaned as the body is; None when
    absent or blank, the one spelling of "no professional text" (the content hash leaves
    it out then, so a revision without one keeps the hash it always had)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValidationFailed(
            "professional_body: the text for healthcare professionals must be text",
            fields={"professional_body": "must be text"},
        )
    try:
        cleaned = clean_body(text)
    except ValidationFailed as exc:
        problem = exc.message.removeprefix("body: ")
        raise ValidationFailed(
            f"professional_body: the text for healthcare professionals {problem}",
            fields={"professional_body": problem},
        ) from None
    return cleaned if cleaned.strip() else None


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
