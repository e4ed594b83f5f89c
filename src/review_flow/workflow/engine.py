"""Drives the workflow definition with the `transitions` library.

One machine serves every article: it holds no models (``model=None``) and events are
fired as ``MACHINE.events[name].trigger(article, ctx=...)``. Building a machine per
article, or ``add_model`` on a long-lived one (which keeps strong references), would
cost time or memory on every load. ``auto_transitions=False``: no ``to_<state>()``
shortcut can skip a rule.

Guards are `transitions` conditions. A condition may only answer yes or no, so each
guard also records *why* it said no on the context; the service turns that into a
named :class:`~review_flow.errors.GuardFailed`.

Every guard of an action is asked before the machine fires (:func:`problems_for`), not
only up to the first refusal: a person sees every problem of an attempt at once. A new
guard is a function in ``GUARDS`` named in the action's ``guards`` (definition.py) that
reads what it needs from :class:`TransitionContext`; it needs nothing else to be listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from transitions import EventData, Machine

from review_flow.workflow import guard as state_guard
from review_flow.workflow.definition import ACTIONS, INITIAL_STATE, STATES, Action


@dataclass
class Problem:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class TransitionContext:
    """Everything a guard may look at. Filled by the service before firing."""

    action: Action
    title: str = ""
    body: str = ""
    reference_count: int = 0
    dangling_citations: list[int] = field(default_factory=list)
    comment: str | None = None
    already_approved_by_actor: bool = False
    approvals_after_this: int = 0
    required_approvals: int = 1
    # The round's quorum rule (rounds/quorum.py) evaluated with this approval; None
    # falls back to counting approvals.
    quorum_reached: bool | None = None
    required_checks: tuple[str, ...] = ()
    attestations: dict[str, Any] = field(default_factory=dict)
    # What the reviewer's check records leave open (review_checks/approval.py), in words.
    unchecked_references: list[str] = field(default_factory=list)
    problem_references: list[str] = field(default_factory=list)
    checklist_unanswered: list[str] = field(default_factory=list)
    checklist_answered_no: list[str] = field(default_factory=list)
    review_due: datetime | None = None
    now: datetime | None = None
    # The open blocking comment threads ({"id", "message"}), from threads/blocking.py.
    open_blocking_threads: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


GuardFn = Callable[[TransitionContext], Problem | None]


def _has_title(ctx: TransitionContext) -> Problem | None:
    if not ctx.title.strip():
        return Problem("missing_title", "Give the article a title before submitting it.")
    return None


def _has_body(ctx: TransitionContext) -> Problem | None:
    if not ctx.body.strip():
        return Problem("missing_body", "Write the article's text before submitting it.")
    return None


def _has_reference(ctx: TransitionContext) -> Problem | None:
    if ctx.reference_count < 1:
        return Problem(
            "missing_references", "Add at least one reference before submitting the article."
        )
    return None


def _citations_resolve(ctx: TransitionContext) -> Problem | None:
    if ctx.dangling_citations:
        markers = ", ".join(f"[{n}]" for n in ctx.dangling_citations)
        return Problem(
            "dangling_citation",
            f"The body cites {markers} but the article has {ctx.reference_count} "
            f"reference{'s' if ctx.reference_count != 1 else ''}.",
            {"markers": ctx.dangling_citations, "reference_count": ctx.reference_count},
        )
    return None


# What the comment of each action is for, said to the person who must write it.
COMMENT_WORDS = {
    "request_changes": "Write a comment telling the author what to change.",
    "reject": "Write a comment saying why you reject the article.",
    "retract": "Give the reason for the retraction: readers see it in place of the article.",
}


def _comment_given(ctx: TransitionContext) -> Problem | None:
    if not (ctx.comment or "").strip():
        return Problem("comment_required", COMMENT_WORDS.get(
            ctx.action.name, f"Write a comment to {ctx.action.label.lower()}."))
    return None


def _not_already_approved(ctx: TransitionContext) -> Problem | None:
    if ctx.already_approved_by_actor:
        return Problem("already_approved", "You have already approved this revision.")
    return None


# What a review check asks of the reviewer, in the words of the signature form.
CHECK_WORDS = {
    "checklist": "confirm that you completed the review checklist",
    "references_verified": "confirm that you verified every reference",
    "conflict_of_interest": "declare any conflict of interest (or write \u201cnone\u201d)",
}


def _review_checks_done(ctx: TransitionContext) -> Problem | None:
    missing = [c for c in ctx.required_checks if not ctx.attestations.get(c)]
    if missing:
        words = [CHECK_WORDS.get(c, c) for c in missing]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return Problem(
            "review_checks_missing",
            f"Before approving, this board's policy asks you to {listed}.",
            {"missing": missing},
        )
    return None


def _references_checked(ctx: TransitionContext) -> Problem | None:
    if not (ctx.unchecked_references or ctx.problem_references):
        return None
    return Problem(
        "reference_problem" if ctx.problem_references else "references_unchecked",
        "Approval refused: " + "; ".join(ctx.unchecked_references + ctx.problem_references)
        + ".",
        {"unchecked": ctx.unchecked_references, "marked_problem": ctx.problem_references},
    )


def _checklist_answered(ctx: TransitionContext) -> Problem | None:
    if not (ctx.checklist_unanswered or ctx.checklist_answered_no):
        return None
    parts = [f"checklist item “{i}” is not answered yet" for i in ctx.checklist_unanswered]
    parts += [f"you answered “no” to checklist item “{i}” (request changes instead)"
              for i in ctx.checklist_answered_no]
    return Problem(
        "checklist_answered_no" if ctx.checklist_answered_no else "checklist_unanswered",
        "Approval refused: " + "; ".join(parts) + ".",
        {"unanswered": ctx.checklist_unanswered, "answered_no": ctx.checklist_answered_no},
    )


def _review_date_passed(ctx: TransitionContext) -> Problem | None:
    if ctx.review_due is None or ctx.now is None or ctx.now < ctx.review_due:
        due = ctx.review_due.date().isoformat() if ctx.review_due else "not set"
        return Problem("review_not_due", f"The re-review date has not passed (due: {due}).")
    return None


def _no_open_blocking_threads(ctx: TransitionContext) -> Problem | None:
    threads = ctx.open_blocking_threads
    if not threads:
        return None
    said = " ".join(str(t["message"]) for t in threads)
    them = "it" if len(threads) == 1 else "them"
    return Problem("blocking_threads_open", f"{said} Resolve {them} before approving.",
                   {"threads": [t["id"] for t in threads]})


GUARDS: dict[str, GuardFn] = {
    "has_title": _has_title,
    "has_body": _has_body,
    "has_reference": _has_reference,
    "citations_resolve": _citations_resolve,
    "comment_given": _comment_given,
    "not_already_approved": _not_already_approved,
    "review_checks_done": _review_checks_done,
    "review_date_passed": _review_date_passed,
    "references_checked": _references_checked,
    "checklist_answered": _checklist_answered,
    "no_open_blocking_threads": _no_open_blocking_threads,
}


def _condition(name: str) -> Callable[[EventData], bool]:
    fn = GUARDS[name]

    def check(event: EventData) -> bool:
        ctx: TransitionContext = event.kwargs["ctx"]
        problem = fn(ctx)
        if problem is None:
            return True
        if all(p.code != problem.code for p in ctx.problems):
            ctx.problems.append(problem)
        return False

    check.__name__ = f"guard_{name}"
    return check


def _quorum_reached(event: EventData) -> bool:
    ctx: TransitionContext = event.kwargs["ctx"]
    if ctx.quorum_reached is not None:
        return ctx.quorum_reached
    return ctx.approvals_after_this >= ctx.required_approvals


def transition_table() -> list[dict[str, Any]]:
    """The definition as `transitions` transition dicts (also used to draw diagrams)."""
    table: list[dict[str, Any]] = []
    for action in ACTIONS:
        conditions = [_condition(g) for g in action.guards]
        if action.quorum:
            table.append(
                {
                    "trigger": action.name,
                    "source": list(action.sources),
                    "dest": action.dest,
                    "conditions": [*conditions, _quorum_reached],
                }
            )
            # Not enough approvals yet: the approval is recorded, the state stays.
            table.append(
                {
                    "trigger": action.name,
                    "source": list(action.sources),
                    "dest": None,
                    "conditions": conditions,
                }
            )
        else:
            table.append(
                {
                    "trigger": action.name,
                    "source": list(action.sources),
                    "dest": action.dest,
                    "conditions": conditions,
                }
            )
    return table


def _build_machine() -> Machine:
    return Machine(
        model=None,
        states=list(STATES),
        initial=INITIAL_STATE,
        transitions=transition_table(),
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )


MACHINE = _build_machine()


def can_fire(action: str, state: str) -> bool:
    """Does the definition have this action from this state (ignoring guards)?"""
    event = MACHINE.events.get(action)
    return event is not None and any(state == src for src in event.transitions)


def problems_for(action: str, ctx: TransitionContext) -> list[Problem]:
    """Every guard of ``action`` that refuses, in the definition's order (each once)."""
    spec = next(a for a in ACTIONS if a.name == action)
    found: list[Problem] = []
    for name in spec.guards:
        problem = GUARDS[name](ctx)
        if problem is not None and all(p.code != problem.code for p in found):
            found.append(problem)
    return found


def fire(article: Any, action: str, ctx: TransitionContext) -> bool:
    """Fire ``action`` on ``article``. True if a transition ran (its state may be unchanged
    for a partial approval); False if a guard refused, with every reason in
    ``ctx.problems`` (all guards are asked, not only up to the first refusal)."""
    ctx.problems = problems_for(action, ctx)
    if ctx.problems:
        return False
    with state_guard.assigning():
        return bool(MACHINE.events[action].trigger(article, ctx=ctx))
