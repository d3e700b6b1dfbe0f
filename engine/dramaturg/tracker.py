"""A run's progress, folded from its events: each step's status, fan-out counts, time and tokens.

Pure state (no terminal): the live display draws it, tests read it. Statuses: ``waiting``,
``running``, ``cached`` (answered from the step cache), ``done``, ``failed``, ``skipped``,
``cancelled``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .result import Usage


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

    def apply(self, event: dict[str, Any]) -> None:
        with self.lock:
            self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        at = float(event.get("time") or 0.0)
        if kind == "run_started":
            self.chain = str(event.get("chain", ""))
            self.run_dir = event.get("run_dir")
            self.status, self.started = "running", at
            for sid in event.get("steps", []):
                self.step(sid)
            return
        if kind == "run_finished":
            self.status, self.ended = str(event.get("status")), at
            for s in self.steps.values():
                if s.status == "running":
                    s.status, s.ended = "cancelled", at
            return
        sid = event.get("step")
        if not isinstance(sid, str):
            return
        s = self.step(sid)
        item = event.get("item")
        if kind == "step_started":
            s.status, s.started = "running", at
        elif kind == "fan_out":
            s.fan_out, s.items_total = True, int(event.get("items") or 0)
        elif kind == "cached":
            s.cached += 1
        elif kind == "resumed":
            s.kept += 1
            if item is None:  # a whole step kept: done without running
                s.status, s.started, s.ended = "done", at, at
        elif kind == "item_finished":
            s.items_done = int(event.get("done") or 0)
            s.items_total = int(event.get("total") or s.items_total or 0)
            s.tokens += Usage(**_usage(event.get("usage"))).total_tokens
        elif kind == "step_finished":
            s.ended = at
            s.tokens = Usage(**_usage(event.get("usage"))).total_tokens
            s.cost = event.get("cost")
            all_cached = s.cached > 0 and s.cached >= (s.items_total or 1)
            s.status = "cached" if all_cached else "done"
        elif kind == "step_failed":
            s.status, s.ended = "failed", at
            s.tokens = Usage(**_usage(event.get("usage"))).total_tokens or s.tokens
            s.note = str(event.get("error", "")).splitlines()[0] if event.get("error") else ""
        elif kind == "step_skipped":
            s.status, s.note = "skipped", f"{event.get('because')} failed"
        elif kind == "retry":
            s.retries += 1
            s.note = f"retry {s.retries}: {event.get('error', '')}"
        elif kind in ("parse_failed", "loop_resampled"):
            s.resamples += 1


def _usage(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    fields = Usage().as_dict()
    return {k: int(v or 0) for k, v in value.items() if k in fields}
