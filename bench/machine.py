"""Benchmark: the cost of firing a workflow event (issue 2, "measure it").

Compares the shared, model-less machine the engine uses (``engine.fire``) with building
a `transitions` machine per article load, and checks the shared machine keeps no
references to the articles it has moved. Run: ``.venv/bin/python bench/machine.py``.
"""

from __future__ import annotations

import gc
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from transitions import Machine

from review_flow.workflow import engine
from review_flow.workflow.definition import ACTIONS_BY_NAME, INITIAL_STATE, STATES

N = 20_000


class Subject:
    def __init__(self) -> None:
        self.state = "draft"


def ctx() -> engine.TransitionContext:
    return engine.TransitionContext(
        action=ACTIONS_BY_NAME["submit"], title="T", body="B [1]", reference_count=1
    )


def shared() -> None:
    engine.fire(Subject(), "submit", ctx())


def per_article() -> None:
    subject = Subject()
    Machine(
        model=subject,
        states=list(STATES),
        initial=INITIAL_STATE,
        transitions=engine.transition_table(),
        auto_transitions=False,
        send_event=True,
    )
    subject.submit(ctx=ctx())  # type: ignore[attr-defined]


def main() -> None:
    for fn in (shared, per_article):
        fn()
    t_shared = min(timeit.repeat(shared, number=N, repeat=3)) / N * 1e6
    t_per = min(timeit.repeat(per_article, number=N // 10, repeat=3)) / (N // 10) * 1e6
    gc.collect()
    print("| approach | µs per event |")
    print("| --- | ---: |")
    print(f"| shared model-less machine (engine.fire) | {t_shared:.1f} |")
    print(f"| new machine per article | {t_per:.1f} |")
    print(f"\nmodels held by the shared machine after {N * 3} events: {len(engine.MACHINE.models)}")


if __name__ == "__main__":
    main()
