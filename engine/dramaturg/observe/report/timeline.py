"""When each step and fan-out item ran, as an inline SVG Gantt chart.

One row per step, in the order they can run. A plain step is a bar: pale while it waited for a
free model slot, solid while its model call ran. A fan-out step's row holds its items in lanes
(concurrent items stack): a thin pale line while an item waited, a solid bar while it ran, a blue
tick when the step cache answered it. Times come from the manifest (steps) and the item records
(``steps/<step>/<i>.json``: queued, started, ended).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import units as figures
from .colours import (
    FONT,
    INK,
    MUTED,
    RULE,
    attr,
    colours,
)
from .data import Item, RunData, Step

LABEL, PLOT, PAD = 170, 880, 12
ROW, LANE = 24, 9
MAX_ROWS = 300
_NICE = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def _tick_step(span: float, most: int = 10) -> float:
    return next(
        (t for t in _NICE if span / t <= most), _NICE[-1] * (span // (_NICE[-1] * most) + 1)
    )


def _tick_label(t: float) -> str:
    if t < 60:
        return f"{t:g}s"
    m, s = divmod(round(t), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def _lanes(items: Sequence[Item]) -> dict[int, int]:
    """A lane per item so that items running at the same time do not overlap."""
    ends: list[float] = []
    out: dict[int, int] = {}
    timed = [it for it in items if it.started is not None and it.ended is not None]
    for it in sorted(timed, key=lambda i: (i.started or 0.0, i.index)):
        start = it.queued if it.queued is not None else it.started
        assert start is not None and it.ended is not None
        lane = next((k for k, end in enumerate(ends) if end <= start + 1e-6), len(ends))
        if lane == len(ends):
            ends.append(it.ended)
        else:
            ends[lane] = it.ended
        out[it.index] = lane
    return out


class _Scale:
    def __init__(self, t0: float, span: float) -> None:
        self.t0, self.span = t0, max(span, 0.001)

    def x(self, t: float) -> float:
        return LABEL + PLOT * min(max((t - self.t0) / self.span, 0.0), 1.0)


def _bar(
    scale: _Scale, a: float, b: float, y: float, h: float, fill: str, tip: str, extra: str = ""
) -> str:
    x1, x2 = scale.x(a), scale.x(b)
    width = max(x2 - x1, 2.0)
    return (
        f'<rect x="{x1:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" rx="1.5" '
        f'fill="{fill}"{extra}><title>{attr(tip)}</title></rect>'
    )


def _step_rows(step: Step, scale: _Scale, y: float) -> tuple[str, float]:
    """The bars of one step and the height they take."""
    fill, stroke = colours(step.status)
    started, ended = step.entry.started, step.entry.ended
    out: list[str] = []
    if step.items:
        lanes = _lanes(step.items)
        n = max(lanes.values(), default=0) + 1
        height = max(ROW, n * (LANE + 1) + 6)
        if started is not None and ended is not None:
            out.append(
                _bar(scale, started, ended, y + 1, height - 2, fill, f"{step.id}: {step.status}")
            )
        for it in step.items:
            if it.index not in lanes or it.started is None or it.ended is None:
                continue
            ly = y + 3 + lanes[it.index] * (LANE + 1)
            ran = it.ended - it.started
            if it.cached:
                tip = f"{step.id} {it.index}: from the step cache"
                out.append(_bar(scale, it.started, it.ended, ly, LANE, colours("cached")[1], tip))
                continue
            waited = it.started - (it.queued or it.started)
            tokens = int(it.usage.get("total_tokens") or 0)
            tip = f"{step.id} {it.index}: ran {figures.duration(ran)}"
            if waited > 0.05:
                tip += f" after waiting {figures.duration(waited)}"
                out.append(
                    _bar(
                        scale,
                        it.queued or it.started,
                        it.started,
                        ly + LANE / 2 - 1,
                        2,
                        stroke,
                        tip,
                        ' opacity=".35"',
                    )
                )
            if tokens:
                tip += f", {tokens:,} tokens"
            out.append(_bar(scale, it.started, it.ended, ly, LANE, stroke, tip))
        return "".join(out), height
    if started is None:
        return "", ROW
    end = ended if ended is not None else started
    began = step.entry.began or started
    tokens = step.usage.total_tokens
    tip = f"{step.id}: {step.status}, {figures.duration(end - started)}"
    if tokens:
        tip += f", {tokens:,} tokens"
    if step.status == "done" and step.entry.cached:
        out.append(
            _bar(scale, started, end, y + 5, ROW - 10, colours("cached")[1], tip + " (cached)")
        )
        return "".join(out), ROW
    if began > started + 0.05:
        out.append(
            _bar(
                scale,
                started,
                began,
                y + 5,
                ROW - 10,
                fill,
                f"{step.id}: waited for a model slot",
                f' stroke="{stroke}" stroke-opacity=".5"',
            )
        )
    out.append(_bar(scale, began, end, y + 5, ROW - 10, stroke, tip))
    return "".join(out), ROW


def timeline_svg(run: RunData, order: Sequence[str]) -> str:
    """The Gantt chart (an ``<svg>`` element); a note when nothing has times."""
    times = [t for s in run.steps.values() for t in (s.entry.started, s.entry.ended) if t]
    times += [t for s in run.steps.values() for it in s.items for t in (it.queued, it.ended) if t]
    if not times:
        return '<p class="note">No step has run yet.</p>'
    t0 = min([run.started or min(times), *times])
    t1 = max([*(t for t in (run.ended,) if t), *times])
    scale = _Scale(t0, t1 - t0)
    backs: list[str] = []
    rows: list[str] = []
    y = 30.0
    steps = [run.steps[s] for s in order if s in run.steps][:MAX_ROWS]
    for k, step in enumerate(steps):
        bars, height = _step_rows(step, scale, y)
        if k % 2 == 0:
            backs.append(
                f'<rect x="0" y="{y:.1f}" width="{LABEL + PLOT + PAD}" height="{height:.1f}" '
                'fill="#f7f4ee"/>'
            )
        label = step.id + (f" ({len(step.items)})" if step.items else "")
        rows.append(
            f'<text x="{PAD}" y="{y + 16:.1f}" font-size="12.5" fill="{INK}">'
            f'<a href="#step-{attr(step.id)}">{attr(figures.shorten(label, 24))}</a></text>'
        )
        rows.append(bars)
        y += height
    bottom = y
    span = t1 - t0
    tick = _tick_step(span)
    axis = []
    t = 0.0
    while t <= span + 1e-9:
        x = scale.x(t0 + t)
        axis.append(
            f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{RULE}"/>'
            f'<text x="{x:.1f}" y="16" font-size="11" fill="{MUTED}" text-anchor="middle">'
            f"{_tick_label(t)}</text>"
        )
        t += tick
    width = LABEL + PLOT + PAD * 2
    height = bottom + 12
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" role="img" '
        f"aria-label=\"When each step ran\" font-family='{FONT}'>"
        + "".join(backs)
        + "".join(axis)
        + "".join(rows)
        + "</svg>"
    )
