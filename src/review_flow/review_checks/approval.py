"""What an approval needs from the reviewer's checks, and what it leaves behind.

``prepare`` runs before the engine fires: it reads the references' checks and parses the
checklist answers, and fills the approval's guards (``references_checked`` and
``checklist_answered`` in ``workflow/engine.py``). ``record`` runs once the decision has
its id: the answers become rows of that decision and the audit event says what was
answered and checked. ``articles.actions`` calls both; the rules live here.

The policy's ``review_checks`` switches are kept: ``references_verified`` now means
"every reference checked by the signer, as rows", ``checklist`` means "the checklist's
items answered, as rows" (answers are asked whenever the round's policy lists items),
and ``conflict_of_interest`` stays the declaration (``rounds/conflicts.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from review_flow.articles.models import Revision
from review_flow.policy.models import PolicySettings
from review_flow.review_checks import checklist, references

# The review checks still answered by the attestations dict (the others are records).
ATTESTED_CHECKS = ("conflict_of_interest",)


@dataclass
class ApprovalChecks:
    items: tuple[str, ...]
    answers: dict[str, str]
    references: references.ApprovalProblems
    checklist: checklist.ChecklistProblems
    reference_count: int
    require_references: bool

    def attestations(self, policy: PolicySettings, declared: Any) -> dict[str, Any]:
        """The decision's attestations, each backed by rows now (old decisions keep
        their bare flags and stay readable)."""
        out: dict[str, Any] = {}
        for check in policy.review_checks:
            if check == "conflict_of_interest":
                out[check] = declared
            elif check == "references_verified":
                out[check] = True  # the guard refused anything less
            elif check == "checklist" and self.items:
                out[check] = True
        return out


def prepare(session: Session, reviewer_id: int, revision: Revision, policy: PolicySettings,
            raw_answers: Any) -> ApprovalChecks:
    """Parse the answers (a named ValidationFailed on bad input) and find what stands in
    the approval's way; nothing is written."""
    items = policy.checklist
    answers = checklist.parse(raw_answers, items)
    require = "references_verified" in policy.review_checks
    states = references.states_for(session, revision)
    return ApprovalChecks(
        items=items,
        answers=answers,
        references=references.approval_problems(states, reviewer_id, require_checked=require),
        checklist=checklist.problems(answers, items),
        reference_count=len(states),
        require_references=require,
    )


def record(session: Session, checks: ApprovalChecks, decision_id: int) -> dict[str, Any]:
    """The checklist answers as rows of the decision; the audit event's part about them."""
    rows = checklist.record(session, decision_id, checks.answers, checks.items)
    out: dict[str, Any] = {}
    if rows:
        out["checklist"] = rows
    if checks.require_references:
        out["references_checked"] = checks.reference_count
    return out
