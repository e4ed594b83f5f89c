"""Who may open which page: the one table of route permissions, and the ``can_*`` questions.

Every endpoint of the app must appear in :data:`ROUTE_RULES` (or belong to a blueprint in
:data:`BLUEPRINT_RULES`); a request to an endpoint without a rule is refused, and a test
walks ``app.url_map`` so a new route without a rule fails the suite.

These rules answer "may this person open this page at all". Whether they may take a
workflow action on a given article (author only, separation of duties, ...) is the
service layer's question (``workflow/permissions.py``); views never repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from review_flow.users.roles import Role


class Principal(Protocol):
    """What the rules look at: Flask-Login's current user (signed in or anonymous)."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def roles(self) -> frozenset[str]: ...


def can_write(user: Principal) -> bool:
    """Write drafts ("My articles", "New article")."""
    return user.is_authenticated and bool(user.roles & {Role.AUTHOR, Role.EDITOR})


def can_review(user: Principal) -> bool:
    """See the review queue and review pages (auditors read them; only reviewers act)."""
    return user.is_authenticated and bool(user.roles & {Role.REVIEWER, Role.EDITOR, Role.AUDITOR})


def can_see_review_due(user: Principal) -> bool:
    """The "Review due" list: editors, who ask for re-reviews and retract."""
    return user.is_authenticated and Role.EDITOR in user.roles


def can_manage_reviews(user: Principal) -> bool:
    """Assign board members, and see every article ("All articles")."""
    return user.is_authenticated and Role.EDITOR in user.roles


def can_read_audit_log(user: Principal) -> bool:
    return user.is_authenticated and bool(user.roles & {Role.AUDITOR, Role.EDITOR, Role.ADMIN})


def can_audit(user: Principal) -> bool:
    """"Signatures", "Integrity" and trail reviews: auditors and admins."""
    return user.is_authenticated and bool(user.roles & {Role.AUDITOR, Role.ADMIN})


def can_administer(user: Principal) -> bool:
    """People (roles, credentials, invitations), API tokens and webhooks."""
    return user.is_authenticated and Role.ADMIN in user.roles


def can_set_policy(user: Principal) -> bool:
    """The "Review policy" page: editors and admins (``policy.service.may_set_policy``
    says the same to the CLI, and refuses API tokens)."""
    return user.is_authenticated and bool(user.roles & {Role.EDITOR, Role.ADMIN})


def is_signed_in(user: Principal) -> bool:
    return user.is_authenticated


def anyone(_user: Principal) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    name: str
    allows: Callable[[Principal], bool]
    # Unsafe methods on this route authenticate by bearer token, not by session cookie,
    # so CSRF does not apply (the JSON API).
    token_auth: bool = False


PUBLIC = Rule("public", anyone)
SIGNED_IN = Rule("signed in", is_signed_in)
WRITER = Rule("author or editor", can_write)
REVIEW_READER = Rule("reviewer, editor or auditor", can_review)
EDITOR = Rule("editor", can_manage_reviews)
AUDIT_READER = Rule("auditor, editor or admin", can_read_audit_log)
AUDITOR = Rule("auditor or admin", can_audit)
ADMIN = Rule("admin", can_administer)
POLICY_EDITOR = Rule("editor or admin", can_set_policy)
# The JSON API checks its own bearer tokens on every request (``review_flow.api``).
API_TOKEN = Rule("API bearer token", anyone, token_auth=True)

