"""The chain's DAG as an inline SVG: steps left to right by generation, coloured by status.

Each box is a step (a fan-out is drawn as a stack of cards) with its status, item count and
model; a strip along its foot shows its calls: green computed, blue from the step cache, red
failed, grey not run. Each box links to the step's details further down the page.
"""

from __future__ import annotations

from .. import units as figures
from .colours import (
    FONT,
    INK,
    LEGEND,
    MUTED,
    attr,
    colours,
)
from .data import RunData, Step
from .layout import Layout, is_dummy, layered

W, H = 208, 66  # a step's box
GAP_X, GAP_Y, PAD = 64, 22, 16
MAX_STEPS = 400  # beyond this the picture is unreadable: the page lists the steps instead


def _generations(run: RunData) -> list[list[str]]:
    from ...chain import graph as graphs

    g = graphs.build_graph(
        {sid: [n for n in s.needs if n in run.steps] for sid, s in run.steps.items()}
    )
    return graphs.generations(g)


def _fit(text: str, width: int, px: float = 6.6) -> str:
    return figures.shorten(text, max(int(width / px), 4))


def _strip(step: Step, x: float, y: float) -> str:
    """The calls of a step along the foot of its box."""
    if step.items:
        parts = [
            ("cached" if it.cached else "done")
            if it.status == "done"
            else ("failed" if it.status == "failed" else "pending")
            for it in step.items
        ]
    elif step.status == "done":
        parts = ["cached" if step.entry.cached else "done"]
    else:
        return ""
    width = W - 2
    out = []
    unit = width / len(parts)
    i = 0
    while i < len(parts):  # one rect per run of the same colour
        j = i
        while j < len(parts) and parts[j] == parts[i]:
            j += 1
        out.append(
            f'<rect x="{x + 1 + i * unit:.1f}" y="{y + H - 6}" width="{(j - i) * unit:.1f}" '
            f'height="5" fill="{colours(parts[i])[1]}"/>'
        )
        i = j
    return "".join(out)


def is_cached(step: Step) -> bool:
    """Every call of the step came from the step cache."""
    if step.items:
        return all(it.cached for it in step.items)
    return bool(step.entry.cached)


def _box(step: Step, x: float, y: float) -> str:
    status = step.status
    if status == "done" and is_cached(step):
        status = "cached"
    fill, stroke = colours(status)
    dash = ' stroke-dasharray="4 3"' if status in ("skipped", "pending") else ""
    parts = [f'<a href="#step-{attr(step.id)}"><g class="node">']
    tip = [f"{step.id}: {status}"]
    if step.entry.error is not None:
        tip.append(step.entry.error.message or "")
    if step.entry.skipped_because:
        tip.append(f"skipped because {step.entry.skipped_because} failed")
    parts.append(f"<title>{attr(chr(10).join(tip))}</title>")
    if step.fan_out:  # a stack of cards
        for k in (2, 1):
            parts.append(
                f'<rect x="{x + 4 * k}" y="{y - 4 * k}" width="{W}" height="{H}" rx="6" '
                f'fill="{fill}" stroke="{stroke}" stroke-opacity=".55"{dash}/>'
            )
    parts.append(
        f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="6" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.4"{dash}/>'
    )
    parts.append(_strip(step, x, y))
    icon = "▣ " if step.kind == "image" else ""
    parts.append(
        f'<text x="{x + 10}" y="{y + 19}" font-weight="600" font-size="13" fill="{INK}">'
        f"{attr(_fit(icon + step.id, W - 20, 7.4))}</text>"
    )
    line2 = status
    if step.items:
        done = sum(1 for it in step.items if it.status == "done")
        cached = sum(1 for it in step.items if it.cached)
        line2 += f" · {done}/{len(step.items)} items"
        if cached and status != "cached":
            line2 += f" · {cached} cached"
    elif step.fan_out:
        line2 += " · fan-out"
    parts.append(
        f'<text x="{x + 10}" y="{y + 36}" font-size="11.5" fill="{stroke}">'
        f"{attr(_fit(line2, W - 20))}</text>"
    )
    started, ended = step.entry.started, step.entry.ended
    took = figures.duration(ended - started) if started and ended else ""
    line3 = " · ".join(p for p in (step.entry.model_ref or step.entry.model or "", took) if p)
    parts.append(
        f'<text x="{x + 10}" y="{y + 52}" font-size="11" fill="{MUTED}">'
        f"{attr(_fit(line3, W - 20, 6.2))}</text>"
    )
    parts.append("</g></a>")
    return "".join(parts)


def _position(layout: Layout, layer: int, index: int) -> tuple[float, float]:
    breadth = layout.breadth
    size = len(layout.layers[layer])
    offset = (breadth - size) * (H + GAP_Y) / 2
    return PAD + layer * (W + GAP_X), PAD + 8 + offset + index * (H + GAP_Y)


def _edge(layout: Layout, route: list[tuple[int, int]]) -> str:
    """A smooth path from the right side of the source box, through the dummy points of the
    layers it crosses (straight across their column), to the left side of the target box."""
    x, y = _position(layout, *route[0])
    px, py = x + W, y + H / 2
    d = f"M{px:.1f},{py:.1f}"
    for k, (layer, index) in enumerate(route[1:], start=1):
        x, y = _position(layout, layer, index)
        cy = y + H / 2
        tx = x - 2 if k == len(route) - 1 else x
        mid = (tx - px) / 2
        d += f" C{px + mid:.1f},{py:.1f} {tx - mid:.1f},{cy:.1f} {tx:.1f},{cy:.1f}"
        px, py = tx, cy
        if k < len(route) - 1:  # a dummy point: cross the column straight
            px = x + W
            d += f" L{px:.1f},{py:.1f}"
    return (
        f'<path d="{d}" fill="none" stroke="#9c9486" stroke-width="1.3" marker-end="url(#arrow)"/>'
    )


def _legend(y: float) -> str:
    parts = []
    x = float(PAD)
    for status, label in LEGEND:
        fill, stroke = colours(status)
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 20}" y="{y + 11.5}" font-size="12" fill="{MUTED}">{attr(label)}</text>'
        )
        x += 34 + len(label) * 6.6
    parts.append(
        f'<text x="{x + 8}" y="{y + 11.5}" font-size="12" fill="{MUTED}">'
        "stacked: one call per item · strip: each call</text>"
    )
    return "".join(parts)


def dag_svg(run: RunData) -> str:
    """The DAG picture (an ``<svg>`` element), or a note when the chain is too large."""
    if len(run.steps) > MAX_STEPS:
        return f'<p class="note">{len(run.steps)} steps: too many to draw; see the steps below.</p>'
    generations = _generations(run)
    edges = [(n, sid) for sid, s in run.steps.items() for n in s.needs if n in run.steps]
    layout = layered(generations, edges)
    width = PAD * 2 + layout.depth * (W + GAP_X) - GAP_X + 8
    body_h = layout.breadth * (H + GAP_Y) - GAP_Y + 8
    height = PAD * 2 + body_h + 34
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f"aria-label=\"The chain as a graph of steps\" font-family='{FONT}'>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#9c9486"/></marker></defs>',
    ]
    out += [_edge(layout, route) for route in layout.routes.values()]
    for layer, names in enumerate(layout.layers):
        for index, name in enumerate(names):
            if not is_dummy(name):
                x, y = _position(layout, layer, index)
                out.append(_box(run.steps[name], x, y))
    out.append(_legend(PAD + body_h + 16))
    out.append("</svg>")
    return "\n".join(out)
