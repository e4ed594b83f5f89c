"""The quorum: the policy's rule evaluated over a round's approvals.

``required_approvals`` distinct approvers, of whom ``required_specialties`` (e.g.
``{"cardiology": 1}``) must come from approvers holding that specialty. One approver
fills at most one specialty place, so the places are matched to approvers (a small
bipartite matching) rather than counted per specialty, where one cardiologist-nephrologist
would otherwise count twice. Pure: no database, no Flask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def normalize_specialties(specialties: Iterable[str] | None) -> frozenset[str]:
    """Specialties as compared: stripped and lower-cased (policy keys are lower-cased)."""
    return frozenset(s.strip().lower() for s in (specialties or ()) if s and s.strip())


@dataclass(frozen=True)
class Quorum:
    approvals: int
    required_approvals: int
    # Specialty places not yet filled: {"cardiology": 1}.
    missing_specialties: dict[str, int] = field(default_factory=dict)

    @property
    def missing_approvals(self) -> int:
        return max(
            self.required_approvals - self.approvals, sum(self.missing_specialties.values())
        )

    @property
    def reached(self) -> bool:
        return self.missing_approvals == 0

    def still_missing(self) -> str | None:
        """What the round still needs, in words: "1 more approval from cardiology"."""
        total = self.missing_approvals
        if total == 0:
            return None
        noun = "approval" if total == 1 else "approvals"
        parts = [f"{n} from {name}" for name, n in sorted(self.missing_specialties.items())]
        special = sum(self.missing_specialties.values())
        if not parts:
            return f"{total} more {noun}"
        if special == total and len(parts) == 1:
            return f"{total} more {noun} from {sorted(self.missing_specialties)[0]}"
        return f"{total} more {noun} ({', '.join(parts)})"


def evaluate(
    approver_specialties: Iterable[frozenset[str]],
    *,
    required_approvals: int,
    required_specialties: Mapping[str, int],
) -> Quorum:
    """The quorum over distinct approvers, each given by their (normalized) specialties."""
    approvers = list(approver_specialties)
    places = [name for name, n in sorted(required_specialties.items()) for _ in range(n)]
    filled_by: dict[int, int] = {}  # place index -> approver index

    def place_for(a: int, seen: set[int]) -> bool:
        for p, name in enumerate(places):
            if name in approvers[a] and p not in seen:
                seen.add(p)
                if p not in filled_by or place_for(filled_by[p], seen):
                    filled_by[p] = a
                    return True
        return False

    for a in range(len(approvers)):
        place_for(a, set())
    missing = Counter(name for p, name in enumerate(places) if p not in filled_by)
    return Quorum(len(approvers), required_approvals, dict(missing))
