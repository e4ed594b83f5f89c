"""Where a thread sits on a revision: the passage it quoted, found again.

As code-review tools do with comments on changed lines: on the revision it was opened
on a thread is where it was put; on a later one it follows its quoted text. The exact
text is looked for first (in the same paragraph, else the nearest one that has it);
failing that, a paragraph that is nearly the same as the quote (a whole-paragraph
anchor whose wording was touched up) takes it, marked as approximate. Otherwise the
thread is outdated: still listed, with the passage it quoted, but under no paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from review_flow.articles.paragraphs import Paragraph

# How alike a paragraph must be to a quoted whole paragraph to count as the same one.
FUZZY_RATIO = 0.8


@dataclass(frozen=True)
class Location:
    paragraph: int
    start: int | None = None  # offsets of the quote in the paragraph's Markdown
    end: int | None = None
    exact: bool = True


def locate(quote: str | None, paragraph: int | None, anchored_here: bool,
           paras: Sequence[Paragraph]) -> Location | None:
    """The thread's place in ``paras`` (a revision's paragraphs), or None: outdated.

    ``anchored_here``: ``paras`` are the revision the thread was opened on, where the
    paragraph number stands as given."""
    if paragraph is None:
        return None
    if anchored_here:
        return _with_offsets(quote, paras[paragraph - 1]) if paragraph <= len(paras) else None
    if not quote:
        return None
    having = [p for p in paras if quote in p.source]
    if having:
        best = min(having, key=lambda p: (abs(p.number - paragraph), p.number))
        return _with_offsets(quote, best)
    scored = []
    for p in paras:
        matcher = SequenceMatcher(None, quote, p.source, autojunk=False)
        if matcher.real_quick_ratio() >= FUZZY_RATIO and matcher.quick_ratio() >= FUZZY_RATIO:
            ratio = matcher.ratio()
            if ratio >= FUZZY_RATIO:
                scored.append((-ratio, abs(p.number - paragraph), p.number))
    if scored:
        return Location(min(scored)[2], exact=False)
    return None


def _with_offsets(quote: str | None, p: Paragraph) -> Location:
    at = p.source.find(quote) if quote else -1
    if at < 0 or not quote:
        return Location(p.number)
    return Location(p.number, at, at + len(quote))
