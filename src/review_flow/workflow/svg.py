"""The workflow as an inline SVG picture, laid out from the definition on the server.

Readers of the editorial-policy page get a drawing, not diagram source: no script runs
(the site's CSP forbids it) and nothing is fetched. The layout is computed from
``definition.ACTIONS``, so a changed workflow redraws itself:

- states sit in rows by their distance from the initial state (breadth first), in the
  definition's order within a row;
- a transition to a later row is a curve down from its source to its target;
- a transition back to an earlier row (withdraw, reopen, re-review, ...) runs in a lane
  beside the rows, one lane per action and target, so lines do not lie on each other;
  the sources of one action join in its lane and enter the target once, labelled once.

Colours come from presentation attributes, not ``style``, so the strict CSP holds. The
picture carries ``role="img"``, a ``<title>`` and a ``<desc>`` that states every
transition in words; the page adds the same as a table for screen readers.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from review_flow.workflow.definition import ACTIONS, INITIAL_STATE, STATES, Action

BOX_W, BOX_H = 176, 44
COL_GAP, ROW_GAP = 34, 120
TOP = 24
LANE_GAP = 30
LABEL_ROOM = 96  # beside the outermost lanes, for half a lane's label
FONT = 14
EDGE_FONT = 13

# Fill, border and text colour per state: the badges' colours (static/style.css).
COLOURS: dict[str, tuple[str, str, str]] = {
    "draft": ("#eef1f4", "#6b7480", "#1b2733"),
    "submitted": ("#e5effa", "#1d5fa8", "#123f73"),
    "under_review": ("#e5effa", "#1d5fa8", "#123f73"),
    "changes_requested": ("#fff4d6", "#9a6b00", "#6b4a00"),
    "approved": ("#e3f3e8", "#1e7a3c", "#145229"),
    "rejected": ("#fdecee", "#b3261e", "#7a1019"),
    "retracted": ("#fdecee", "#b3261e", "#7a1019"),
}
EDGE = "#3d4a57"
BACK_EDGE = "#6b7480"


def _label(action: Action) -> str:
    return "Edit approved text" if action.name == "revise" else action.label


@dataclass
class _Box:
    state: str
    row: int
    x: float = 0.0
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + BOX_W / 2

    @property
    def cy(self) -> float:
        return self.y + BOX_H / 2


@dataclass
class _Bundle:
    """One action's way back to one earlier state, from one or more sources."""

    action: Action
    dest: str
    sources: list[str]
    side: str = "left"
    lane_x: float = 0.0
    entry_y: float = 0.0
    exits: list[tuple[float, float, list[tuple[float, float]]]] = field(default_factory=list)


def _rows() -> dict[str, int]:
    """Breadth-first distance of each state from the initial one."""
    depth = {INITIAL_STATE: 0}
    queue = deque([INITIAL_STATE])
    while queue:
        state = queue.popleft()
        for action in ACTIONS:
            if state in action.sources and action.dest not in depth:
                depth[action.dest] = depth[state] + 1
                queue.append(action.dest)
    last = max(depth.values(), default=0)
    for state in STATES:  # unreachable states (none today) go last rather than vanish
        depth.setdefault(state, last + 1)
    return depth


def describe(state_labels: Mapping[str, str] | None = None) -> list[str]:
    """Every transition as a sentence, in definition order (the picture's description)."""
    name = _namer(state_labels)
    out = []
    for action in ACTIONS:
        sources = " or ".join(name(s) for s in action.sources)
        out.append(f"{_label(action)}: from {sources} to {name(action.dest)}.")
    return out


def _namer(state_labels: Mapping[str, str] | None) -> functools.partial[str]:
    labels = dict(state_labels or {})
    return functools.partial(lambda s, m: m.get(s) or s.replace("_", " ").capitalize(),
                             m=labels)


def render(state_labels: Mapping[str, str] | None = None, *, title: str = "Review workflow",
           element_id: str = "workflow-diagram") -> str:
    """The SVG element (a string of markup, escaped throughout)."""
    return _render(tuple(sorted((state_labels or {}).items())), title, element_id)


