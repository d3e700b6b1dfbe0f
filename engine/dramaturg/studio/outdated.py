"""What is out of date in a run, and what recomputing it would call, in a writer's words: the
rerun's own plan (:func:`dramaturg.plan_rerun`), nothing called, nothing written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DramaturgError
from .runview import RunView


@dataclass(frozen=True)
class Outdated:
    #: the steps marked stale (an edit upstream)
    steps: list[str] = field(default_factory=list)
    #: what a recompute calls: ``dialogue of scenes 3 and 4``
    recompute: list[str] = field(default_factory=list)
    #: what it may call then, if those answers change
    maybe: list[str] = field(default_factory=list)
    #: (step, item) of the navigator's fan-outs it recomputes (the scenes' badges)
    items: frozenset[tuple[str, int]] = frozenset()


def outdated(path: Path, view: RunView, models: dict[str, Any] | None = None) -> Outdated:
    steps = [r.id for r in view.steps if r.status == "stale"]
    if not steps:
        return Outdated()
    from ..cowrite.plan import plan_rerun

    try:
        plan = plan_rerun(path, models=models)
    except DramaturgError:  # a run the plan cannot read: the marks alone
        return Outdated(steps=steps)
    calls = [(c.step, c.item) for c in [*plan.recompute, *plan.may_recompute]]
    return Outdated(
        steps=steps,
        recompute=calls_named([(c.step, c.item) for c in plan.recompute], view),
        maybe=calls_named([(c.step, c.item) for c in plan.may_recompute], view),
        items=frozenset((s, i) for s, i in calls if s in view.per_item and i is not None),
    )


def calls_named(calls: Sequence[tuple[str, int | None]], view: RunView) -> list[str]:
    """Calls grouped by step: ``title``, ``dialogue of scenes 3 and 4``, ``places 1, 2 and 3``
    (items counted from 1)."""
    by_step: dict[str, list[int]] = {}
    whole: list[str] = []
    for step, item in calls:
        if item is None:
            whole.append(step)
        else:
            by_step.setdefault(step, []).append(item + 1)
    out = list(dict.fromkeys(whole))
    for step, items in by_step.items():
        numbers = (
            str(items[0])
            if len(items) == 1
            else (", ".join(str(n) for n in items[:-1]) + f" and {items[-1]}")
        )
        if step in view.per_item:
            plural = "s" if len(items) > 1 else ""
            out.append(f"{step} of {view.item_name}{plural} {numbers}")
        else:
            out.append(f"{step} {numbers}")
    return out
