"""Who may do what with comment threads: the one place these rules live.

Anyone on the article takes part (opens threads, replies): its author, whoever wrote a
revision of it, editors, and reviewers: any reviewer where the board's policy lets anyone
review, only the reviewers who accepted a place in the current round where it requires
assignment (``participation.standing``). Only a reviewer who did not write it may make a
thread blocking (a blocking thread holds back approval, so it is a reviewer's call and
separation of duties applies). A thread is settled (resolved, reopened) by the person
who opened it or by the article's author, as in a code review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from review_flow.actor import AnyActor
from review_flow.errors import PermissionDenied
from review_flow.threads.models import CommentThread
from review_flow.users.roles import Role
from review_flow.workflow.permissions import system_refusal

if TYPE_CHECKING:  # participation reads the round and asks ``take_part``
    from review_flow.threads.participation import Standing

NOT_ASSIGNED = ("Only reviewers assigned to this review can comment; ask the managing "
                "editor to assign you.")


def needs_standing(actor: AnyActor, *, article_author_id: int, wrote_revision: bool) -> bool:
    """Whether ``take_part`` could turn on the actor's place in the round (a reviewer who
    is neither the writer nor an editor): only then is the round read."""
    return (not actor.is_system and actor.id != article_author_id and not wrote_revision
            and actor.has_role(Role.REVIEWER) and not actor.has_role(Role.EDITOR))


def take_part(actor: AnyActor, *, article_author_id: int, wrote_revision: bool,
              standing: Standing | None = None) -> PermissionDenied | None:
    """``standing``: the actor's place in the current round (None: as if the policy did
    not require assignment)."""
    if actor.is_system:
        return system_refusal("Commenting")
    if actor.id == article_author_id or wrote_revision or actor.has_role(Role.EDITOR):
        return None
    if actor.has_role(Role.REVIEWER):
        if standing is None or not standing.requires_assignment or standing.assigned:
            return None
        return PermissionDenied(NOT_ASSIGNED, code="assignment_required",
                                rule="require_assignment")
    return PermissionDenied(
        "Only the article's author, its reviewers and editors may comment on it.",
        code="not_on_article",
    )


def mark_blocking(actor: AnyActor, *, article_author_id: int,
                  wrote_revision: bool) -> PermissionDenied | None:
    if not actor.has_role(Role.REVIEWER):
        return PermissionDenied(
            "Only a reviewer may mark a comment as blocking.", code="role_required",
            role="reviewer")
    if actor.id == article_author_id or wrote_revision:
        return PermissionDenied(
            "Separation of duties: you wrote or edited this article, so your comments "
            "cannot block its approval.", code="separation_of_duties")
    return None


def settle(actor: AnyActor, thread: CommentThread, *, article_author_id: int,
           verb: str) -> PermissionDenied | None:
    """May ``actor`` resolve or reopen ``thread`` (``verb`` says which)?"""
    if actor.is_system:
        return system_refusal(f"To {verb} a comment thread")
    if actor.id in (thread.opened_by_id, article_author_id):
        return None
    return PermissionDenied(
        f"Only the article's author or {thread.opened_by.name}, who opened this thread, "
        f"may {verb} it.", code="not_thread_party")
