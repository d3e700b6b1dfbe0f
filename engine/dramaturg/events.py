"""A run's events: what ``on_event=`` receives and ``--json`` prints, one frozen dataclass per
kind.

Every event has its :class:`EventKind` (``kind``, a class attribute) and ``time`` (epoch
seconds, when it was made); the other fields are those of its kind, listed in ``docs/runs.md``.
The events about one step derive from :class:`StepEvent` (``step``). ``to_dict()`` is the JSON
object ``--json`` prints: ``event`` (the kind's name), ``time``, then the fields in order. The
base class and the kinds are in :mod:`dramaturg.eventbase`.

Events were plain dicts before they were typed: for the callers written then, an event still
reads as that dict (``event["event"]``, ``event.get("item")``, ``"step" in event``,
``dict(event)``), the same values as ``to_dict()``. That is kept for one release (deprecated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .eventbase import KEY, OPTIONAL, Event, EventKind

__all__ = [
    "BatchFinished",
    "BatchStarted",
    "CacheOff",
    "Cached",
    "ErrorEvent",
    "Event",
    "EventKind",
    "ExportStarted",
    "FanOut",
    "ItemFinished",
    "LoopDropped",
    "LoopKept",
    "LoopResampled",
    "ParseFailed",
    "PinnedStale",
    "Resume",
    "Resumed",
    "Retry",
    "RowFinished",
    "RowStarted",
    "RunFinished",
    "RunStarted",
    "StepEvent",
    "StepFailed",
    "StepFinished",
    "StepSkipped",
    "StepStarted",
    "Summary",
    "Token",
    "TokenReset",
    "VersionEvent",
    "WarningEvent",
]


# -- a run ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Resume(Event):
    """``resume`` starts; ``templates``: ``run folder`` or ``prompt folders`` (then
    ``template_folders`` names them)."""

    kind = EventKind.RESUME
    run_dir: str
    templates: str
    template_folders: list[str] | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, slots=True)
class CacheOff(Event):
    """The step cache (or the run folder's call log) cannot be used: the run goes on."""

    kind = EventKind.CACHE_OFF
    reason: str


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """The run folder exists (``run_dir`` None: a run without one); ``steps`` in order."""

    kind = EventKind.RUN_STARTED
    chain: str
    run_dir: str | None
    steps: list[str]


@dataclass(frozen=True, slots=True)
class WarningEvent(Event):
    """Something to know (a broken price file, a report not written)."""

    kind = EventKind.WARNING
    message: str


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """Every step is settled: ``done``, ``failed`` or ``interrupted``."""

    kind = EventKind.RUN_FINISHED
    status: str


@dataclass(frozen=True, slots=True)
class ExportStarted(Event):
    """The chain's exporters start."""

    kind = EventKind.EXPORT_STARTED
    exporters: list[str]


# -- a step ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StepEvent(Event):
    """An event about one step."""

    step: str


@dataclass(frozen=True, slots=True)
class StepStarted(StepEvent):
    """A step's inputs are ready."""

    kind = EventKind.STEP_STARTED


@dataclass(frozen=True, slots=True)
class FanOut(StepEvent):
    """A fan-out step knows its items: ``item_count`` (the ``items`` key)."""

    kind = EventKind.FAN_OUT
    item_count: int = field(metadata={KEY: "items"})


@dataclass(frozen=True, slots=True)
class Cached(StepEvent):
    """A call answered from the step cache (``item`` None: a plain step)."""

    kind = EventKind.CACHED
    item: int | None


@dataclass(frozen=True, slots=True)
class Resumed(StepEvent):
    """Work kept from before (``item`` None: the whole step); from a rerun, ``pinned`` says
    whether it was an edit."""

    kind = EventKind.RESUMED
    item: int | None
    pinned: bool | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, slots=True)
class Token(StepEvent):
    """A piece of the answer a model is writing, as it comes (runs with ``stream`` on): the
    text of a call so far is its ``token`` events since its last ``token_reset``. ``attempt``
    counts the call's tries (retries and resamples), from 0."""

    kind = EventKind.TOKEN
    item: int | None
    attempt: int
    text: str


@dataclass(frozen=True, slots=True)
class TokenReset(StepEvent):
    """The text the ``token`` events of a call carried is dropped: ``error`` (the try failed;
    it is retried or the step fails), ``parse`` (the answer did not parse), ``resample`` (the
    loop guard asks again), ``final`` (the call's answer follows whole, in one ``token``)."""

    kind = EventKind.TOKEN_RESET
    item: int | None
    attempt: int
    reason: Literal["error", "parse", "resample", "final"]


