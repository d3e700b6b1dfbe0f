"""What ``dramaturg run`` and ``resume`` show while a run goes on, and at its end.

Three reporters receive the run's events (see ``docs/runs.md`` for the events):

* a live table of the steps on a terminal (:mod:`dramaturg.liveview`), redrawn in place;
* plain lines, one per event, on stderr when stderr is not a terminal (CI logs, pipes) or
  ``TERM=dumb`` (this module's :class:`Printer`); ``--quiet`` prints none;
* ``--json``: every event as one JSON object per line on stdout, then a ``summary`` event
  (:mod:`dramaturg.jsonevents`).

The first two end with the same summary on stdout: status, calls, tokens, cost (per model when
there are several), the run folder and the files written.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

from . import figures
from .events import (
    Cached,
    CacheOff,
    Event,
    ExportStarted,
    FanOut,
    ItemFinished,
    LoopDropped,
    LoopKept,
    LoopResampled,
    ParseFailed,
    Resume,
    Resumed,
    Retry,
    RunStarted,
    StepFailed,
    StepFinished,
    StepSkipped,
    StepStarted,
    WarningEvent,
)
from .result import RunResult, StepResult


class Reporter(Protocol):
    """Receives a run's events; prints the outcome."""

    run_dir: str | None

    def __call__(self, event: Event) -> None: ...

    def summary(self, result: RunResult) -> None: ...

    def interrupted(self) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


def reporter(*, quiet: bool = False, json_events: bool = False) -> Reporter:
    """The reporter for this terminal: JSON lines, a live display, or plain lines."""
    if json_events:
        from .jsonevents import JsonEvents

        return JsonEvents()
    if not quiet and live_terminal():
        from .liveview import LiveView

        return LiveView()
    return Printer(quiet=quiet)


def live_terminal() -> bool:
    """A live display fits stderr: a terminal, not ``TERM=dumb``, not ``CI``."""
    if os.environ.get("TERM") == "dumb" or os.environ.get("CI"):
        return False
    return sys.stderr.isatty()


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


class Printer:
    """Plain lines on stderr, one per event (for logs and pipes)."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.run_dir: str | None = None
        self._cached: set[tuple[str, int]] = set()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
        if self.quiet:
            return
        note = message(event)
        if note is not None:
            self.err.print(note[0], style=note[1] or None)
        else:
            self._line(event)

    def _line(self, event: Event) -> None:
        out = self.err.print
        match event:
            case RunStarted():
                out(f"[bold]{event.chain}[/bold]: {len(event.steps)} steps -> {self.run_dir}")
            case StepStarted():
                out(f"  [cyan]>[/cyan] {event.step}")
            case FanOut():
                out(f"  [cyan]>[/cyan] {event.step}: {event.item_count} items")
            case ItemFinished():
                cached = event.cached or (event.step, event.item) in self._cached
                note = " (cached)" if cached else ""
                out(f"    {event.step} {event.done}/{event.total}{note}", style="dim")
            case Cached():
                if event.item is not None:
                    self._cached.add((event.step, event.item))
                else:
                    out(f"    {event.step}: from the step cache", style="dim")
            case Resumed():
                what = event.step if event.item is None else f"{event.step} item {event.item}"
                out(f"  [green]kept[/green] {what} (finished before)")
            case StepFinished():
                u = event.usage or {}
                tokens = f", {u.get('total_tokens', 0)} tokens" if u.get("total_tokens") else ""
                out(f"  [green]done[/green] {event.step} ({event.duration or 0.0:.1f}s{tokens})")
            case StepFailed():
                out(f"  [red]failed[/red] {event.step}: {event.error}", markup=True)
            case StepSkipped():
                out(f"  [yellow]skipped[/yellow] {event.step} (because {event.because} failed)")

    def interrupted(self) -> None:
        """Nothing to tidy: the CLI says where the work is."""

    def failed(self, exc: BaseException) -> None:
        """Nothing to add: the CLI prints the error."""

    def summary(self, result: RunResult) -> None:
        print_summary(result)
        for s in result.failed_steps():
            self.err.print(
                f"[red]error[/red] in step {s.id}: {s.error}", markup=True, highlight=False
            )


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
