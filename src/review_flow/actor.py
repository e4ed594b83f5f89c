"""Who is acting, and how they proved it. Built by the entry points, read by services.

Two kinds: :class:`Actor`, a person (a user row, signed in or through an API token), and
:class:`SystemActor`, the application itself acting on a schedule (``review-flow
sweep``). The system has no user row, no roles and never signs; the workflow definition
names the few actions it may take (``definition.SYSTEM_ACTIONS``) and
``workflow/permissions.py`` refuses it everything else. Its audit events say so plainly:
``actor_id`` NULL and ``actor_name`` :data:`SYSTEM_ACTOR_NAME`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from review_flow.audit.log import RequestContext
from review_flow.users.models import User

# How the system appears in the audit log, e-mails and webhooks. Distinct from the plain
# "system" of an operator's unattributed CLI command (``audit.log.actor_of(None)``).
SYSTEM_ACTOR_NAME = "review-flow (system)"


@dataclass(frozen=True)
class Actor:
    user: User
    # An API token acts as its user but can never sign (DESIGN.md, roles).
    via_token: bool = False
    context: RequestContext = field(default_factory=RequestContext)

    is_system: ClassVar[bool] = False

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def signed_name(self) -> str:
        """Name and credentials, as e-mails sign an action."""
        u = self.user
        return f"{u.name}, {u.credentials}" if u.credentials else u.name

    @property
    def roles(self) -> frozenset[str]:
        return self.user.roles

    def has_role(self, role: str) -> bool:
        return role in self.user.roles


@dataclass(frozen=True)
class SystemActor:
    """The application acting on its own (the sweep): no user, no roles, no signature."""

    context: RequestContext = field(default_factory=RequestContext)

    is_system: ClassVar[bool] = True
    via_token: ClassVar[bool] = False
    id: ClassVar[None] = None
    name: ClassVar[str] = SYSTEM_ACTOR_NAME
    signed_name: ClassVar[str] = SYSTEM_ACTOR_NAME
    roles: ClassVar[frozenset[str]] = frozenset()

    def has_role(self, role: str) -> bool:
        return False


# Whoever a workflow service may be asked to act for.
AnyActor = Actor | SystemActor