ROUTE_RULES: dict[str, Rule] = {
    "healthz": PUBLIC,
    "assets.static": PUBLIC,
    # Flask's own static route (the package has no static folder; it serves nothing).
    "static": PUBLIC,
    "public.index": PUBLIC,
    "public.article": PUBLIC,
    "public.editorial_policy": PUBLIC,
    "public.transparency": PUBLIC,
    "auth.sign_in": PUBLIC,
    "auth.sign_out": SIGNED_IN,
    "authoring.my_articles": WRITER,
    "authoring.new_article": WRITER,
    # Object-level checks (the article's author or an editor) are the service's.
    "authoring.edit_article": WRITER,
    # The article's author, or anyone who may read review pages (checked in the view).
    "authoring.revision": SIGNED_IN,
    "review.queue": REVIEW_READER,
    "review.article": REVIEW_READER,
    "review.sign": REVIEW_READER,
    # Any signed-in person may try; the service refuses what their roles do not allow.
    "review.act": SIGNED_IN,
    "review.comment": SIGNED_IN,
    # Comment threads: the service says who is on the article and who may settle a thread.
    "threads.open_thread": SIGNED_IN,
    "threads.reply": SIGNED_IN,
    "threads.settle": SIGNED_IN,
    # Reviewers' reference checks; the service refuses editors, auditors and authors.
    "refchecks.check": REVIEW_READER,
    "due.review_due_page": EDITOR,
    "compare.revisions": REVIEW_READER,
    "rounds.assigned": REVIEW_READER,
    "rounds.unassigned": REVIEW_READER,
    "rounds.overdue": REVIEW_READER,
    "rounds.all_articles": EDITOR,
    "rounds.assign": EDITOR,
    "rounds.reassign": EDITOR,
    "rounds.cancel": EDITOR,
    # The assignee answers; the service refuses anyone without an invitation.
    "rounds.respond": SIGNED_IN,
    "audit.log": AUDIT_READER,
    # A GET that records the export (its own small transaction) before streaming.
    "audit.export_events": AUDIT_READER,
    "timeline.article_timeline": AUDIT_READER,
    "as_of.article_as_of": AUDIT_READER,
    "signatures.report_page": AUDITOR,
    "integrity.page": AUDITOR,
    # Writes only the run's record and its audit event (auditors may: AUDITOR_POSTS).
    "integrity.start": AUDITOR,
    "trail_reviews.page": AUDITOR,
    "trail_reviews.record": AUDITOR,
    "admin.tokens_page": ADMIN,
    "admin.create_token": ADMIN,
    "admin.revoke_token": ADMIN,
    "admin.webhooks_page": ADMIN,
    "admin.create_webhook": ADMIN,
    "admin.activate_webhook": ADMIN,
    "admin.deactivate_webhook": ADMIN,
    "admin.webhook_deliveries": ADMIN,
    "admin.redrive_webhook": ADMIN,
    "admin.roll_webhook_secret": ADMIN,
    "policy.page": POLICY_EDITOR,
    "policy.save": POLICY_EDITOR,
    "people.people_page": ADMIN,
    "people.add_person": ADMIN,
    "people.person": ADMIN,
    "people.save_person": ADMIN,
    "people.invite": ADMIN,
    "people.activate": ADMIN,
    "people.deactivate": ADMIN,
    # The token in the address is the credential: the invited person has no password yet.
    "invitations.accept": PUBLIC,
    "invitations.choose_password": PUBLIC,
    "account.password": SIGNED_IN,
    "account.change_password": SIGNED_IN,
    "account.notifications": SIGNED_IN,
    "account.save_notifications": SIGNED_IN,
    "account.security": SIGNED_IN,
    "account.sign_out_everywhere": SIGNED_IN,
}

BLUEPRINT_RULES: dict[str, Rule] = {
    "api": API_TOKEN,
}


# Auditors change nothing (issue 12): a POST by a person whose only role is auditor is
# refused before any view runs, except these, which touch only their own sign-in,
# settings and password, or write only an auditor's own records (a trail review; an
# integrity run's row and its audit event). tests/web/test_auditor_posts.py walks every
# POST route of the app against this list.
AUDITOR_POSTS: frozenset[str] = frozenset({
    "auth.sign_in",
    "auth.sign_out",
    "account.change_password",
    "account.save_notifications",
    "account.sign_out_everywhere",
    "trail_reviews.record",
    "integrity.start",
})


def refuses_auditor_post(user: Principal, endpoint: str | None) -> bool:
    """True when ``user`` is an auditor and nothing else and ``endpoint`` is not one of
    :data:`AUDITOR_POSTS` (other roles they hold keep what those roles allow)."""
    return (user.is_authenticated and user.roles == {Role.AUDITOR}
            and endpoint not in AUDITOR_POSTS)


def rule_for(endpoint: str | None) -> Rule | None:
    """The rule for an endpoint; None means "no rule": the request is refused."""
    if endpoint is None:
        return None
    rule = ROUTE_RULES.get(endpoint)
    if rule is not None:
        return rule
    blueprint = endpoint.rpartition(".")[0].split(".")[0]
    return BLUEPRINT_RULES.get(blueprint) if blueprint else None


def can_view_revisions(user: Principal, *, is_article_author: bool) -> bool:
    """Earlier revisions: the article's author, and whoever may read review pages."""
    return user.is_authenticated and (is_article_author or can_review(user))
