"""Who may take which workflow action: the one place these rules live.

Kept out of the `transitions` guards on purpose: a guard says whether the *article* is
ready; this says whether the *person* may act. Each refusal names its rule.
"""

from __future__ import annotations

from review_flow.actor import Actor, AnyActor, SystemActor
from review_flow.errors import PermissionDenied
from review_flow.users.roles import Role
from review_flow.workflow.definition import ACTIONS, SYSTEM_ACTIONS, Action, Who

# What a reviewer's action does to an article, in words ("you may not review it").
INDEPENDENT_WORDS = {
    "start_review": "review it",
    "request_changes": "request changes to it",
    "approve": "approve it",
    "reject": "reject it",
}


def system_refusal(what: str) -> PermissionDenied:
    """The error for anything the system actor may not do: it acts only where the
    workflow definition opens an action to the system, and never signs or writes text."""
    allowed = ", ".join(a.label.lower() for a in ACTIONS if a.name in SYSTEM_ACTIONS)
    return PermissionDenied(
        f"The system account ({SystemActor.name}) is not allowed this ({what.lower()}); "
        f"it may only {allowed}.",
        code="system_actor_not_allowed",
        allowed=list(SYSTEM_ACTIONS),
    )


def person(actor: AnyActor, what: str) -> Actor:
    """``actor`` as a person, for what only a person can do (sign); the system is refused."""
    if isinstance(actor, SystemActor):
        raise system_refusal(what)
    return actor


def refusal(
    action: Action, actor: AnyActor, *, article_author_id: int, wrote_revision: bool
) -> PermissionDenied | None:
    """None if ``actor`` may take ``action`` on the article, else the error to raise."""
    verb = action.label
    if actor.is_system:
        return None if action.name in SYSTEM_ACTIONS else system_refusal(verb)
    if action.who == Who.ARTICLE_AUTHOR:
        if actor.id != article_author_id:
            return PermissionDenied(
                f"Only the article's author may {verb.lower()}.",
                code="not_the_author",
                rule="article_author",
            )
    elif action.who == Who.AUTHOR_OR_REVISER:
        if actor.id != article_author_id and not (wrote_revision
                                                   and actor.has_role(Role.EDITOR)):
            return PermissionDenied(
                f"Only the article's author, or an editor who revised it, may "
                f"{verb.lower()}.",
                code="not_the_author",
                rule="author_or_revising_editor",
            )
    elif action.who == Who.REVIEWER and not actor.has_role(Role.REVIEWER):
        return PermissionDenied(
            f"Only reviewers can {verb.lower()}.", code="role_required", role="reviewer"
        )
    elif action.who in (Who.EDITOR, Who.EDITOR_OR_SYSTEM) and not actor.has_role(Role.EDITOR):
        return PermissionDenied(
            f"Only editors can {verb.lower()}.", code="role_required", role="editor"
        )
    if action.independent and (wrote_revision or actor.id == article_author_id):
        return PermissionDenied(
            f"Separation of duties: you wrote or edited this article, so you may not "
            f"{INDEPENDENT_WORDS.get(action.name, verb.lower() + ' it')}.",
            code="separation_of_duties",
            rule="separation_of_duties",
        )
    return None


def may_edit(actor: AnyActor, *, article_author_id: int) -> PermissionDenied | None:
    if actor.is_system:
        return system_refusal("Editing an article")
    if actor.id == article_author_id or actor.has_role(Role.EDITOR):
        return None
    return PermissionDenied(
        "Only the article's author or an editor may edit it.",
        code="not_the_author",
        rule="article_author_or_editor",
    )


def may_create(actor: AnyActor) -> PermissionDenied | None:
    if actor.is_system:
        return system_refusal("Creating an article")
    if actor.has_role(Role.AUTHOR) or actor.has_role(Role.EDITOR):
        return None
    return PermissionDenied(
        "Creating articles requires the author role.", code="role_required", role="author"
    )


def may_comment(actor: AnyActor, *, article_author_id: int) -> PermissionDenied | None:
    if actor.is_system:
        return system_refusal("Commenting")
    if (
        actor.id == article_author_id
        or actor.has_role(Role.REVIEWER)
        or actor.has_role(Role.EDITOR)
    ):
        return None
    return PermissionDenied(
        "Only the author, reviewers and editors may comment.", code="role_required", role="reviewer"
    )
