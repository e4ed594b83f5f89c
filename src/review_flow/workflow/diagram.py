"""Pictures of the workflow, drawn from the definition itself (never by hand)."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from review_flow.workflow.definition import ACTIONS, INITIAL_STATE, STATES, WORKFLOW_VERSION


def mermaid(title: str = "Review workflow") -> str:
    """A Mermaid state diagram. Uses its own drawing machine: the engine's stays bare."""
    machine = GraphMachine(
        states=list(STATES),
        initial=INITIAL_STATE,
        transitions=[
            {"trigger": a.name, "source": list(a.sources), "dest": a.dest} for a in ACTIONS
        ],
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{title} ({WORKFLOW_VERSION})",
        show_state_attributes=False,
    )
    return str(machine.get_graph().draw(None))


def text() -> str:
    """A plain table: action, from, to, who, what it needs."""
    rows = [("action", "from", "to", "who", "needs")]
    for a in ACTIONS:
        needs = [*a.guards]
        if a.needs_signature:
            needs.append("signature")
        if a.independent:
            needs.append("separation_of_duties")
        if a.quorum:
            needs.append("required_approvals")
        if a.internal:
            needs.append("(on edit of approved text)")
        rows.append((a.name, ", ".join(a.sources), a.dest, a.who, ", ".join(needs) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        f"Workflow {WORKFLOW_VERSION}; states: {', '.join(STATES)}; initial: {INITIAL_STATE}",
        "",
    ]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)
