"""The step cache as one run uses it: a key for each call, look-ups and stores, per-step modes.

A step's ``cache`` setting decides: ``default`` reads and writes, ``recompute`` only writes
(the model is always called and the entry replaced), ``disable`` neither. A cache that fails
while a run is under way (disk full, a damaged index) is turned off for the rest of the run and
reported through ``on_error``: the cache never fails a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cache import StepCache
from .cachekey import CallIdentity, call_key, model_digest, sources_digest
from .models import ModelSet
from .records import CallRecord
from .spec import StepSpec
from .validate import Checked


class Memo:
    """The step cache for the steps of one run."""

    def __init__(
        self,
        cache: StepCache,
        checked: Checked,
        models: ModelSet,
        on_error: Callable[[str], None],
    ) -> None:
        self.cache: StepCache | None = cache
        self.location = cache.root
        self.checked = checked
        self.models = models
        self.on_error = on_error
        self._templates: dict[str, str | None] = {}
        self._models: dict[str, str] = {}

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    def _fail(self, exc: BaseException) -> None:
        self.close()
        self.on_error(f"the step cache in {self.location} is off for the rest of this run: {exc}")

    def _template_digest(self, sid: str, spec: StepSpec) -> str | None:
        """Hash of the step's template sources (inline texts, files and what they include);
        None when a file cannot be read (then the call is not cached)."""
        if sid not in self._templates:
            sources = [f"text:{ref.text}" for ref in (spec.prompt, spec.system) if ref and ref.text]
            try:
                for name in self.checked.plans[sid].template_files:
                    sources.append("file:" + Path(name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._templates[sid] = None
            else:
                self._templates[sid] = sources_digest(sources)
        return self._templates[sid]

    def _model_digest(self, sid: str, spec: StepSpec) -> str:
        if sid not in self._models:
            self._models[sid] = model_digest(self.models.identity(spec))
        return self._models[sid]

    def key(
        self,
        sid: str,
        spec: StepSpec,
        item: int | None,
        prompt: str,
        system: str,
        schema: dict[str, Any] | None = None,
    ) -> str | None:
        """The call's cache key; None when this step's calls are not cached."""
        if self.cache is None or spec.cache == "disable":
            return None
        templates = self._template_digest(sid, spec)
        if templates is None:
            return None
        return call_key(
            CallIdentity(
                step=sid,
                kind=spec.kind,
                item=item,
                templates=templates,
                prompt=prompt,
                system=system,
                model=self._model_digest(sid, spec),
                parse=spec.parse.model_dump(by_alias=True),
                schema=schema,
                attempts=spec.attempts,
                seed=self.models.config(spec).options.seed_number,
            )
        )

    def get(self, spec: StepSpec, key: str | None) -> CallRecord | None:
        """The cached record of a call (never for ``recompute`` steps)."""
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
        return record

    def put(self, sid: str, key: str | None, record: CallRecord) -> None:
        if key is None or self.cache is None:
            return
        attachments = {"image": record.image} if record.image is not None else None
        try:
            self.cache.put(key, sid, record.cache_value(), attachments)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)
