"""The workflow picture is drawn from the definition: every state and transition is in
it, it is well-formed SVG with a title and a description, and nothing falls outside it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from review_flow.workflow import svg
from review_flow.workflow.definition import ACTIONS, STATES

NS = {"s": "http://www.w3.org/2000/svg"}
LABELS = {"under_review": "Under review", "changes_requested": "Changes requested"}


def _tree() -> ET.Element:
    return ET.fromstring(svg.render(LABELS))


def test_it_is_an_accessible_image() -> None:
    root = _tree()
    assert root.get("role") == "img"
    title, desc = root.find("s:title", NS), root.find("s:desc", NS)
    assert title is not None and title.text == "Review workflow"
    assert desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"


def test_every_state_and_every_transition_is_drawn_and_described() -> None:
    root = _tree()
    texts = [t.text for t in root.iter(f"{{{NS['s']}}}text")]
    for state in STATES:
        assert LABELS.get(state, state.replace("_", " ").capitalize()) in texts, state
    desc = root.find("s:desc", NS).text or ""  # type: ignore[union-attr]
    for action in ACTIONS:
        label = "Edit approved text" if action.name == "revise" else action.label
        assert label in texts, action.name
        assert f"{label}: from " in desc
    assert "Approve: from Under review to Approved." in desc
    assert "Withdraw: from Submitted or Under review or Changes requested to Draft." in desc
    # One arrow per forward pair of states plus one per way back (action and target).
    arrows = [p for p in root.iter(f"{{{NS['s']}}}path") if p.get("marker-end")]
    forward = {(s, a.dest) for a in ACTIONS for s in a.sources
               if STATES.index(a.dest) > STATES.index(s)}
    assert len(arrows) >= len(forward)


def test_nothing_is_drawn_outside_the_picture() -> None:
    root = _tree()
    width, height = float(root.get("width") or 0), float(root.get("height") or 0)
    for el in root.iter():
        for attr in ("x", "y"):
            value = el.get(attr)
            if value is not None:
                limit = width if attr == "x" else height
                assert 0 <= float(value) <= limit, (el.tag, attr, value)
        d = el.get("d")
        if d and el.tag.endswith("path") and "M0,0" not in d:
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
            xs, ys = numbers[0::2], numbers[1::2]
            assert min(xs) >= 0 and max(xs) <= width and min(ys) >= 0 and max(ys) <= height


def test_state_names_are_escaped() -> None:
    out = svg.render({"draft": "<b>Draft & co</b>"})
    assert "&lt;b&gt;Draft &amp; co&lt;/b&gt;" in out and "<b>" not in out
    ET.fromstring(out)


def test_no_inline_style_so_the_pages_csp_holds() -> None:
    assert "style=" not in svg.render(LABELS) and "<script" not in svg.render(LABELS)


def test_workflow_show_prints_the_same_picture() -> None:
    from click.testing import CliRunner

    from review_flow.cli import main

    result = CliRunner().invoke(main, ["workflow", "show", "--format", "svg"])
    assert result.exit_code == 0
    assert result.output.strip() == svg.render().strip()
