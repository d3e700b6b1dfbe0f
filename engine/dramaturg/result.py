"""What a run returns: per-step outputs, status, usage and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RunFailedError


@dataclass
class Usage:
    """Token usage summed over model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage | dict[str, Any] | None) -> None:
        if other is None:
            return
        get = other.get if isinstance(other, dict) else other.__dict__.get
        self.input_tokens += int(get("input_tokens", 0) or 0)
        self.output_tokens += int(get("output_tokens", 0) or 0)
        self.total_tokens += int(get("total_tokens", 0) or 0)
        self.calls += int(get("calls", 1 if isinstance(other, dict) else 0) or 0)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class StepResult:
    """The result of one step."""

    id: str
    status: str = "pending"
    output: Any = None
    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    error_type: str | None = None
    skipped_because: str | None = None
    items_total: int | None = None
    items_done: int = 0
    items_failed: int = 0
    #: calls (a plain step's one, or fan-out items) answered from the step cache
    cached: int = 0
    #: calls kept from an earlier, interrupted attempt at the same run (``resume``)
    resumed: int = 0
    #: when its first model call began (after waiting for a free slot; None: no call)
    began: float | None = None
    #: ``text`` or ``image``
    kind: str = "text"
    #: the model that answered, ``provider:model`` (a model object: ``ClassName:model``)
    model: str | None = None
    #: what its calls cost in this run, in the price table's currency (None: no price known)
    cost: float | None = None
    #: loop-guard repairs of its answers (resamples and drops; see ``parse.loops``)
    repairs: int = 0

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass
class RunResult:
    """The result of a run. ``result["title"]`` is the output of step ``title``."""

    run_id: str
    chain: str
    status: str
    steps: dict[str, StepResult]
    output_steps: list[str]
    run_dir: Path | None = None
    usage: Usage = field(default_factory=Usage)
    #: the run's inputs, after defaults and coercion
    inputs: dict[str, Any] = field(default_factory=dict)
    #: exporter name -> files it wrote (relative to the run folder)
    exports: dict[str, list[str]] = field(default_factory=dict)
    #: what the run's model calls cost (None: some model has no price; see each step's cost)
    cost: float | None = None
    #: the currency of the costs (the price table's)
    currency: str = "USD"
    #: the run report written at its end (relative to the run folder), if any
    report: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def outputs(self) -> dict[str, Any]:
        return {s: self.steps[s].output for s in self.output_steps}

    def __getitem__(self, step: str) -> Any:
        return self.steps[step].output

    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.status == "failed"]

    def raise_for_status(self) -> RunResult:
        """Raise RunFailedError when any step failed."""
        if not self.ok:
            failed = self.failed_steps()
            lines = [f"  {s.id}: {s.error}" for s in failed]
            where = f" (kept in {self.run_dir})" if self.run_dir else ""
            raise RunFailedError(f"run {self.run_id} {self.status}{where}:\n" + "\n".join(lines))
        return self
