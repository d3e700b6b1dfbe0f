"""What a run's events and result say in words: the one-line message of each event and the
summary printed at the end. The plain-lines reporter (:mod:`dramaturg.observe.progress`) and the
live table (:mod:`dramaturg.observe.liveview`) both speak through these."""

from __future__ import annotations

import sys
from typing import Any

from ..events import (
    CacheOff,
    Event,
    ExportStarted,
    LoopDropped,
    LoopKept,
    LoopResampled,
    ParseFailed,
    Resume,
    Retry,
    WarningEvent,
)
from ..result import RunResult, StepResult
from . import units as figures


def message(event: Event) -> tuple[str, str] | None:
    """The line an event deserves besides the progress of its step, and its style
    (retries, resampling, warnings, resume notes); None for the others."""
    match event:
        case Retry():
            return f"    retry {event.step} in {event.delay:.1f}s: {event.error}", "dim"
        case ParseFailed():
            return f"    {event.step}: unparseable output, resampling ({event.error})", "dim"
        case LoopResampled():
            return _loop_guard(event, "resampling")
        case LoopDropped():
            return _loop_guard(event, f"dropped {event.dropped} line(s)")
        case LoopKept():
            return _loop_guard(event, "kept the best answer")
        case CacheOff():
            return f"  [yellow]warning[/yellow]: {event.reason}", ""
        case WarningEvent():
            return f"  [yellow]warning[/yellow]: {event.message}", ""
        case ExportStarted():
            return f"exporting: {', '.join(event.exporters)}", "dim"
        case Resume():
            where = (
                "the templates the run kept"
                if event.templates == "run folder"
                else "the templates in the chain's prompt folders "
                f"({', '.join(event.template_folders or [])}; the run kept none)"
            )
            return f"resuming {event.run_dir} with {where}", ""
    return None


def _loop_guard(event: LoopResampled | LoopDropped | LoopKept, what: str) -> tuple[str, str]:
    where = event.step if event.item is None else f"{event.step} {event.item}"
    return f"    {where}: loop guard, {what}: {event.finding}", "dim"


def by_model(steps: list[StepResult]) -> dict[str, dict[str, Any]]:
    """Calls, tokens, images and cost of the steps, per model (``cost`` None: unpriced)."""
    out: dict[str, dict[str, Any]] = {}
    for s in steps:
        if s.model is None or s.usage.calls == 0:
            continue
        m = out.setdefault(s.model, {"calls": 0, "tokens": 0, "images": 0, "cost": 0.0})
        m["images" if s.kind == "image" else "calls"] += s.usage.calls
        m["tokens"] += s.usage.total_tokens
        m["cost"] = None if m["cost"] is None or s.cost is None else m["cost"] + s.cost
    return out


def cost_text(result: RunResult) -> str:
    """``$0.42``; with unpriced models, the priced part and what is missing."""
    if result.cost is not None:
        return figures.money(result.cost, result.currency)
    known = sum(s.cost or 0.0 for s in result.steps.values())
    missing = sorted({s.model or "?" for s in result.steps.values() if s.cost is None})
    return (
        f"{figures.money(known, result.currency)} + unknown "
        f"(no price for {', '.join(missing)}; see `dramaturg prices`)"
    )


def summary_lines(result: RunResult) -> list[str]:
    """The outcome of a run in a few lines (no markup)."""
    counts: dict[str, int] = {}
    for s in result.steps.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    u = result.usage
    cached = sum(s.cached for s in result.steps.values())
    resumed = sum(s.resumed for s in result.steps.values())
    reuse = "".join(
        [
            f", {cached} from the step cache" if cached else "",
            f", {resumed} kept from before" if resumed else "",
        ]
    )
    lines = [
        f"{result.status}: {parts}; {u.calls} model calls{reuse}, {u.total_tokens} tokens"
        f" ({u.input_tokens} in / {u.output_tokens} out), cost {cost_text(result)}"
    ]
    models = by_model(list(result.steps.values()))
    if len(models) > 1:
        width = max(len(m) for m in models)
        for name, m in models.items():
            what = f"{m['images']} images" if m["images"] else f"{m['calls']} calls"
            tokens = f"{figures.tokens(m['tokens'])} tokens" if m["tokens"] else ""
            lines.append(
                f"  {name:<{width}}  {what:>10}  {tokens:>16}  "
                f"{figures.money(m['cost'], result.currency)}"
            )
    return lines


def print_summary(result: RunResult) -> None:
    lines = summary_lines(result)
    if result.run_dir:
        lines.append(str(result.run_dir))
    for name, files in result.exports.items():
        for f in files:
            lines.append(f"{name}: {result.run_dir / f if result.run_dir else f}")
    if result.report and result.run_dir:
        lines.append(f"report: {result.run_dir / result.report}")
    sys.stdout.write("\n".join(lines) + "\n")
