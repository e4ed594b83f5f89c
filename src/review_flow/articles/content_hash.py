"""The content hash an approval signs: its one definition, free of slow imports.

SHA-256 over compact, key-sorted JSON (``ensure_ascii=False``) of the title, body and
references, plus ``professional_body`` (the text for healthcare professionals) when the
revision has one. ``audit verify`` re-hashes every revision with it, in worker processes
that import only this module, so it lives apart from the validation code in ``content.py``.

Why the professional text joins the document only when present, rather than a hash
format version recorded on each revision: every hash stored before audience texts
existed, and every signature and audit event naming one, stays exactly what it was
(a revision without a professional text hashes to the same bytes as before), and there
is still one definition with no version to choose or to forge. The two forms cannot
collide: a document with the key is never a document without it. A revision with a
professional text is signed over both texts, so changing either changes the hash.
An empty professional text is stored as none (``articles/writes.py``), so "absent" has
one spelling.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any


def _document(title: Any, body: Any, references: Any, professional_body: Any) -> dict[str, Any]:
    doc = {"title": title, "body": body, "references": references}
    if professional_body is not None:
        doc["professional_body"] = professional_body
    return doc


def _reference(title: str, body: str, references: list[dict[str, Any]],
               professional_body: str | None = None) -> str:
    """The definition, spelled with ``json.dumps`` (kept for tests and interpreters
    without the C encoder)."""
    canonical = json.dumps(
        _document(title, body, references, professional_body),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _refuse(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


if c_make_encoder is not None:
    # The encoder ``json.dumps`` builds on every call with these options, built once: the
    # same bytes (same escaping, key order, separators and float form), a third the time.
    _encode = c_make_encoder(None, _refuse, encode_basestring, None, ":", ",", True, False, True)
    _sha256 = hashlib.sha256

    def content_hash(title: str, body: str, references: list[dict[str, Any]],
                     professional_body: str | None = None) -> str:
        text = "".join(_encode(_document(title, body, references, professional_body), 0))
        return "sha256:" + _sha256(text.encode("utf-8")).hexdigest()

    def encoded_references(references: Any) -> str:
        """The references' part of the canonical text, for :func:`content_hash_of`."""
        return "".join(_encode(references, 0))

    def content_hash_of(title: Any, body: Any, references_text: str, references: Any,
                        professional_body: Any = None) -> str:
        """:func:`content_hash` with the references already encoded (``references_text``,
        from :func:`encoded_references` of ``references``): ``audit verify`` re-hashes
        every revision, and an article's revisions mostly share their references.

        The same bytes: with sorted keys the encoder writes ``{"body":…,"references":…,
        "title":…}``, each text through ``encode_basestring``, exactly as spliced here.
        Anything but a plain ``str`` title and body takes the full encoder (which writes,
        or refuses, other types its own way).
        """
        if professional_body is not None:  # the rarer form: the full encoder
            return content_hash(title, body, references, professional_body)
        if type(title) is not str or type(body) is not str:
            return content_hash(title, body, references)
        text = (
            '{"body":' + encode_basestring(body) + ',"references":' + references_text
            + ',"title":' + encode_basestring(title) + "}"
        )
        return "sha256:" + _sha256(text.encode("utf-8")).hexdigest()
else:  # pragma: no cover - interpreters without the C accelerator
    content_hash = _reference

    def encoded_references(references: Any) -> str:
        return ""

    def content_hash_of(title: Any, body: Any, references_text: str, references: Any,
                        professional_body: Any = None) -> str:
        return _reference(title, body, references, professional_body)
