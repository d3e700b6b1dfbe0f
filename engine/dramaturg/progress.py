"""Terminal output for runs: a line per step event (stderr) and a summary (stdout)."""

from __future__ import annotations

import sys
from typing import Any

from .result import RunResult


class Printer:
    """Receives run events and prints them."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.run_dir: str | None = None
        self._cached: set[tuple[str, int]] = set()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "run_started":
            self.run_dir = event.get("run_dir")
        if self.quiet:
            return
        step = event.get("step", "")
        if kind == "run_started":
            self.err.print(
                f"[bold]{event['chain']}[/bold]: {len(event['steps'])} steps -> {self.run_dir}"
            )
        elif kind == "step_started":
            self.err.print(f"  [cyan]>[/cyan] {step}")
        elif kind == "fan_out":
            self.err.print(f"  [cyan]>[/cyan] {step}: {event['items']} items")
        elif kind == "item_finished":
            note = " (cached)" if (step, event.get("item")) in self._cached else ""
            self.err.print(f"    {step} {event['done']}/{event['total']}{note}", style="dim")
        elif kind == "cached":
            if event.get("item") is not None:
                self._cached.add((step, event["item"]))
            else:
                self.err.print(f"    {step}: from the step cache", style="dim")
        elif kind == "resumed":
            what = step if event.get("item") is None else f"{step} item {event['item']}"
            self.err.print(f"  [green]kept[/green] {what} (finished before)")
        elif kind == "resume":
            where = (
                "the templates the run kept"
                if event["templates"] == "run folder"
                else "the templates in the chain's prompt folders "
                f"({', '.join(event.get('template_folders', []))}; the run kept none)"
            )
            self.err.print(f"resuming {event['run_dir']} with {where}")
        elif kind == "cache_off":
            self.err.print(f"  [yellow]warning[/yellow]: {event['reason']}")
        elif kind == "step_finished":
            u = event.get("usage") or {}
            tokens = f", {u.get('total_tokens', 0)} tokens" if u.get("total_tokens") else ""
            self.err.print(f"  [green]done[/green] {step} ({event['duration']:.1f}s{tokens})")
        elif kind == "step_failed":
            self.err.print(f"  [red]failed[/red] {step}: {event['error']}", markup=True)
        elif kind == "step_skipped":
            self.err.print(f"  [yellow]skipped[/yellow] {step} (because {event['because']} failed)")
        elif kind == "retry":
            self.err.print(
                f"    retry {step} in {event['delay']:.1f}s: {event['error']}", style="dim"
            )
        elif kind == "parse_failed":
            self.err.print(
                f"    {step}: unparseable output, resampling ({event['error']})", style="dim"
            )

    def summary(self, result: RunResult) -> None:
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
        line = (
            f"{result.status}: {parts}; {u.calls} model calls{reuse}, {u.total_tokens} tokens"
            f" ({u.input_tokens} in / {u.output_tokens} out)"
        )
        out = f"{line}\n{result.run_dir}\n" if result.run_dir else f"{line}\n"
        sys.stdout.write(out)
        for name, files in result.exports.items():
            for f in files:
                sys.stdout.write(f"{name}: {result.run_dir / f if result.run_dir else f}\n")
        for s in result.failed_steps():
            self.err.print(
                f"[red]error[/red] in step {s.id}: {s.error}", markup=True, highlight=False
            )
