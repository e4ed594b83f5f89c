"""The policy's checklist, answered with each approval and stored with its decision.

Each item is answered "yes", "no" or "not applicable". A medical board needs the third:
an item such as "Plain-language version suitable for patients" does not apply to a
text written for clinicians, and forcing "yes" there would make the record lie. A "no"
refuses the approval (the reviewer means "request changes"), and so does an unanswered
item. The round's policy version names the items, so a policy changed mid-review does
not change what this round's reviewers answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from review_flow.db import table_of
from review_flow.errors import ValidationFailed
from review_flow.review_checks.models import ANSWERS, ChecklistAnswer

ANSWER_LABELS = {"yes": "Yes", "no": "No", "not_applicable": "Not applicable"}
# What people and files write for each answer.
_SPELLINGS = {
    "yes": "yes", "y": "yes", "true": "yes",
    "no": "no", "n": "no", "false": "no",
    "not_applicable": "not_applicable", "not applicable": "not_applicable",
    "n/a": "not_applicable", "na": "not_applicable",
}


def _answer(item: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    spelled = _SPELLINGS.get(value.strip().lower()) if isinstance(value, str) else None
    if spelled is None:
        raise ValidationFailed(
            f"Checklist: the answer to “{item}” must be yes, no or not applicable.",
            code="invalid_checklist", fields={f"checklist[{item}]": "yes, no or not_applicable"})
    return spelled


def parse(raw: Any, items: Sequence[str]) -> dict[str, str]:
    """Answers given as ``{item: answer}`` or ``[{"item": …, "answer": …}]`` (None: none
    given). An item the checklist does not have is refused by name: an answer to an old
    version's wording must not pass for an answer to the new one."""
    if raw is None:
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(r, Mapping) for r in raw):
        pairs = [(r.get("item"), r.get("answer")) for r in raw]
    else:
        raise ValidationFailed(
            "Checklist: give the answers as an object of item → answer "
            "(yes, no or not_applicable).", code="invalid_checklist",
            fields={"checklist": "an object of item → answer"})
    known = set(items)
    out: dict[str, str] = {}
    for item, value in pairs:
        text = item.strip() if isinstance(item, str) else item
        if text not in known:
            listed = "; ".join(f"“{i}”" for i in items) or "none"
            raise ValidationFailed(
                f"Checklist: “{item}” is not an item of this round's checklist (its items: "
                f"{listed}).", code="unknown_checklist_item",
                fields={"checklist": f"unknown item {item!r}"})
        out[text] = _answer(text, value)
    return out


@dataclass(frozen=True)
class ChecklistProblems:
    unanswered: list[str]
    answered_no: list[str]

    def __bool__(self) -> bool:
        return bool(self.unanswered or self.answered_no)


def problems(answers: Mapping[str, str], items: Sequence[str]) -> ChecklistProblems:
    return ChecklistProblems([i for i in items if i not in answers],
                             [i for i in items if answers.get(i) == "no"])


def record(session: Session, decision_id: int, answers: Mapping[str, str],
           items: Sequence[str]) -> list[dict[str, str]]:
    """The answers' rows, in the checklist's order; returns them as the audit event
    carries them."""
    rows = [{"item": item, "answer": answers[item]} for item in items if item in answers]
    if rows:
        assert all(r["answer"] in ANSWERS for r in rows)
        # One executemany for all of them (the ORM would insert row by row for ids).
        session.execute(insert(table_of(ChecklistAnswer)), [
            {"decision_id": decision_id, "position": n, **r} for n, r in enumerate(rows, 1)])
    return rows


def answers_for(session: Session, decision_ids: Sequence[int]) -> dict[int, list[ChecklistAnswer]]:
    """Decision id → its answers in order (one query for a page of signatures)."""
    out: dict[int, list[ChecklistAnswer]] = {}
    if not decision_ids:
        return out
    for row in session.scalars(
        select(ChecklistAnswer).where(ChecklistAnswer.decision_id.in_(list(decision_ids)))
        .order_by(ChecklistAnswer.decision_id, ChecklistAnswer.position)
    ):
        out.setdefault(row.decision_id, []).append(row)
    return out
