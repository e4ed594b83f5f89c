"""Makes "nothing assigns an article's state except the workflow" enforceable.

The engine opens :func:`assigning` around a transition; ``Article.state``'s validator
calls :func:`check_assignment`, which refuses any assignment made outside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_assigning: ContextVar[bool] = ContextVar("review_flow_state_assignment", default=False)


class StateAssignmentOutsideWorkflow(RuntimeError):
    pass


@contextmanager
def assigning() -> Iterator[None]:
    token = _assigning.set(True)
    try:
        yield
    finally:
        _assigning.reset(token)


def check_assignment(value: str) -> None:
    if not _assigning.get():
        raise StateAssignmentOutsideWorkflow(
            f"article state may only change through the workflow (tried to set {value!r})"
        )