@functools.lru_cache(maxsize=8)
def _render(labels: tuple[tuple[str, str], ...], title: str, element_id: str) -> str:
    name = _namer(dict(labels))
    depth = _rows()
    boxes = {s: _Box(s, depth[s]) for s in STATES}
    rows: dict[int, list[_Box]] = {}
    for state in STATES:
        rows.setdefault(depth[state], []).append(boxes[state])
    widest = max(len(r) * BOX_W + (len(r) - 1) * COL_GAP for r in rows.values())

    forward: dict[tuple[str, str], list[Action]] = {}
    bundles: list[_Bundle] = []
    for action in ACTIONS:
        back_sources = []
        for source in action.sources:
            if depth[action.dest] > depth[source]:
                forward.setdefault((source, action.dest), []).append(action)
            else:
                back_sources.append(source)
        if back_sources:
            bundles.append(_Bundle(action, action.dest, back_sources))

    # Place the boxes centred, then pick each bundle's side: towards where its sources
    # are, or the side with fewer lanes when they sit straight below the target.
    def place(left_margin: float) -> None:
        for row, members in rows.items():
            width = len(members) * BOX_W + (len(members) - 1) * COL_GAP
            x = left_margin + (widest - width) / 2
            for box in members:
                box.x, box.y = x, TOP + row * ROW_GAP
                x += BOX_W + COL_GAP

    place(0.0)
    counts = {"left": 0, "right": 0}
    for bundle in sorted(bundles, key=lambda b: abs(sum(boxes[s].cx for s in b.sources)
                                                   / len(b.sources) - boxes[b.dest].cx),
                         reverse=True):
        lean = sum(boxes[s].cx for s in bundle.sources) / len(bundle.sources) - boxes[
            bundle.dest].cx
        if abs(lean) > 1:
            bundle.side = "left" if lean < 0 else "right"
        else:
            bundle.side = "left" if counts["left"] <= counts["right"] else "right"
        counts[bundle.side] += 1
    left_lanes = [b for b in bundles if b.side == "left"]
    right_lanes = [b for b in bundles if b.side == "right"]
    margin_left = LABEL_ROOM + len(left_lanes) * LANE_GAP
    place(margin_left)
    width = margin_left + widest + len(right_lanes) * LANE_GAP + LABEL_ROOM
    height = TOP + (max(rows) + 1) * ROW_GAP - ROW_GAP + BOX_H + 40

    # Lanes: the bundle spanning the fewest rows runs nearest the boxes.
    def span(b: _Bundle) -> int:
        return max(depth[s] for s in b.sources) - depth[b.dest]

    for side, lanes in (("left", left_lanes), ("right", right_lanes)):
        for i, bundle in enumerate(sorted(lanes, key=span)):
            offset = (i + 1) * LANE_GAP
            bundle.lane_x = (margin_left - offset if side == "left"
                             else margin_left + widest + offset)

    # How each source reaches its lane: from its side when nothing stands between it and
    # the lane in its row, else down below the row first.
    side_users: dict[tuple[str, str], list[tuple[_Bundle, str | None]]] = {}
    for bundle in bundles:
        side_users.setdefault((bundle.dest, bundle.side), []).append((bundle, None))
    below: list[tuple[_Bundle, str]] = []
    for bundle in bundles:
        for source in bundle.sources:
            box = boxes[source]
            outward = [b for b in rows[box.row]
                       if (b.x < box.x if bundle.side == "left" else b.x > box.x)]
            if outward:
                below.append((bundle, source))
            else:
                side_users.setdefault((source, bundle.side), []).append((bundle, source))
    # Ports on a box side: entries and exits share the side, spread evenly, the lane
    # nearest the box on top so that lines do not cross at the box.
    for (state, side), users in side_users.items():
        box = boxes[state]
        users.sort(key=lambda u: abs(u[0].lane_x - box.cx))
        side_x = box.x if side == "left" else box.x + BOX_W
        for i, (bundle, leaving) in enumerate(users):
            y = box.y + BOX_H * (i + 1) / (len(users) + 1)
            if leaving is None:
                bundle.entry_y = y
            else:
                bundle.exits.append((side_x, y, [(side_x, y), (bundle.lane_x, y)]))
    below_count: dict[str, int] = {}
    for bundle, source in below:
        box = boxes[source]
        k = below_count.get(source, 0)
        below_count[source] = k + 1
        start_x = box.cx + (k - 0.5) * 18
        low = box.y + BOX_H + 14 + 8 * k
        bundle.exits.append((start_x, box.y + BOX_H, [
            (start_x, box.y + BOX_H), (start_x, low), (bundle.lane_x, low)]))

    out: list[str] = []
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" class="workflow-svg" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">')
    out.append(f'<title id="{title_id}">{escape(title)}</title>')
    out.append(f'<desc id="{desc_id}">States: '
               f'{escape(", ".join(name(s) for s in STATES))}. Transitions: '
               f'{escape(" ".join(describe(dict(labels))))}</desc>')
    out.append(
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{EDGE}"/></marker></defs>')

    def text(x: float, y: float, words: str, anchor: str = "middle", size: int = EDGE_FONT,
             fill: str = EDGE, weight: str = "normal", halo: bool = True) -> str:
        # A white halo keeps a label readable where it crosses a line.
        ring = (' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
                if halo else "")
        return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
                f'font-weight="{weight}" fill="{fill}"{ring}>{escape(words)}</text>')

    labels_out: list[str] = []
    # Forward transitions: curves down, spread over the bottom and top of the boxes.
    outs: dict[str, list[tuple[str, str]]] = {}
    ins: dict[str, list[tuple[str, str]]] = {}
    for source, dest in forward:
        outs.setdefault(source, []).append((source, dest))
        ins.setdefault(dest, []).append((source, dest))
    for key in outs:
        outs[key].sort(key=lambda e: boxes[e[1]].cx)
    for key in ins:
        ins[key].sort(key=lambda e: boxes[e[0]].cx)
    for (source, dest), actions in forward.items():
        s, t = boxes[source], boxes[dest]
        i, n = outs[source].index((source, dest)), len(outs[source])
        j, m = ins[dest].index((source, dest)), len(ins[dest])
        x0, y0 = s.x + BOX_W * (i + 1) / (n + 1), s.y + BOX_H
        x1, y1 = t.x + BOX_W * (j + 1) / (m + 1), t.y
        dy = (y1 - y0) / 2
        out.append(f'<path d="M{x0:.1f},{y0:.1f} C{x0:.1f},{y0 + dy:.1f} {x1:.1f},'
                   f'{y1 - dy:.1f} {x1:.1f},{y1 - 1:.1f}" fill="none" stroke="{EDGE}" '
                   f'stroke-width="1.6" marker-end="url(#wf-arrow)"/>')
        words = " / ".join(_label(a) for a in actions)
        labels_out.append(text((x0 + x1) / 2, (y0 + y1) / 2 + 4, words))

    # Transitions back: each source into its lane, the lane up, one arrow into the target.
    pills: list[tuple[_Bundle, float, float]] = []
    for bundle in bundles:
        target = boxes[bundle.dest]
        for _, _, points in bundle.exits:
            d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<path d="{d}" fill="none" stroke="{BACK_EDGE}" stroke-width="1.4" '
                       f'stroke-dasharray="5 3" stroke-linejoin="round"/>')
        lowest = max(p[-1][1] for _, _, p in bundle.exits)
        into_x = target.x if bundle.side == "left" else target.x + BOX_W
        out.append(
            f'<path d="M{bundle.lane_x:.1f},{lowest:.1f} L{bundle.lane_x:.1f},'
            f'{bundle.entry_y:.1f} L{into_x + (-1 if bundle.side == "left" else 1):.1f},'
            f'{bundle.entry_y:.1f}" fill="none" stroke="{BACK_EDGE}" stroke-width="1.4" '
            f'stroke-dasharray="5 3" stroke-linejoin="round" marker-end="url(#wf-arrow)"/>')
        pills.append((bundle, bundle.entry_y, lowest))

    # Each lane's label sits on the lane as a tag, halfway up; tags on neighbouring lanes
    # are moved apart so none covers another.
    placed: list[tuple[float, float, float]] = []  # (x, y, half width)
    # The lines running across (y, x from, x to): a tag must not hide one.
    across = [(y0, x0, x1) for b in bundles for _, _, pts in b.exits
              for (x0, y0), (x1, y1) in itertools.pairwise(pts) if y0 == y1]
    across += [(b.entry_y, b.lane_x, boxes[b.dest].cx) for b in bundles]
    for bundle, top, bottom in sorted(pills, key=lambda p: (p[0].side, p[2] - p[1])):
        words = _label(bundle.action)
        half = len(words) * EDGE_FONT * 0.3 + 8
        y = (top + bottom) / 2
        for _ in range(20):
            clash = [p for p in placed if abs(p[0] - bundle.lane_x) < p[2] + half + 4
                     and abs(p[1] - y) < 30]
            crossed = [h for h in across if abs(h[0] - y) < 15
                       and min(h[1], h[2]) < bundle.lane_x + half
                       and max(h[1], h[2]) > bundle.lane_x - half]
            if not clash and not crossed:
                break
            y += 32 if y + 32 < bottom - 12 else -64
        placed.append((bundle.lane_x, y, half))
        labels_out.append(
            f'<rect x="{bundle.lane_x - half:.1f}" y="{y - 11:.1f}" width="{2 * half:.1f}" '
            f'height="22" rx="11" fill="#fff" stroke="{BACK_EDGE}" stroke-width="1"/>')
        labels_out.append(text(bundle.lane_x, y + 4.5, words, halo=False))

    for state in STATES:
        box = boxes[state]
        fill, stroke, ink = COLOURS.get(state, ("#fff", EDGE, EDGE))
        extra = ' stroke-width="3"' if state == INITIAL_STATE else ' stroke-width="1.6"'
        out.append(f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{BOX_W}" height="{BOX_H}" '
                   f'rx="8" fill="{fill}" stroke="{stroke}"{extra}/>')
        out.append(text(box.cx, box.cy + 5, name(state), size=FONT, fill=ink, weight="600",
                        halo=False))
    out.extend(labels_out)
    out.append("</svg>")
    return "\n".join(out)
