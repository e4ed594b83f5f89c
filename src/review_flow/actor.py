"""Who is acting, and how they proved it. Built by the entry points, read by services."""

from __future__ import annotations

from dataclasses import dataclass, field

from review_flow.audit.log import RequestContext
from review_flow.users.models import User


@dataclass(frozen=True)
class Actor:
    user: User
    # An API token acts as its user but can never sign (DESIGN.md, roles).
    via_token: bool = False
    context: RequestContext = field(default_factory=RequestContext)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def roles(self) -> frozenset[str]:
        return self.user.roles

    def has_role(self, role: str) -> bool:
        return role in self.user.roles