@dataclass(frozen=True, slots=True)
class Retry(StepEvent):
    """A transient model error, retried in ``delay`` seconds."""

    kind = EventKind.RETRY
    item: int | None
    attempt: int
    error: str
    delay: float


@dataclass(frozen=True, slots=True)
class ParseFailed(StepEvent):
    """An answer did not parse; resampling."""

    kind = EventKind.PARSE_FAILED
    item: int | None
    attempt: int
    error: str


@dataclass(frozen=True, slots=True)
class LoopResampled(StepEvent):
    """The loop guard found repeated or copied lines (``finding``); resampling."""

    kind = EventKind.LOOP_RESAMPLED
    item: int | None
    attempt: int
    finding: str


@dataclass(frozen=True, slots=True)
class LoopDropped(StepEvent):
    """The loop guard dropped the lines that still repeat."""

    kind = EventKind.LOOP_DROPPED
    item: int | None
    dropped: int
    finding: str


@dataclass(frozen=True, slots=True)
class LoopKept(StepEvent):
    """The loop guard kept the best answer, though it still repeats."""

    kind = EventKind.LOOP_KEPT
    item: int | None
    finding: str


@dataclass(frozen=True, slots=True)
class ItemFinished(StepEvent):
    """A fan-out item is done: ``done`` of ``total``."""

    kind = EventKind.ITEM_FINISHED
    item: int
    done: int
    total: int
    cached: bool
    usage: dict[str, int]


@dataclass(frozen=True, slots=True)
class StepFinished(StepEvent):
    """A step is done; ``model`` is ``provider:model``, ``cost`` None: no price."""

    kind = EventKind.STEP_FINISHED
    duration: float | None
    usage: dict[str, int]
    model: str
    cost: float | None


@dataclass(frozen=True, slots=True)
class StepFailed(StepEvent):
    """A step failed."""

    kind = EventKind.STEP_FAILED
    error: str
    usage: dict[str, int]


@dataclass(frozen=True, slots=True)
class StepSkipped(StepEvent):
    """A step cannot run: ``because`` that step it needs failed."""

    kind = EventKind.STEP_SKIPPED
    because: str


@dataclass(frozen=True, slots=True)
class VersionEvent(StepEvent):
    """A rerun made a new version of a step (``version_kind``: its ``kind`` key)."""

    kind = EventKind.VERSION
    version: int
    version_kind: str = field(metadata={KEY: "kind"})
    note: str
    item: int | None


@dataclass(frozen=True, slots=True)
class PinnedStale(StepEvent):
    """A rerun kept an edit whose inputs changed since."""

    kind = EventKind.PINNED_STALE
    item: int | None


# -- the last line of --json ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Summary(Event):
    """The outcome of a run; an interrupted run's has ``status``, ``exit_code`` and ``run_dir``
    only."""

    kind = EventKind.SUMMARY
    status: str
    exit_code: int
    chain: str | None = field(default=None, metadata=OPTIONAL)
    run_id: str | None = field(default=None, metadata=OPTIONAL)
    run_dir: str | None = None
    usage: dict[str, int] | None = field(default=None, metadata=OPTIONAL)
    cost: dict[str, Any] | None = field(default=None, metadata=OPTIONAL)
    steps: dict[str, Any] | None = field(default=None, metadata=OPTIONAL)
    files: dict[str, list[str]] | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    """Nothing could run, or the run could not finish."""

    kind = EventKind.ERROR
    type: str
    message: str
    exit_code: int
    run_dir: str | None


# -- a batch ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BatchStarted(Event):
    """A batch starts: ``rows`` in all, ``todo`` of them to run (the rest are done)."""

    kind = EventKind.BATCH_STARTED
    batch_dir: str | None
    rows: int
    todo: int


@dataclass(frozen=True, slots=True)
class RowStarted(Event):
    """A row starts (``resumed``: it goes on in the run folder an earlier attempt left)."""

    kind = EventKind.ROW_STARTED
    row: int
    id: str
    resumed: bool


@dataclass(frozen=True, slots=True)
class RowFinished(Event):
    """A row is settled: ``status`` done, failed or stopped."""

    kind = EventKind.ROW_FINISHED
    row: int
    id: str
    status: str
    run_dir: str | None
    calls: int
    tokens: int
    cost: float | None
    duration: float
    error: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, slots=True)
class BatchFinished(Event):
    """Every row is settled (or the batch stopped)."""

    kind = EventKind.BATCH_FINISHED
    status: str
    done: int
    failed: int
    stopped: int
