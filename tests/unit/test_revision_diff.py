"""Word-level revision diffs as data: both sides rebuild exactly, words are counted, and
the comparison goes down to the changed words of long texts."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from review_flow.articles import diff as diff_module
from review_flow.articles.diff import diff_revisions, diff_text


def _sides(d: diff_module.FieldDiff) -> tuple[str, str, str, str]:
    old = "".join(s.text for s in d.inline if s.op != "insert")
    new = "".join(s.text for s in d.inline if s.op != "delete")
    left = "".join(s.text for row in d.rows for s in row[0])
    right = "".join(s.text for row in d.rows for s in row[1])
    return old, new, left, right


def test_a_changed_word_is_marked_in_place() -> None:
    d = diff_text("Body", "High blood pressure [1].\n", "High blood sugar [1].\n")
    assert [(s.op, s.text) for s in d.inline] == [
        ("equal", "High blood "), ("delete", "pressure "), ("insert", "sugar "),
        ("equal", "[1].\n")]
    assert (d.inserted, d.deleted) == (1, 1)
    assert d.rows == [([d.inline[0], d.inline[1], d.inline[3]],
                       [d.inline[0], d.inline[2], d.inline[3]])]


def test_a_new_paragraph_is_one_insertion_on_a_row_of_its_own() -> None:
    old = "First paragraph.\n\nLast paragraph.\n"
    new = "First paragraph.\n\nA new one here.\n\nLast paragraph.\n"
    d = diff_text("Body", old, new)
    assert [(s.op, s.text) for s in d.inline] == [
        ("equal", "First paragraph.\n\n"), ("insert", "A new one here.\n\n"),
        ("equal", "Last paragraph.\n")]
    assert d.rows[1] == ([], [d.inline[1]])
    assert (d.inserted, d.deleted) == (4, 0)


def test_unchanged_text_has_no_changes() -> None:
    d = diff_text("Title", "Same", "Same")
    assert not d.changed and _sides(d) == ("Same",) * 4


@pytest.mark.parametrize("vocabulary", [12, 3000])
def test_long_texts_rebuild_exactly_from_both_views(vocabulary: int) -> None:
    """Scattered edits, one long paragraph, a rewrite: the pieces are the texts."""
    rng = random.Random(vocabulary)
    words = [f"w{i}" for i in range(vocabulary)]

    def para(n: int) -> str:
        return " ".join(rng.choices(words, k=n)).replace(" w3 ", ". W3 ") + "."

    old = "\n\n".join(para(60) for _ in range(300))
    edited = old.split(" ")
    for _ in range(100):
        edited[rng.randrange(len(edited))] = "CHANGED"
    for new in (" ".join(edited), old.replace("\n\n", " "),
                "\n\n".join(para(60) for _ in range(300))):
        d = diff_text("Body", old, new)
        assert _sides(d) == (old, new, old, new)


def test_scattered_edits_in_a_long_paragraph_are_found_word_by_word() -> None:
    """A paragraph too long to compare word against word in one go is compared
    sentence by sentence first: the changed words alone are marked."""
    sentences = [f"Sentence {i} says something about dose {i} mg." for i in range(400)]
    old = " ".join(sentences)
    new = old.replace("dose 17 mg", "dose 71 mg").replace("dose 300 mg", "dose 30 mg")
    d = diff_text("Body", old, new)
    assert [s.text for s in d.inline if s.op == "delete"] == ["17 ", "300 "]
    assert [s.text for s in d.inline if s.op == "insert"] == ["71 ", "30 "]


def test_revisions_compare_title_body_and_references() -> None:
    a = SimpleNamespace(title="Blood pressure", body="Eat less salt [1].",
                        references=[{"title": "Guideline", "doi": "10.1/x"}])
    b = SimpleNamespace(title="High blood pressure", body="Eat less salt [1].",
                        references=[{"title": "Guideline 2024", "doi": "10.1/y"}])
    d = diff_revisions(a, b)
    assert [f.label for f in d.fields] == ["Title", "Body", "References"]
    assert [f.changed for f in d.fields] == [True, False, True]
    # "Blood" became "High blood"; "2024" and "y" came in, "x" went.
    assert d.changed and (d.inserted, d.deleted) == (4, 2)
