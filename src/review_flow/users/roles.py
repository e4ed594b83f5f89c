"""The roles a person may hold (DESIGN.md, "People and roles")."""

from enum import StrEnum


class Role(StrEnum):
    AUTHOR = "author"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_NAMES: tuple[str, ...] = tuple(r.value for r in Role)
