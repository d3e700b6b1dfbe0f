"""What ``dramaturg rerun`` prints besides its progress: the plan (``--plan``: which calls it
would make, and why) and, after a rerun, the new versions and the edits kept though stale."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .app import print_error

if TYPE_CHECKING:
    from ..cowrite.planned import RerunPlan
    from ..events import PinnedStale, VersionEvent


def print_plan(plan: RerunPlan, *, as_json: bool) -> None:
    """The plan as a table of the calls a rerun would make or keep by choice (``--json``: as
    one JSON object)."""
    if as_json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..cowrite.planned import Action, Reason, call_names

    console = Console(highlight=False)
    console.print(f"plan of a rerun of {escape(str(plan.run_dir))} (nothing run, nothing written)")
    if plan.finishing:
        console.print("it finishes the rerun that stopped half way")
    if plan.nothing_to_do:
        console.print(f"nothing to recompute: {len(plan.kept)} calls kept, no model called")
    else:
        will = [(c.step, c.item) for c in plan.recompute]
        may = [(c.step, c.item) for c in plan.may_recompute]
        console.print(f"will recompute: {escape(call_names(will) or 'nothing')}")
        if may:
            console.print(f"may recompute: {escape(call_names(may))}")
    shown = [c for c in plan.calls if c.action is not Action.KEEP or c.reason is Reason.PINNED]
    if shown:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("call", "plan", "why"):
            table.add_column(name)
        for c in shown:
            table.add_row(escape(c.name), c.action.value, escape(c.why))
        console.print(table)
    if plan.dropped:
        dropped = call_names(plan.dropped)
        console.print(f"dropped (their list got shorter): {escape(dropped)}")
    unchanged = [c for c in plan.kept if c.reason is Reason.UNCHANGED]
    if unchanged:
        counts: dict[str, int] = {}
        for c in unchanged:
            counts[c.step] = counts.get(c.step, 0) + 1
        steps = ", ".join(s if n == 1 else f"{s} ({n})" for s, n in counts.items())
        console.print(f"[dim]kept unchanged: {escape(steps)}[/dim]")


def print_news(news: Sequence[VersionEvent | PinnedStale], run_dir: Path) -> None:
    """After a rerun: each new version, and each edit kept though its inputs changed."""
    from ..events import VersionEvent

    for event in news:
        if isinstance(event, VersionEvent):
            item = "" if event.item is None else f" item {event.item}"
            kind = f"{event.version_kind}{item}"
            print(f"{event.step}: version {event.version} ({kind}): {event.note}")
        else:
            what = event.step + ("" if event.item is None else f"/{event.item}")
            print_error(
                f"kept your edit of {what}, though its inputs changed since\n"
                f"  hint: regenerate it with `dramaturg rerun {run_dir} --only {what}`"
            )
