"""What every event of a run is: its kind (:class:`EventKind`), ``time`` and ``to_dict()``, and
the dict access kept for the callers written before events were typed.

The events themselves, one frozen dataclass per kind, are in :mod:`dramaturg.events`.

Events read as the dicts they were before they were typed (deprecated; removed in the next
release): ``event["event"]``, ``event.get("item")``, ``"step" in event``, ``dict(event)``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar


class EventKind(StrEnum):
    """The kinds of event (their ``event`` name in ``to_dict()`` and ``--json``)."""

    RESUME = "resume"
    CACHE_OFF = "cache_off"
    RUN_STARTED = "run_started"
    WARNING = "warning"
    STEP_STARTED = "step_started"
    FAN_OUT = "fan_out"
    CACHED = "cached"
    RESUMED = "resumed"
    TOKEN = "token"
    TOKEN_RESET = "token_reset"
    RETRY = "retry"
    PARSE_FAILED = "parse_failed"
    LOOP_RESAMPLED = "loop_resampled"
    LOOP_DROPPED = "loop_dropped"
    LOOP_KEPT = "loop_kept"
    ITEM_FINISHED = "item_finished"
    STEP_FINISHED = "step_finished"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    RUN_FINISHED = "run_finished"
    EXPORT_STARTED = "export_started"
    VERSION = "version"
    PINNED_STALE = "pinned_stale"
    SUMMARY = "summary"
    ERROR = "error"
    BATCH_STARTED = "batch_started"
    ROW_STARTED = "row_started"
    ROW_FINISHED = "row_finished"
    BATCH_FINISHED = "batch_finished"


def _now() -> float:
    return _time.time()


#: field metadata: the field's key in ``to_dict()`` when it is not the field's name (a name
#: taken by the event itself: ``kind``, the mapping's ``items()``)
KEY = "key"
#: field metadata: the key is left out of ``to_dict()`` when the value is None
OMIT_NONE = "omit_none"
OPTIONAL = {OMIT_NONE: True}


class DictAccess(Mapping[str, Any]):
    """Read-only mapping access to ``to_dict()``'s keys and values (deprecated)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


@dataclass(frozen=True, slots=True)
class Event(DictAccess):
    """One event of a run. Read-only mapping access gives ``to_dict()``'s keys and values."""

    kind: ClassVar[EventKind]
    time: float = field(default_factory=_now, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The event as ``--json`` prints it: ``event``, ``time``, then its fields."""
        data: dict[str, Any] = {"event": self.kind.value, "time": self.time}
        for f in fields(self):
            if f.name == "time":
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get(OMIT_NONE):
                continue
            data[f.metadata.get(KEY, f.name)] = value
        return data
