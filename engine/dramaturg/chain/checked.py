"""A chain as checked: each step's plan (what it reads, its templates, its model) and the chain's
templates, the form every run of the chain uses. Made by :func:`dramaturg.chain.validate.check`."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..spec import ChainSpec, ModelSpec, StepSpec
from .templates import Templates

DEFAULT_TEXT_MODEL = "default"
DEFAULT_IMAGE_MODEL = "images"
#: the providers used when a chain declares no ``default`` / ``images`` model
IMPLICIT_MODELS = {
    DEFAULT_TEXT_MODEL: ModelSpec(provider="local"),
    DEFAULT_IMAGE_MODEL: ModelSpec(provider="sketch"),
}
PER_ITEM_VARIABLES = ("index",)


@dataclass(frozen=True)
class StepPlan:
    """What validation learnt about a step."""

    id: str
    deps: tuple[str, ...]
    inputs: tuple[str, ...]
    template_files: tuple[str, ...]
    model: str


@dataclass
class Checked:
    spec: ChainSpec
    plans: dict[str, StepPlan]
    templates: Templates
    prompt_dirs: list[Path]
    #: (step, "prompt"|"system"|"schema") -> line offset of an inline template in the chain file
    inline_offsets: dict[tuple[str, str], int] = field(default_factory=dict)
    #: compiled templates, filled by runs (compiling is a large share of engine overhead)
    compiled: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: the folders given to look templates up in first (``--templates``)
    override_dirs: list[Path] = field(default_factory=list)
    _parse_settings: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def parse_settings(self, sid: str) -> dict[str, Any]:
        """A step's parser settings as a dict (by alias), as call keys and model metadata carry
        them; dumped once per chain. Shared: copy it before changing it."""
        if sid not in self._parse_settings:
            parse = self.spec.steps[sid].parse
            # without a loop guard the dump is as before it existed: the call keys stay
            exclude = {"loops"} if parse.loops is None else None
            self._parse_settings[sid] = parse.model_dump(by_alias=True, exclude=exclude)
        return self._parse_settings[sid]


def model_name_for(step: StepSpec) -> str:
    if step.model:
        return step.model
    return DEFAULT_IMAGE_MODEL if step.kind == "image" else DEFAULT_TEXT_MODEL


def resolved_models(models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
    return {**IMPLICIT_MODELS, **models}


def content_hash(text: str, checked: Checked) -> str:
    """sha256 of the chain file's ``text`` and every template its steps use."""
    h = hashlib.sha256(text.encode())
    files = sorted({f for p in checked.plans.values() for f in p.template_files})
    for f in files:
        h.update(f.encode() + b"\0")
        with contextlib.suppress(OSError):
            h.update(Path(f).read_bytes())
    return h.hexdigest()
