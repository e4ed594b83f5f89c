"""The default review workflow as data: states, actions, who may take them, guards.

This table is the single definition. The engine (``engine.py``) builds the one shared
`transitions` machine from it, the service layer reads it for authorization and labels,
and the diagram on the editorial-policy page and in ``review-flow workflow show`` is
drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass

WORKFLOW_VERSION = "default/1"

STATES: tuple[str, ...] = (
    "draft",
    "submitted",
    "under_review",
    "changes_requested",
    "approved",
    "rejected",
    "retracted",
)
INITIAL_STATE = "draft"

# The public status stepper has three steps; states outside it show no step.
STEPPER: tuple[str, ...] = ("Submitted", "Under Review", "Approved")
STEP_OF_STATE: dict[str, str] = {
    "submitted": "Submitted",
    "changes_requested": "Submitted",
    "under_review": "Under Review",
    "approved": "Approved",
}


class Who:
    """Who may take an action. Authorization is checked by the service, never in guards."""

    ARTICLE_AUTHOR = "article_author"  # the person who created the article
    # The article's author, or an editor who wrote a revision of it: an editor who edits
    # approved text (a correction, an update) submits their own revision for review and
    # may withdraw it; separation of duties keeps them from reviewing it.
    AUTHOR_OR_REVISER = "author_or_revising_editor"
    REVIEWER = "reviewer"  # holds the reviewer role
    EDITOR = "editor"  # holds the editor role
    EDITOR_OR_SYSTEM = "editor_or_system"  # the sweep, or an editor


@dataclass(frozen=True)
class Action:
    name: str
    sources: tuple[str, ...]
    dest: str
    who: str
    label: str
    guards: tuple[str, ...] = ()
    needs_comment: bool = False
    needs_signature: bool = False
    # Separation of duties: refused to anyone who wrote a revision of the article.
    independent: bool = False
    # Reached only through approvals from distinct reviewers (policy.required_approvals).
    quorum: bool = False
    # Fired by the service as a consequence (editing approved text), never offered as a button.
    internal: bool = False
    signature_meaning: str | None = None


ACTIONS: tuple[Action, ...] = (
    Action(
        "submit",
        ("draft", "changes_requested"),
        "submitted",
        Who.AUTHOR_OR_REVISER,
        "Submit for review",
        guards=("has_title", "has_body", "has_reference", "citations_resolve"),
    ),
    Action(
        "withdraw",
        ("submitted", "under_review", "changes_requested"),
        "draft",
        Who.AUTHOR_OR_REVISER,
        "Withdraw",
    ),
    Action(
        "start_review",
        ("submitted",),
        "under_review",
        Who.REVIEWER,
        "Start review",
        independent=True,
    ),
    Action(
        "request_changes",
        ("under_review",),
        "changes_requested",
        Who.REVIEWER,
        "Request changes",
        guards=("comment_given",),
        needs_comment=True,
        independent=True,
    ),
    Action(
        "approve",
        ("under_review",),
        "approved",
        Who.REVIEWER,
        "Approve",
        guards=("not_already_approved", "review_checks_done", "references_checked",
                "checklist_answered", "no_open_blocking_threads"),
        needs_signature=True,
        independent=True,
        quorum=True,
        signature_meaning="I approve this revision as medically accurate",
    ),
    Action(
        "reject",
        ("under_review",),
        "rejected",
        Who.REVIEWER,
        "Reject",
        guards=("comment_given",),
        needs_comment=True,
        needs_signature=True,
        independent=True,
        signature_meaning="I reject this revision as not fit for publication",
    ),
    Action(
        "retract",
        ("approved",),
        "retracted",
        Who.EDITOR,
        "Retract",
        guards=("comment_given",),
        needs_comment=True,
    ),
    Action("reopen", ("rejected", "retracted"), "draft", Who.EDITOR, "Reopen"),
    Action(
        "request_rereview",
        ("approved",),
        "submitted",
        Who.EDITOR_OR_SYSTEM,
        "Request re-review",
        guards=("review_date_passed",),
    ),
    Action(
        "revise",
        ("approved",),
        "draft",
        Who.ARTICLE_AUTHOR,
        "Revise",
        internal=True,
    ),
)

ACTIONS_BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}
USER_ACTIONS: tuple[str, ...] = tuple(a.name for a in ACTIONS if not a.internal)
# The only actions the system actor (the sweep, ``actor.SystemActor``) may take.
SYSTEM_ACTIONS: tuple[str, ...] = tuple(a.name for a in ACTIONS if a.who == Who.EDITOR_OR_SYSTEM)
# States in which the text may be edited (a new revision); approved text moves to draft.
EDITABLE_STATES: tuple[str, ...] = ("draft", "changes_requested", "approved")
