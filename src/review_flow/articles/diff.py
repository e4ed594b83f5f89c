"""Word-level differences between two revisions: title, both texts and references.

The text is compared the way a reader scans it: lines first, so a new paragraph shows as
one insertion and not stitched into its neighbours; a changed line's sentences next, so a
long paragraph edited in one place is not compared word against word in full; then the
words of what still differs (``difflib`` on word, space and punctuation tokens). The
result is plain data, segments marked equal, insert or delete, arranged both inline and
side by side; the page escapes every character of it (no markup is built here).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from review_flow.articles.rendering import references_text

Op = Literal["equal", "insert", "delete"]

# A word or a punctuation mark with the spaces after it (not line breaks): a lone space
# would be the commonest token by far, which is what makes difflib slow.
_WORD = re.compile(r"\w+[^\S\n]*|[^\w\s][^\S\n]*|\s+")
# A line with the blank lines after it: a blank line alone would be the commonest line,
# and difflib's time grows with how often its items repeat.
_LINE = re.compile(r"[^\n]*\n+|[^\n]+$")
# A sentence with the spaces after it; the text's own pieces, so joining gives it back.
_SENTENCE = re.compile(r"[^.!?;\n]*(?:[.!?;]+|\n|$)\s*")
# Above this many tokens a side, a changed block is compared sentence by sentence first.
_SPLIT_ABOVE = 400
# Sentences that differ are compared word by word up to this many tokens a side; past it
# (a rewritten passage) difflib's time grows with the product of the sides.
_WORDS_AT_MOST = 3_000


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass
class FieldDiff:
    """One field's differences: ``inline`` is the new text with removals in place;
    ``rows`` pairs the old side's pieces (equal, delete) with the new side's (equal,
    insert), one row per line or changed block."""

    label: str
    inline: list[Segment] = field(default_factory=list)
    rows: list[tuple[list[Segment], list[Segment]]] = field(default_factory=list)
    inserted: int = 0
    deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.deleted)


def _count(tokens: list[str]) -> int:
    """Words only: punctuation and whitespace are not counted."""
    return sum(1 for t in tokens if t[0].isalnum() or t[0] == "_")


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [p for p in pattern.findall(text) if p]


class _Builder:
    def __init__(self, out: FieldDiff) -> None:
        self.out = out
        self.left: list[Segment] = []
        self.right: list[Segment] = []

    def equal(self, text: str) -> None:
        self.out.inline.append(Segment("equal", text))
        self.left.append(Segment("equal", text))
        self.right.append(Segment("equal", text))

    def delete(self, text: str, words: int) -> None:
        self.out.inline.append(Segment("delete", text))
        self.left.append(Segment("delete", text))
        self.out.deleted += words

    def insert(self, text: str, words: int) -> None:
        self.out.inline.append(Segment("insert", text))
        self.right.append(Segment("insert", text))
        self.out.inserted += words

    def row(self) -> None:
        if self.left or self.right:
            self.out.rows.append((self.left, self.right))
        self.left, self.right = [], []


def _compare(a: list[str], b: list[str], build: _Builder, *, level: int) -> None:
    """Match the token lists ``a`` and ``b`` and compare what differs a level finer
    (0: lines, 1: sentences, 2: words)."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            if level == 0:
                for line in a[i1:i2]:
                    build.equal(line)
                    build.row()
            else:
                build.equal(old)
            continue
        if op == "replace" and level < 2:
            words_a, words_b = _pieces(old, _WORD), _pieces(new, _WORD)
            size = max(len(words_a), len(words_b))
            if size <= _SPLIT_ABOVE or (level == 1 and size <= _WORDS_AT_MOST):
                _compare(words_a, words_b, build, level=2)
            elif level == 0:
                _compare(_pieces(old, _SENTENCE), _pieces(new, _SENTENCE), build, level=1)
            else:  # a rewrite too long to match word by word: shown removed and added
                build.delete(old, _count(words_a))
                build.insert(new, _count(words_b))
        else:
            if old:
                build.delete(old, _count(_pieces(old, _WORD)))
            if new:
                build.insert(new, _count(_pieces(new, _WORD)))
        if level == 0:
            build.row()


def diff_text(label: str, old: str, new: str) -> FieldDiff:
    out = FieldDiff(label)
    build = _Builder(out)
    _compare(_pieces(old, _LINE), _pieces(new, _LINE), build, level=0)
    build.row()
    return out


@dataclass(frozen=True)
class RevisionDiff:
    fields: list[FieldDiff]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.fields)

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.fields)

    @property
    def deleted(self) -> int:
        return sum(f.deleted for f in self.fields)


def diff_revisions(old: Any, new: Any) -> RevisionDiff:
    """Title, both audience texts and references of two revisions (anything with those
    attributes): everything the content hash covers, so everything a signer signs. The
    professional text is listed only when either revision has one."""
    fields = [
        diff_text("Title", old.title, new.title),
        diff_text("Body", old.body, new.body),
    ]
    old_pro = getattr(old, "professional_body", None) or ""
    new_pro = getattr(new, "professional_body", None) or ""
    if old_pro or new_pro:
        fields.append(diff_text("Text for healthcare professionals", old_pro, new_pro))
    fields.append(diff_text("References", references_text(old.references),
                            references_text(new.references)))
    return RevisionDiff(fields)
