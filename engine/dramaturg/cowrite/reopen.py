"""A run's chain opened again to make new calls in its folder (``rerun``, ``continue``).

The chain file is the run's own copy (``chain.yaml``); the templates are today's: first the
``--templates`` folders given now, then those the run was given, then the chain's prompt folders
(relative to where the chain file was). So a template edited since the run counts, and a
template overridden per user stays overridden. Inputs, seed and models are the run's (models the
run was given as Python objects must be given again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api import Chain
from ..chain.inputs import resolve_inputs
from ..errors import InputError
from ..run.answerschemas import AnswerSchemas
from ..run.session import RunOptions, RunSession
from ..store.snapshot import load_snapshot, override_folders
from .runstate import RunState

if TYPE_CHECKING:
    from ..run.models import ModelSet
    from ..store.manifest import Settings


@dataclass
class Reopened:
    chain: Chain
    #: the run's chain, inputs and models, ready to run in its folder
    session: RunSession
    #: the run's recorded settings (concurrency, seed, dry_run, cache)
    settings: Settings

    @property
    def inputs(self) -> dict[str, Any]:
        return self.session.inputs

    @property
    def models(self) -> ModelSet:
        return self.session.models


def reopen(
    state: RunState,
    *,
    templates: Sequence[str | Path] = (),
    models: Mapping[str, Any] | None = None,
    render_only: bool = False,
    load_models: bool = True,
    options: RunOptions | None = None,
) -> Reopened:
    """``render_only``: no model will be called (the fakes stand in; nothing is loaded).
    ``load_models`` false: the run's own models, none loaded (to key calls, not to make them).
    ``options``: how the session runs (default: as the run recorded its concurrency)."""
    from ..run.resume import recorded_models

    info = state.manifest.chain
    folders: list[Path] = []
    for folder in [*(Path(t) for t in templates), *override_folders(state.rundir)]:
        if folder.resolve() not in [f.resolve() for f in folders]:
            folders.append(folder)
    kept = load_snapshot(
        state.root,
        info.path or info.file,
        hint="only run folders written by `dramaturg run` can be rerun or continued",
        folders=folders,
    )
    chain = Chain(kept.path, kept.text, kept.checked)
    recorded = state.manifest.settings
    inputs = resolve_inputs(chain.spec.inputs, dict(state.manifest.inputs))
    if options is None:
        options = RunOptions.as_recorded(recorded)
    if render_only:
        session = chain.session(inputs, options, dry_run=True, chain_file=info.file)
    else:
        session = chain.session(
            inputs,
            options,
            models=recorded_models(state.manifest, chain.spec, models or {}),
            dry_run=bool(recorded.dry_run),
            seed=recorded.seed,
            chain_file=info.file,
            load_models=load_models,
        )
    return Reopened(chain, session, recorded)


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


def render_call(opened: Reopened, state: RunState, step: str, item: int | None) -> RenderedCall:
    """Render a call of ``step`` (one fan-out ``item``) with the run's own rendering, from the
    current outputs of the steps it reads."""
    renderer = opened.session.renderer
    spec = opened.chain.spec.steps[step]
    context = renderer.context(step, state.output)
    if spec.for_each is not None and item is not None:
        values = renderer.items(step, spec, context)
        if not 0 <= item < len(values):
            raise InputError(
                f"step '{step}' now has {len(values)} items: item {item} is gone",
                hint=f"rerun the run first: dramaturg rerun {state.root}",
            )
        context = renderer.item_context(spec, context, item, values[item])
    return _rendered(opened, step, context)


def render_calls(
    opened: Reopened, step: str, output_of: Callable[[str], Any]
) -> dict[int | None, RenderedCall]:
    """Every call of ``step`` as a run would send it, from the outputs of the steps it reads
    that ``output_of`` gives: a plain step's (None), or one per fan-out item."""
    renderer = opened.session.renderer
    spec = opened.chain.spec.steps[step]
    context = renderer.context(step, output_of)
    if spec.for_each is None:
        return {None: _rendered(opened, step, context)}
    values = renderer.items(step, spec, context)
    return {
        i: _rendered(opened, step, renderer.item_context(spec, context, i, v))
        for i, v in enumerate(values)
    }


def _rendered(opened: Reopened, step: str, context: dict[str, Any]) -> RenderedCall:
    renderer = opened.session.renderer
    spec = opened.chain.spec.steps[step]
    prompt = renderer.render(step, "prompt", spec.prompt, context)
    system = renderer.render(step, "system", spec.system, context) if spec.system else ""
    schema = None
    if spec.kind != "image":
        schema = AnswerSchemas(renderer.render, renderer.chain_file).for_call(step, spec, context)
    return RenderedCall(prompt, system, schema, context)
