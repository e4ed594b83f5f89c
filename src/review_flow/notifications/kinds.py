"""The e-mail kinds people can receive, and their text.

An open registry: the policy work adds ``assignment`` and ``overdue`` by adding entries
here (and a trigger), and each user's opt-outs refer to these names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmailKind:
    name: str
    label: str  # what the preferences page and CLI show
    subject: str  # str.format over the payload
    render: Callable[[dict[str, Any], str], str]


# Where a reviewer or author opens the article in the web UI (relative to the base URL).
REVIEW_PATH = "/review/{id}"
# Where a person turns kinds of e-mail off (web/account.py).
SETTINGS_PATH = "/account/notifications"


def _link(p: dict[str, Any], base_url: str) -> str:
    path = REVIEW_PATH.format(id=p["article"]["id"], slug=p["article"]["slug"])
    return f"{base_url.rstrip('/')}{path}" if base_url else ""


def _footer(p: dict[str, Any], base_url: str) -> str:
    link = _link(p, base_url)
    settings = f"{base_url.rstrip('/')}{SETTINGS_PATH}" if base_url else ""
    return (
        (f"\nOpen it: {link}\n" if link else "")
        + "\nYou receive this because of your role in the editorial review. "
        "You can turn this kind of e-mail off in your notification settings"
        + (f": {settings}\n" if settings else ".\n")
    )


def _review_requested(p: dict[str, Any], base_url: str) -> str:
    from review_flow.notifications.board_mail import requested

    a = p["article"]
    line = {"title": a["title"], "revision": a["revision"], "actor": p["actor"],
            "system": p.get("system", False), "action": p.get("action")}
    return (
        f"Hello {p['to_name']},\n\n"
        f"{requested(line)}.\n"
        "It waits for a member of the Medical Advisory Board to start the review.\n"
        + _footer(p, base_url)
    )


def _changes_requested(p: dict[str, Any], base_url: str) -> str:
    a = p["article"]
    return (
        f"Hello {p['to_name']},\n\n"
        f'{p["actor"]} asked for changes to "{a["title"]}" (revision {a["revision"]}):\n\n'
        + "".join(f"    {line}\n" for line in (p.get("comment") or "").splitlines())
        + "\nSave a new revision and submit it again when it is ready.\n"
        + _footer(p, base_url)
    )


def _approved(p: dict[str, Any], base_url: str) -> str:
    a = p["article"]
    return (
        f"Hello {p['to_name']},\n\n"
        f'"{a["title"]}" (revision {a["revision"]}, {a["content_hash"]}) was approved; '
        f"the last signature was by {p['actor']}.\n"
        "The approved text is now what readers see.\n" + _footer(p, base_url)
    )


def _rejected(p: dict[str, Any], base_url: str) -> str:
    a = p["article"]
    return (
        f"Hello {p['to_name']},\n\n"
        f'{p["actor"]} rejected "{a["title"]}" (revision {a["revision"]}). The reason given:\n\n'
        + "".join(f"    {line}\n" for line in (p.get("comment") or "").splitlines())
        + "\nAn editor can reopen it as a draft.\n"
        + _footer(p, base_url)
    )


# Where the author opens their article in the editor (the review pages are not theirs).
EDIT_PATH = "/write/{id}"


def _revised_by_editor(p: dict[str, Any], base_url: str) -> str:
    a = p["article"]
    approved = a.get("approved_revision") or {}
    link = f"{base_url.rstrip('/')}{EDIT_PATH.format(id=a['id'])}" if base_url else ""
    return (
        f"Hello {p['to_name']},\n\n"
        f'{p["actor"]} revised the approved text of your article "{a["title"]}": '
        f"revision {a['revision']} is a draft now.\n"
        + (f"Readers keep seeing the approved revision {approved['number']} until the new "
           "one is approved.\n" if approved else "")
        + f"You or {p['actor']} may submit it for review; as its reviser, "
        f"{p['actor']} may not review it.\n"
        + (f"\nOpen it: {link}\n" if link else "")
        + "\nYou receive this because you are the article's author. You can turn this kind "
        "of e-mail off in your notification settings"
        + (f": {base_url.rstrip('/')}{SETTINGS_PATH}\n" if base_url else ".\n")
    )


def _thread_activity(p: dict[str, Any], base_url: str) -> str:
    from review_flow.notifications import thread_mail

    return thread_mail.body(p, base_url)


EMAIL_KINDS: dict[str, EmailKind] = {
    k.name: k
    for k in (
        EmailKind(
            "review_requested",
            "An article I may review was submitted",
            "Review requested: {title}",
            _review_requested,
        ),
        EmailKind(
            "changes_requested",
            "A reviewer asked for changes to my article",
            "Changes requested: {title}",
            _changes_requested,
        ),
        EmailKind("approved", "My article was approved", "Approved: {title}", _approved),
        EmailKind("rejected", "My article was rejected", "Rejected: {title}", _rejected),
        EmailKind(
            "revised_by_editor",
            "An editor revised my approved article",
            "Revised by an editor: {title}",
            _revised_by_editor,
        ),
        EmailKind(
            "thread_activity",
            "Someone commented on a review I take part in",
            "Comment thread: {title}",
            _thread_activity,
        ),
    )
}


def render(payload: dict[str, Any], base_url: str = "",
           open_sealed: Callable[[str], str] | None = None) -> tuple[str, str]:
    """(subject, plain text) of an e-mail outbox payload; ``open_sealed`` opens a sealed
    value in it (an invitation's link, ``notifications/account_mail.py``)."""
    from review_flow.notifications import account_mail, assignment_mail, board_mail, thread_mail

    account = account_mail.render(payload, base_url, open_sealed)
    if account is not None:
        return account
    duty = assignment_mail.render(payload, base_url)
    if duty is not None:
        return duty
    thread = thread_mail.render(payload, base_url)
    if thread is not None:
        return thread
    digest = board_mail.render(payload, base_url)
    if digest is not None:
        return digest
    kind = EMAIL_KINDS[payload["kind"]]
    subject = kind.subject.format(title=payload["article"]["title"])
    return " ".join(subject.split())[:200], kind.render(payload, base_url)
