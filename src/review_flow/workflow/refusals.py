"""Every reason an action is refused, gathered before any is raised.

A reviewer who signs with a wrong password, an unticked check and a declared conflict
should read all three at once, not one per try. The service collects each check's
refusal here (a domain error such as a wrong password, or a workflow guard's
:class:`~review_flow.workflow.engine.Problem`) and raises one error at the end:

- its class, status and ``code`` are the first refusal's (the order checks are added
  in is the order they were raised in one at a time, so clients matching on ``code``
  see what they saw before);
- its ``message`` is the first refusal's when there is one, else every message;
- ``details["problems"]`` lists each refusal as ``{"code", "message", **details}``;
- a refused password attempt rides along (``failed_signature``) for the entry point to
  record after the rollback, whatever came first.

To add a check: ``refusals.add(problem)`` or ``refusals.attempt(fn, ...)`` (a function
that raises a :class:`~review_flow.errors.ReviewFlowError`); workflow guards need
nothing more than their entry in ``engine.GUARDS``, which the service adds with
``refusals.extend(engine.problems_for(action, ctx))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from review_flow.errors import GuardFailed, ReviewFlowError
from review_flow.workflow.engine import Problem


class Refusals:
    __slots__ = ("_errors",)

    def __init__(self) -> None:
        self._errors: list[ReviewFlowError] = []

    def __bool__(self) -> bool:
        return bool(self._errors)

    def __len__(self) -> int:
        return len(self._errors)

    def add_error(self, exc: ReviewFlowError | None) -> None:
        if exc is not None and all(e.code != exc.code for e in self._errors):
            self._errors.append(exc)

    def add(self, problem: Problem | None) -> None:
        if problem is not None:
            self.add_error(GuardFailed(problem.message, code=problem.code, **problem.details))

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def attempt(self, check: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``check``; a named refusal it raises is collected instead of raised."""
        try:
            check(*args, **kwargs)
        except ReviewFlowError as exc:
            self.add_error(exc)

    def problems(self) -> list[dict[str, Any]]:
        return [{"code": e.code, "message": e.message, **_own(e.details)} for e in self._errors]

    def raise_if_any(self) -> None:
        if not self._errors:
            return
        first = self._errors[0]
        message = first.message if len(self._errors) == 1 else " ".join(
            f"({n}) {e.message}" for n, e in enumerate(self._errors, start=1))
        combined = type(first)(message, code=first.code, **_own(first.details),
                               problems=self.problems())
        combined.status = first.status
        failed = next((f for e in self._errors
                       if (f := getattr(e, "failed_signature", None)) is not None), None)
        if failed is not None:
            combined.failed_signature = failed  # type: ignore[attr-defined]
        raise combined


def _own(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k != "problems"}
