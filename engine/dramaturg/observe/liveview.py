"""The live progress of a run on a terminal: one line per step, redrawn in place on stderr.

Each line: an icon, the step, its status (waiting, running, cached, done, failed, skipped), the
fan-out count and bar (``dialogue 7/12``), elapsed time, tokens so far and a note (cache hits,
retries, errors). A footer sums the run up. Retries, resampling and warnings are printed above
the table as they happen. The table stops at the end of the run and stays on screen.
"""

from __future__ import annotations

import time

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..events import (
    Event,
    RunFinished,
    RunStarted,
    StepFailed,
)
from ..result import RunResult
from . import units as figures
from .narration import message, print_summary
from .tracker import Board, StepState

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_STYLE = {
    "waiting": ("·", "dim"),
    "running": ("", "cyan"),
    "cached": ("↺", "blue"),
    "done": ("✓", "green"),
    "failed": ("✗", "red"),
    "skipped": ("-", "yellow"),
    "cancelled": ("■", "magenta"),
}


class LiveView:
    """A reporter drawing the run's steps as a table that updates in place."""

    def __init__(self, console: Console | None = None, refresh_per_second: float = 8) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.board = Board()
        self.run_dir: str | None = None
        self._live: Live | None = None
        self._refresh = refresh_per_second

    # -- events ------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        self.board.apply(event)
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
            self._start()
        note = message(event)
        if note is not None:
            self.console.print(note[0], style=note[1] or None, soft_wrap=True)
        if isinstance(event, StepFailed):
            self.console.print(
                f"  [red]failed[/red] {escape(event.step)}: {escape(event.error)}",
                soft_wrap=True,
            )
        if isinstance(event, RunFinished):
            self.close()

    def _start(self) -> None:
        if self._live is None:
            self._live = Live(
                get_renderable=self.render,
                console=self.console,
                refresh_per_second=self._refresh,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def close(self) -> None:
        """Stop redrawing; the last picture stays."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def interrupted(self) -> None:
        self.close()

    def failed(self, exc: BaseException) -> None:
        self.close()

    def summary(self, result: RunResult) -> None:
        self.close()
        print_summary(result)

    # -- drawing -----------------------------------------------------------------------------
    def render(self) -> RenderableType:
        now = time.time()
        with self.board.lock:
            steps = list(self.board.steps.values())
            head = self._header(now)
            rows = [self._row(s, now) for s in steps]
        height = max(self.console.height - 4, 5)
        table = Table.grid(padding=(0, 1))
        for justify in ("left", "left", "left", "left", "right", "right", "left"):
            table.add_column(justify=justify)
        if len(rows) > height:  # a long chain: the finished ones in one line
            busy = [r for s, r in zip(steps, rows, strict=True) if s.status != "done"]
            done = len(rows) - len(busy)
            rows = [_done_line(done), *busy[: height - 1]]
        for row in rows:
            table.add_row(*row)
        return Group(head, table)

    def _header(self, now: float) -> Text:
        b = self.board
        elapsed = (b.ended or now) - b.started if b.started else None
        counts = b.counts()
        finished = sum(counts.get(k, 0) for k in ("done", "cached"))
        text = Text()
        text.append(b.chain or "run", style="bold")
        text.append(f"  {finished}/{len(b.steps)} steps", style="")
        text.append(f"  {figures.duration(elapsed)}", style="")
        text.append(f"  {figures.tokens(b.tokens)} tokens", style="")
        if b.run_dir:
            text.append(f"  {b.run_dir}", style="dim")
        return text

    def _row(self, s: StepState, now: float) -> list[RenderableType]:
        icon, style = _STYLE.get(s.status, ("?", ""))
        if s.status == "running":
            icon = _SPINNER[int(now * 10) % len(_SPINNER)]
        progress: RenderableType = ""
        if s.fan_out and s.items_total is not None:
            count = Text(f"{s.items_done}/{s.items_total}", style=style)
            bar = ProgressBar(
                total=max(s.items_total, 1), completed=s.items_done, width=16, pulse=False
            )
            grid = Table.grid(padding=(0, 1))
            grid.add_row(count, bar)
            progress = grid
        notes = []
        if s.cached and s.status != "cached":
            notes.append(f"{s.cached} cached")
        if s.kept:
            notes.append(f"{s.kept} kept")
        if s.resamples:
            notes.append(f"{s.resamples} resampled")
        if s.note:
            notes.append(s.note)
        tokens = figures.tokens(s.tokens) + " tok" if s.tokens else ""
        elapsed = s.elapsed(now) if s.status not in ("waiting", "skipped") else None
        return [
            Text(icon, style=style),
            Text(s.id, style="bold" if s.status == "running" else ""),
            Text(s.status, style=style),
            progress,
            Text(figures.duration(elapsed) if elapsed is not None else ""),
            Text(tokens, style="dim"),
            Text(figures.shorten("; ".join(notes), 60), style="dim"),
        ]


def _done_line(n: int) -> list[RenderableType]:
    return [Text("✓", style="green"), Text(f"{n} steps done", style="dim"), "", "", "", "", ""]
