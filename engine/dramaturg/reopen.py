"""A run's chain opened again to make new calls in its folder (``rerun``, ``continue``).

The chain file is the run's own copy (``chain.yaml``); the templates are today's: first the
``--templates`` folders given now, then those the run was given, then the chain's prompt folders
(relative to where the chain file was). So a template edited since the run counts, and a
template overridden per user stays overridden. Inputs, seed and models are the run's (models the
run was given as Python objects must be given again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chain import Chain
from .errors import InputError
from .inputs import resolve_inputs
from .models import ModelSet
from .runstate import RunState
from .snapshot import CHAIN_FILE, override_folders
from .source import load_yaml, read_text
from .validate import check

if TYPE_CHECKING:
    from .runner import Runner


@dataclass
class Reopened:
    chain: Chain
    inputs: dict[str, Any]
    models: ModelSet
    #: the run's recorded settings (concurrency, seed, dry_run, cache)
    settings: dict[str, Any]


def reopen(
    state: RunState,
    *,
    templates: Sequence[str | Path] = (),
    models: Mapping[str, Any] | None = None,
    render_only: bool = False,
) -> Reopened:
    """``render_only``: no model will be called (the fakes stand in; nothing is loaded)."""
    from .resume import _recorded_models

    snapshot = state.root / CHAIN_FILE
    if not snapshot.is_file():
        raise InputError(
            f"{snapshot} not found",
            hint="only run folders written by `dramaturg run` can be rerun or continued",
        )
    text = read_text(snapshot)
    info = state.manifest.get("chain") or {}
    original = Path(info.get("path") or info.get("file") or snapshot)
    folders: list[Path] = []
    for folder in [*(Path(t) for t in templates), *override_folders(state.rundir)]:
        if folder.resolve() not in [f.resolve() for f in folders]:
            folders.append(folder)
    checked = check(load_yaml(text, str(snapshot)), original, folders)
    chain = Chain(original, text, checked)
    recorded = dict(state.manifest.get("settings") or {})
    inputs = resolve_inputs(chain.spec.inputs, dict(state.manifest.get("inputs") or {}))
    if render_only:
        model_set = ModelSet(chain.spec.models, dry_run=True, inputs=inputs)
    else:
        model_set = chain._model_set(
            _recorded_models(state.manifest, chain.spec, models or {}),
            dry_run=bool(recorded.get("dry_run")),
            inputs=inputs,
            seed=recorded.get("seed"),
        )
    return Reopened(chain, inputs, model_set, recorded)


def derived_seed(base: int | None, version: int) -> int:
    """The seed of new calls made for a step's ``version``-th version: the step's seed (0 when
    unseeded) + 1000 per version, clear of the + 1, + 2 ... of resampling."""
    return (base or 0) + 1000 * (version - 1)


@dataclass
class RenderedCall:
    """One call of a step as a run would send it now, from the run's current outputs."""

    prompt: str
    system: str
    schema: dict[str, Any] | None
    context: dict[str, Any]
    runner: Runner


def render_call(opened: Reopened, state: RunState, step: str, item: int | None) -> RenderedCall:
    """Render a call of ``step`` (one fan-out ``item``) with the runner's own rendering, from
    the current outputs of the steps it reads."""
    from .runner import Runner, RunSettings

    chain = opened.chain
    runner = Runner(
        chain._checked,
        str(chain.path),
        chain.content_hash,
        opened.inputs,
        opened.models,
        None,
        RunSettings(),
    )
    spec = chain.spec.steps[step]
    for dep in chain.dependencies(step):
        runner.results[dep].output = state.output(dep)
    # the runner's rendering (package-private), so that a call renders exactly as in a run
    context = runner._context(step)
    if spec.for_each is not None and item is not None:
        values = runner._items(step, spec, context)
        if not 0 <= item < len(values):
            raise InputError(
                f"step '{step}' now has {len(values)} items: item {item} is gone",
                hint=f"rerun the run first: dramaturg rerun {state.root}",
            )
        context = {**context, spec.as_: values[item], "index": item}
    prompt = runner._render(step, "prompt", spec.prompt, context)
    system = runner._render(step, "system", spec.system, context) if spec.system else ""
    schema = runner.schemas.for_call(step, spec, context) if spec.kind != "image" else None
    return RenderedCall(prompt, system, schema, context, runner)
