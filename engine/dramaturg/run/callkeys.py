"""The key of each call of a run: what identifies it in the step cache and in the run folder's
call log (:mod:`dramaturg.store.calllog`), whether or not the step cache is on.

The key itself is :func:`dramaturg.store.cachekey.call_key` (pure); this module gathers its parts
for one run: the hash of each step's template sources (read once per step), the model's identity
and the seed the call uses (a rerun may give one call a seed of its own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..chain.checked import Checked, model_name_for
from ..spec import StepSpec
from ..store.cachekey import (
    CallIdentity,
    call_key,
    model_digest,
    sources_digest,
)
from .models import ModelSet


class CallKeys:
    """Computes the keys of the calls of one run."""

    def __init__(self, checked: Checked, models: ModelSet) -> None:
        self.checked = checked
        self.models = models
        self._templates: dict[str, str | None] = {}
        self._models: dict[str, str] = {}

    def template_digest(self, sid: str, spec: StepSpec) -> str | None:
        """Hash of the step's template sources (inline texts, files and what they include);
        None when a file cannot be read (then the call has no key)."""
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
        # steps without options of their own share their model's digest
        key = sid if spec.options.model_fields_set else f"model:{model_name_for(spec)}"
        if key not in self._models:
            self._models[key] = model_digest(self.models.identity(spec))
        return self._models[key]

    def seed(self, spec: StepSpec, override: int | None = None) -> int | None:
        """The seed of a call's first try: its own (a rerun's), else the step's model's."""
        return override if override is not None else self.models.config(spec).options.seed_number

    def key(
        self,
        sid: str,
        spec: StepSpec,
        item: int | None,
        prompt: str,
        system: str,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> str | None:
        """The call's key; None when its templates cannot be read. ``seed`` overrides the
        model's seed for this call."""
        templates = self.template_digest(sid, spec)
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
                parse=self.checked.parse_settings(sid),
                schema=schema,
                attempts=spec.attempts,
                seed=self.seed(spec, seed),
            )
        )
