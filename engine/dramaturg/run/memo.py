"""Stored answers as one run uses them: the step cache, the run folder's call log and, in a
rerun, the rerun's plan.

Every call gets a key (:mod:`dramaturg.run.callkeys`), with or without the step cache. A call is
answered, in this order, by the rerun's plan (a pinned output, or the run folder's earlier answer
to the same key: :mod:`dramaturg.run.callplan`), by the step cache, or by the model; answers from
the cache or the model are appended to the run folder's call log (:mod:`dramaturg.store.calllog`).

A step's ``cache`` setting governs the step cache only: ``default`` reads and writes,
``recompute`` only writes (the model is always called and the entry replaced), ``disable``
neither. A cache or log that fails while a run is under way (disk full, a damaged index) is
turned off for the rest of the run and reported through ``on_error``: it never fails a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..chain.checked import Checked
from ..spec import StepSpec
from ..store.cache import CacheStore
from ..store.calllog import CallLog
from ..store.records import CallRecord
from .callkeys import CallKeys
from .callplan import Call, CallPlan
from .models import ModelSet


class Memo:
    """Stored answers for the calls of one run. ``cache`` None: no step cache."""

    def __init__(
        self,
        cache: CacheStore | None,
        checked: Checked,
        models: ModelSet,
        on_error: Callable[[str], None],
        *,
        log: CallLog | None = None,
        plan: CallPlan | None = None,
    ) -> None:
        self.cache: CacheStore | None = cache
        #: the step cache's folder (None: no step cache)
        self.location: Path | None = cache.root if cache is not None else None
        self.checked = checked
        self.keys = CallKeys(checked, models)
        self.on_error = on_error
        self.log = log
        self.plan = plan
        self._calls: dict[str, Call] = {}  # key -> (step, item)
        self._current: Call | None = None  # the call whose key was computed last

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        if self.log is not None:
            self.log.close()

    def _fail(self, exc: BaseException) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self.on_error(f"the step cache in {self.location} is off for the rest of this run: {exc}")

    def key(
        self,
        sid: str,
        spec: StepSpec,
        item: int | None,
        prompt: str,
        system: str,
        schema: dict[str, Any] | None = None,
    ) -> str | None:
        """The call's key (None only when its templates cannot be read)."""
        key = self.keys.key(sid, spec, item, prompt, system, schema, self.seed(sid, item))
        self._current = (sid, item)
        if key is not None:
            self._calls[key] = (sid, item)
        if self.plan is not None:
            self.plan.keys[(sid, item)] = key
        return key

    def seed(self, sid: str, item: int | None) -> int | None:
        """The call's own seed in a rerun (None: the model's)."""
        return self.plan.seed(sid, item) if self.plan is not None else None

    def get(self, spec: StepSpec, key: str | None) -> CallRecord | None:
        """The stored answer of a call (the step cache: never for ``recompute`` steps)."""
        call = self._calls.get(key) if key is not None else self._current
        if self.plan is not None and call is not None:
            found = self.plan.lookup(*call, key)
            if found is not None:
                return found
        if key is None or self.cache is None or spec.cache != "default":
            return None
        try:
            entry = self.cache.get(key)
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        record = None if entry is None else CallRecord.from_cache(entry.value, entry.attachments)
        if record is not None and spec.kind == "image" and record.image is None:
            return None  # an image entry without its image
        if record is not None and call is not None:
            self._logged(key, call, record, "cached")
        return record

    def put(self, sid: str, key: str | None, record: CallRecord) -> None:
        """A model's answer: into the call log, and the step cache unless the step disables it."""
        if key is None:
            return
        self._logged(key, self._calls.get(key, (sid, None)), record, "called")
        spec = self.checked.spec.steps[sid]
        if self.cache is None or spec.cache == "disable":
            return
        attachments = {"image": record.image} if record.image is not None else None
        try:
            self.cache.put(key, sid, record.cache_value(), attachments)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)

    def _logged(self, key: str, call: Call, record: CallRecord, how: str) -> None:
        if self.plan is not None:
            self.plan.answered(*call, record, how)
        if self.log is None:
            return
        try:
            self.log.append(key, call[0], call[1], record)
        except OSError as exc:
            self.log.close()
            self.log = None
            self.on_error(f"the run folder's call log is off for the rest of this run: {exc}")
