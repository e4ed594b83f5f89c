"""The registry of audit actions. Unknown actions are refused when written, so the
log's vocabulary stays a closed, documented set that grows on purpose."""

from __future__ import annotations

from review_flow.workflow.definition import ACTIONS

AUDIT_ACTIONS: dict[str, str] = {
    "article.create": "An article was created with its first revision.",
    "article.edit": "A new revision of an article was saved.",
    "comment.add": "A comment was added to an article.",
    "thread.open": "A comment thread was opened on a revision (its paragraph, quoted passage "
    "and whether it blocks approval are recorded).",
    "thread.reply": "A reply was posted to a comment thread.",
    "thread.resolve": "A comment thread was resolved.",
    "thread.reopen": "A resolved comment thread was reopened.",
    "user.create": "A user account was created.",
    "user.update": "A user account's roles or details changed (each field old → new).",
    "user.invite": "A one-time invitation link was e-mailed to a person (earlier open "
    "links of theirs stopped working).",
    "user.invitation_accept": "A person chose their password through their invitation link.",
    "auth.password_change_failed": "A person's own password change was refused: the current "
    "password was wrong, or changes were locked after too many wrong ones.",
    "policy.update": "A new version of the review policy was put in force.",
    "auth.sign_in": "A person signed in.",
    "auth.sign_in_failed": "A sign-in attempt failed.",
    "auth.sign_out": "A person signed out.",
    "auth.sign_out_everywhere": "A person ended all of their sign-in sessions.",
    "user.password_change": "A person's password was changed (their other sessions ended).",
    "user.deactivate": "A user account was deactivated (all its sessions ended).",
    "user.activate": "A deactivated user account was activated again.",
    "signature.failed": "A signature attempt was refused: wrong password, or signing locked "
    "after too many wrong ones (committed although the action was not).",
    "token.create": "An API token was created (only its hash is stored).",
    "token.revoke": "An API token was revoked.",
    "webhook.create": "A webhook endpoint was registered.",
    "webhook.update": "A webhook endpoint's URL, events or active flag changed.",
    "user.notifications": "A person turned e-mail notification kinds on or off.",
    "outbox.redrive": "Dead notifications were queued to be sent again.",
    "assignment.create": "An editor assigned a board member to review a round (invited).",
    "assignment.respond": "An assigned board member accepted or declined (with a reason).",
    "assignment.cancel": "An editor cancelled an assignment (or reassigned it).",
    "assignment.remind": "The sweep reminded a board member of an answer or review due soon "
    "or overdue (one record per assignment and kind of reminder).",
    "assignment.escalate": "The sweep escalated a long-overdue review to every active editor.",
    "assignment.lapse": "The sweep cancelled an invitation to review that nobody answered "
    "within the policy's invitation_expiry_days.",
    "user.invitation_expire": "The sweep recorded that a person's invitation link lapsed "
    "unused (the link is refused from then on).",
    "conflict.declare": "A reviewer declared a conflict of interest, or none, in a round.",
    "reference.check": "A reviewer marked a reference of the revision under review verified, "
    "or a problem (with a note).",
    "audit.checkpoint": "The chain head was signed as a checkpoint (the signed note is kept).",
    "audit.export": "Audit events were exported (the filter and format are recorded; the "
    "export holds the events before this one).",
    "audit.trail_review": "An auditor recorded \"audit trail reviewed\" for an article or a "
    "time range, with the first and last event it covered.",
    "audit.verify": "An integrity check (the chain walk and replay of `audit verify`) was "
    "started from the Integrity page.",
    "audit.verify_result": "An integrity check finished: its result, event count and chain "
    "head (or the first bad event).",
}
AUDIT_ACTIONS.update({f"article.{a.name}": f"Workflow action: {a.label}." for a in ACTIONS})


class UnknownAuditAction(ValueError):
    pass


def check_action(action: str) -> str:
    if action not in AUDIT_ACTIONS:
        raise UnknownAuditAction(
            f"unknown audit action {action!r}; register it in audit/actions.py"
        )
    return action
