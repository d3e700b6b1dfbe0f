"""What a batch shows while it runs: one bar for the whole batch on a terminal (rows done and
failed, calls, tokens, cost, time left), or one JSON line per batch event (``--json``)."""

from __future__ import annotations

import sys
from typing import Any

from ..events import BatchFinished, BatchStarted, Event, RowFinished
from . import units
from .jsonevents import JsonEvents


class BatchProgress:
    """Receives a batch's events (``on_event``) and shows them."""

    def __init__(self, *, json_events: bool = False, quiet: bool = False) -> None:
        self.json = JsonEvents() if json_events else None
        self.quiet = quiet
        self.done = self.failed = self.calls = self.tokens = 0
        self.cost = 0.0
        self.priced = True
        self.batch_dir: str | None = None
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, event: Event) -> None:
        if self.json is not None:
            self.json.write(event)
        if isinstance(event, BatchStarted):
            self.batch_dir = event.batch_dir
            self._start(event.rows, event.rows - event.todo)
        elif isinstance(event, RowFinished):
            self._row(event)
        elif isinstance(event, BatchFinished):
            self.close()

    def _start(self, rows: int, kept: int) -> None:
        self.done = kept
        if self.json is not None or self.quiet or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("rows"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[line]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("rows", total=rows, completed=kept, line="")

    def _row(self, event: RowFinished) -> None:
        if event.status == "done":
            self.done += 1
        elif event.status == "failed":
            self.failed += 1
        self.calls += event.calls
        self.tokens += event.tokens
        if event.cost is None:
            self.priced = False
        else:
            self.cost += event.cost
        if self._bar is not None:
            self._bar.update(self._task, advance=1, line=self.line())
        elif self.json is None and not self.quiet:
            where = f" ({event.error})" if event.error else ""
            print(f"row {event.row} {event.status}{where}", file=sys.stderr, flush=True)

    def line(self) -> str:
        cost = units.money(self.cost, "USD") + ("" if self.priced else " + ?")
        return (
            f"{self.done} done, {self.failed} failed · {self.calls:,} calls · "
            f"{units.tokens(self.tokens)} tokens · {cost}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
