"""A run's progress, folded from its events: each step's status, fan-out counts, time and tokens.

Pure state (no terminal): the live display draws it, tests read it. Statuses: ``waiting``,
``running``, ``cached`` (answered from the step cache), ``done``, ``failed``, ``skipped``,
``cancelled``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..events import (
    Cached,
    Event,
    FanOut,
    ItemFinished,
    LoopResampled,
    ParseFailed,
    Resumed,
    Retry,
    RunFinished,
    RunStarted,
    StepEvent,
    StepFailed,
    StepFinished,
    StepSkipped,
    StepStarted,
)
from ..result import Usage


@dataclass
class StepState:
    id: str
    status: str = "waiting"
    started: float | None = None
    ended: float | None = None
    fan_out: bool = False
    items_total: int | None = None
    items_done: int = 0
    cached: int = 0
    #: items (or the whole step) kept from an earlier attempt by ``resume``
    kept: int = 0
    tokens: int = 0
    cost: float | None = None
    retries: int = 0
    resamples: int = 0
    #: the failure, the reason for a skip, the last retry
    note: str = ""

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started


class Board:
    """The progress of one run. ``apply`` may be called from one thread while another reads
    (under ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chain = ""
        self.run_dir: str | None = None
        self.status = "starting"
        self.started: float | None = None
        self.ended: float | None = None
        self.steps: dict[str, StepState] = {}

    def step(self, sid: str) -> StepState:
        if sid not in self.steps:
            self.steps[sid] = StepState(sid)
        return self.steps[sid]

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps.values():
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def apply(self, event: Event) -> None:
        with self.lock:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        at = event.time
        if isinstance(event, RunStarted):
            self.chain = event.chain
            self.run_dir = event.run_dir
            self.status, self.started = "running", at
            for sid in event.steps:
                self.step(sid)
            return
        if isinstance(event, RunFinished):
            self.status, self.ended = event.status, at
            for s in self.steps.values():
                if s.status == "running":
                    s.status, s.ended = "cancelled", at
            return
        if isinstance(event, StepEvent):
            self._apply_step(self.step(event.step), event, at)

    @staticmethod
    def _apply_step(s: StepState, event: StepEvent, at: float) -> None:
        match event:
            case StepStarted():
                s.status, s.started = "running", at
            case FanOut():
                s.fan_out, s.items_total = True, event.item_count
            case Cached():
                s.cached += 1
            case Resumed():
                s.kept += 1
                if event.item is None:  # a whole step kept: done without running
                    s.status, s.started, s.ended = "done", at, at
            case ItemFinished():
                s.items_done = event.done
                s.items_total = event.total or s.items_total or 0
                s.tokens += Usage(**_usage(event.usage)).total_tokens
            case StepFinished():
                s.ended = at
                s.tokens = Usage(**_usage(event.usage)).total_tokens
                s.cost = event.cost
                all_cached = s.cached > 0 and s.cached >= (s.items_total or 1)
                s.status = "cached" if all_cached else "done"
            case StepFailed():
                s.status, s.ended = "failed", at
                s.tokens = Usage(**_usage(event.usage)).total_tokens or s.tokens
                s.note = event.error.splitlines()[0] if event.error else ""
            case StepSkipped():
                s.status, s.note = "skipped", f"{event.because} failed"
            case Retry():
                s.retries += 1
                s.note = f"retry {s.retries}: {event.error}"
            case ParseFailed() | LoopResampled():
                s.resamples += 1


def _usage(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    fields = Usage().as_dict()
    return {k: int(v or 0) for k, v in value.items() if k in fields}
