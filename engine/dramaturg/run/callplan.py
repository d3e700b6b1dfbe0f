"""What a rerun does with each call of a run: keep it, keep a pinned output, or call anew.

A call (a plain step's, or one fan-out item's) is

* **forced** when the rerun names it (``--only``, ``--from``): it gets a new seed, and so a new
  key (only an answer to that very key, e.g. from a rerun that stopped half way, is kept);
* **pinned** when an edit, a continue or a checkout chose its output: that output is kept, and
  the call is noted stale when its key (its inputs, templates, model, seed) is no longer the key
  the pinned output was based on;
* else **kept** when the run folder's call log has an answer for its key;
* else answered from the step cache, or by the model.

The plan knows nothing of files or models: the rerun fills it from the run folder, and
:class:`~dramaturg.run.memo.Memo` consults it for every call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..store.records import CallRecord

#: (step, fan-out item); item None: a plain step's call, or every item of a step
Call = tuple[str, int | None]


@dataclass
class Pin:
    """An output chosen by hand (edit), by continue, or restored by checkout."""

    output: Any
    #: the key of the call whose output it replaced (None: unknown)
    key: str | None = None
    raw: str | None = None
    image: bytes | None = None


@dataclass
class CallPlan:
    pins: dict[Call, Pin] = field(default_factory=dict)
    #: a call's own seed; (step, None) gives every call of the step one
    seeds: dict[Call, int] = field(default_factory=dict)
    #: calls the model must answer again; (step, None) forces every call of the step
    forced: set[Call] = field(default_factory=set)
    #: answers by call key, from the run folder's log (an image's bytes read on demand)
    answers: dict[str, Callable[[], CallRecord | None]] = field(default_factory=dict)

    # -- what happened, filled while the rerun runs ----------------------------------------
    #: "kept", "pinned", "cached" or "called"
    outcome: dict[Call, str] = field(default_factory=dict)
    #: the key of each call made in the rerun
    keys: dict[Call, str | None] = field(default_factory=dict)
    #: the raw text of each call answered by a model or the step cache
    raws: dict[Call, str | None] = field(default_factory=dict)
    #: pinned calls whose key changed since their output was chosen
    stale: set[Call] = field(default_factory=set)

    def seed(self, sid: str, item: int | None) -> int | None:
        own = self.seeds.get((sid, item))
        return own if own is not None else self.seeds.get((sid, None))

    def is_forced(self, sid: str, item: int | None) -> bool:
        return (sid, item) in self.forced or (sid, None) in self.forced

    def lookup(self, sid: str, item: int | None, key: str | None) -> CallRecord | None:
        """The pinned output or the kept answer of a call; None: ask the cache or the model."""
        call = (sid, item)
        pin = None if self.is_forced(sid, item) else self.pins.get(call)
        if pin is not None:
            if pin.key is not None and pin.key != key:
                self.stale.add(call)
            self.outcome[call] = "pinned"
            return CallRecord(pin.output, raw=pin.raw, image=pin.image)
        answer = self.answers.get(key) if key is not None else None
        record = answer() if answer is not None else None
        if record is not None:
            self.outcome[call] = "kept"
            self.raws[call] = record.raw
        return record

    def answered(self, sid: str, item: int | None, record: CallRecord, how: str) -> None:
        """A call answered by the step cache (``cached``) or a model (``called``)."""
        self.outcome[(sid, item)] = how
        self.raws[(sid, item)] = record.raw

    def counts(self) -> dict[str, int]:
        out = {"kept": 0, "pinned": 0, "cached": 0, "called": 0}
        for how in self.outcome.values():
            out[how] += 1
        return out
