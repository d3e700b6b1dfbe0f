"""What ``dramaturg run`` and ``resume`` show while a run goes on, and at its end.

Three reporters receive the run's events (see ``docs/runs.md`` for the events):

* a live table of the steps on a terminal (:mod:`dramaturg.observe.liveview`), redrawn in place;
* plain lines, one per event, on stderr when stderr is not a terminal (CI logs, pipes) or
  ``TERM=dumb`` (this module's :class:`Printer`); ``--quiet`` prints none;
* ``--json``: every event as one JSON object per line on stdout, then a ``summary`` event
  (:mod:`dramaturg.observe.jsonevents`).

The first two end with the same summary on stdout: status, calls, tokens, cost (per model when
there are several), the run folder and the files written.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

from ..events import (
    Cached,
    Event,
    FanOut,
    ItemFinished,
    Resumed,
    RunStarted,
    StepFailed,
    StepFinished,
    StepSkipped,
    StepStarted,
)
from ..result import RunResult
from .narration import message, print_summary


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
