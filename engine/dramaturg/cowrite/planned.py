"""What the plan of a rerun says about each call (:func:`dramaturg.plan_rerun`): typed, with
the words a person reads (``why``) and the JSON ``dramaturg rerun --plan --json`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..run.callplan import Call


class Action(StrEnum):
    """What the rerun does with a call."""

    #: certain: the model is asked (the step cache may answer instead: the plan does not look)
    RECOMPUTE = "recompute"
    #: the call reads the output of a call to recompute: its prompt is not known before that
    #: call is answered, so it cannot be rendered; recomputed if the new answer changes it
    MAY_RECOMPUTE = "may recompute"
    #: its output stays: unchanged, or pinned
    KEEP = "keep"


class Reason(StrEnum):
    """Why."""

    #: named by ``only`` or ``from_steps``: asked again with a new seed
    FORCED = "forced"
    #: the run folder holds no answer for this call (a new fan-out item, or a call that never
    #: finished)
    NEW = "new"
    #: the folder has answers for this call, none to its key now: its prompt, templates,
    #: schema, model, options or seed changed (``prompt_changed`` tells which)
    CHANGED = "changed"
    #: reads the output of calls to recompute (``depends_on``)
    UPSTREAM = "upstream"
    #: an answer to its key is in the folder
    UNCHANGED = "unchanged"
    #: chosen by an edit, a continue or a checkout: the rerun keeps it
    PINNED = "pinned"


def call_name(call: Call) -> str:
    """``("dialogue", 3)`` -> ``"dialogue/3"``; ``("plot", None)`` -> ``"plot"``."""
    step, item = call
    return step if item is None else f"{step}/{item}"


@dataclass(frozen=True)
class PlannedCall:
    """One call of the rerun (a plain step's, or a fan-out item's; item None for a step whose
    items are not known yet)."""

    step: str
    item: int | None
    action: Action
    reason: Reason
    #: the key it would have (None: not rendered, or its templates cannot be read)
    key: str | None = None
    #: the seed it gets in the rerun (None: its model's)
    seed: int | None = None
    pinned: bool = False
    #: pinned, and its key changed since it was chosen (kept though its inputs changed); None:
    #: not known yet, it reads calls to recompute
    stale: bool | None = False
    #: the prompt differs from the one the run folder last sent for this call
    #: (``prompts/``); None: not rendered, or no prompt kept to compare with
    prompt_changed: bool | None = None
    #: the calls to recompute (certain or not) whose output it reads
    depends_on: tuple[Call, ...] = ()

    @property
    def name(self) -> str:
        return call_name((self.step, self.item))

    @property
    def why(self) -> str:
        """The reason in words."""
        after = call_names(self.depends_on)
        if self.reason is Reason.FORCED:
            return "regenerated" + (f" with seed {self.seed}" if self.seed is not None else "")
        if self.reason is Reason.NEW:
            return "no answer in the run folder yet"
        if self.reason is Reason.CHANGED:
            if self.prompt_changed:
                return "its prompt changed"
            if self.prompt_changed is False:
                return "its templates or settings changed (same prompt)"
            return "its inputs changed"
        if self.reason is Reason.UPSTREAM:
            return f"depends on {after}"
        if self.reason is Reason.PINNED:
            if self.stale:
                return "your edit, kept though its inputs changed (stale)"
            if self.stale is None:
                return f"your edit, kept; may become stale: depends on {after}"
            return "your edit, kept"
        return "unchanged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.name,
            "step": self.step,
            "item": self.item,
            "action": self.action.value,
            "reason": self.reason.value,
            "why": self.why,
            "key": self.key,
            "seed": self.seed,
            "pinned": self.pinned,
            "stale": self.stale,
            "prompt_changed": self.prompt_changed,
            "depends_on": [call_name(c) for c in self.depends_on],
        }


@dataclass(frozen=True)
class RerunPlan:
    """Every call a rerun of ``run_dir`` would make or keep, in the order the steps run."""

    run_dir: Path
    calls: tuple[PlannedCall, ...]
    #: fan-out items the rerun would drop (their step's list got shorter)
    dropped: tuple[Call, ...] = ()
    #: what it regenerates (``only``, ``from_steps``, their seed): the caller's, or those of a
    #: rerun that stopped half way and that this one finishes (``finishing``)
    only: tuple[Call, ...] = ()
    from_steps: tuple[str, ...] = ()
    seed: int | None = None
    finishing: bool = False
    #: the edits the plan was made with (not saved): the calls they pin
    edited: tuple[Call, ...] = field(default=())

    def _with(self, action: Action) -> list[PlannedCall]:
        return [c for c in self.calls if c.action is action]

    @property
    def recompute(self) -> list[PlannedCall]:
        """The calls the rerun is certain to make."""
        return self._with(Action.RECOMPUTE)

    @property
    def may_recompute(self) -> list[PlannedCall]:
        """The calls it makes if the new answers upstream change their prompts."""
        return self._with(Action.MAY_RECOMPUTE)

    @property
    def kept(self) -> list[PlannedCall]:
        return self._with(Action.KEEP)

    @property
    def stale(self) -> list[PlannedCall]:
        """Pinned calls kept though their inputs changed (``stale`` None: they may be)."""
        return [c for c in self.calls if c.pinned and c.stale is not False]

    @property
    def nothing_to_do(self) -> bool:
        """Nothing changed: the rerun would call no model and drop no item."""
        return not (self.recompute or self.may_recompute or self.dropped)

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``dramaturg rerun --plan --json`` prints it."""
        return {
            "run_dir": str(self.run_dir),
            "only": [call_name(c) for c in self.only],
            "from": list(self.from_steps),
            "seed": self.seed,
            "finishing": self.finishing,
            "edited": [call_name(c) for c in self.edited],
            "recompute": [c.name for c in self.recompute],
            "may_recompute": [c.name for c in self.may_recompute],
            "stale": [c.name for c in self.stale],
            "dropped": [call_name(c) for c in self.dropped],
            "calls": [c.to_dict() for c in self.calls],
        }


def call_names(calls: Sequence[Call], most: int = 4) -> str:
    """``dialogue/2, dialogue/3``; a long list shortened per step: ``places (3 items)``."""
    if len(calls) <= most:
        return ", ".join(call_name(c) for c in calls)
    per_step: dict[str, int] = {}
    for step, _ in calls:
        per_step[step] = per_step.get(step, 0) + 1
    return ", ".join(f"{s} ({n} item{'s' if n > 1 else ''})" for s, n in per_step.items())
