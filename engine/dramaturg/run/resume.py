"""Resume a run in its own folder: one that was killed (SIGKILL too), interrupted or failed.

What was finished is kept from the run folder's own records (``steps/<step>.json`` and
``steps/<step>/<i>.json``), whether or not the step cache is on; everything else runs, with the
run's inputs, seed, models and settings as its manifest recorded them, and the chain file and
templates as the run kept them (``chain.yaml``, ``templates/``). A run folder made before
templates were kept is resumed with the templates in the chain's prompt folders; the ``resume``
event and the manifest say which. The manifest ends ``done`` when everything finished, and the
chain's exporters run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..chain.checked import content_hash, resolved_models
from ..chain.inputs import resolve_inputs
from ..errors import InputError
from ..events import Resume
from ..result import RunResult
from ..spec import ChainSpec, ModelSpec
from ..store.cache import CacheStore
from ..store.manifest import Manifest
from ..store.readback import read_manifest
from ..store.records import FinishedRecords
from ..store.rundir import PENDING, RunDir
from ..store.snapshot import Snapshot, load_snapshot
from ..syncrun import run_sync
from .limits import CallLimits
from .models import redact
from .runner import Event
from .session import CacheSetting, Earlier, RunOptions, RunSession


def resume_run(run_dir: str | Path, **kwargs: Any) -> RunResult:
    """Resume a run synchronously; see :func:`aresume_run` for the arguments."""
    return run_sync(
        lambda: aresume_run(run_dir, **kwargs), "resume_run", "dramaturg.run.resume.aresume_run"
    )


async def aresume_run(
    run_dir: str | Path,
    *,
    models: Mapping[str, Any] | None = None,
    concurrency: int | None = None,
    retries: int | None = None,
    backoff: float = 0.5,
    on_event: Callable[[Event], None] | None = None,
    cache: CacheSetting = None,
    export: bool = True,
    limiter: CallLimits | None = None,
    step_cache: CacheStore | None = None,
    stream: bool = False,
) -> RunResult:
    """Finish the run in ``run_dir``: keep what it finished, run the rest, export.

    ``models`` is needed for the models the run was given as Python objects (a LangChain chat
    model, an image model) and may replace others (``"provider:model"``); the rest are the
    run's own. ``concurrency`` defaults to the run's. ``cache`` as for :meth:`Chain.arun`;
    ``None`` means as the run: no cache if it ran without one, else the folder it used.
    Finished work is kept from the run folder whatever the cache setting. ``limiter`` and
    ``step_cache``: limits and a step cache shared with other runs (a batch's), instead of this
    run's own. ``stream`` as for :meth:`Chain.arun`.
    """
    root = Path(run_dir)
    manifest = read_manifest(root)
    if (root / PENDING).exists():
        raise InputError(
            f"{root} was being rerun when it stopped: its outputs are part old, part new",
            hint=f"finish the rerun: dramaturg rerun {root}",
        )
    chain = load_chain_snapshot(root, manifest)
    recorded = manifest.settings
    values = resolve_inputs(chain.checked.spec.inputs, dict(manifest.inputs))
    options = RunOptions.as_recorded(
        recorded,
        concurrency=concurrency,
        retries=retries,
        backoff=backoff,
        cache=cache,
        export=export,
        on_event=on_event,
        limiter=limiter,
        step_cache=step_cache,
        stream=stream,
    )
    session = RunSession.open(
        chain.checked,
        values,
        options,
        path=chain.path,
        models=recorded_models(manifest, chain.checked.spec, models or {}),
        dry_run=bool(recorded.dry_run),
        seed=recorded.seed,
        chain_hash=manifest.chain.hash or content_hash(chain.text, chain.checked),
        chain_file=manifest.chain.file,
    )
    templates = "run folder" if chain.kept else "prompt folders"
    if on_event is not None:
        folders = None if chain.kept else [str(p) for p in chain.checked.prompt_dirs]
        on_event(Resume(run_dir=str(root), templates=templates, template_folders=folders))
    earlier = Earlier(
        started=manifest.started,
        history=[*manifest.resumed, {"at": time.time(), "templates": templates}],
        records=FinishedRecords(RunDir(root), manifest),
    )
    return await session.run(RunDir(root), earlier)


def load_chain_snapshot(root: Path, manifest: Manifest) -> Snapshot:
    """The chain as the run in ``root`` ran it, and whether its templates were kept there.

    The chain file is the run's snapshot; its prompt folders are found relative to where the
    chain file was, and the kept templates are looked up before them."""
    return load_snapshot(
        root,
        manifest.chain.path or manifest.chain.file,
        hint="only run folders written by `dramaturg run` can be resumed",
    )


def recorded_models(
    manifest: Manifest, spec: ChainSpec, given: Mapping[str, Any]
) -> dict[str, Any]:
    """The models the run in a folder used (its ``manifest``), as overrides of the chain's own
    where they differ (``--model`` at run time), plus the caller's ``given`` ones."""
    declared = resolved_models(spec.models)
    out: dict[str, Any] = {}
    for name, entry in manifest.models.items():
        if name in given or name not in declared:
            continue
        if "object" in entry:
            raise InputError(
                f"model '{name}' of this run was a Python object ({entry['object']})",
                hint=f"resume it from Python: dramaturg.resume_run(run_dir, models={{'{name}': "
                "<the model>}), or give another with --model "
                f"{name}=PROVIDER[:MODEL]",
            )
        used = {k: v for k, v in entry.items() if k != "dry_run"}
        own = declared[name]
        current = redact(own.model_dump(exclude_none=True, exclude_defaults=True))
        current["provider"] = own.provider
        if used == current:
            continue
        extra = used.get("extra")
        if isinstance(extra, dict):  # masked values come back from the chain file
            used["extra"] = {k: own.extra.get(k, v) if v == "***" else v for k, v in extra.items()}
        try:
            out[name] = ModelSpec.model_validate(used)
        except ValueError as exc:  # pydantic's ValidationError: a manifest changed by hand
            first = next(iter(str(exc).splitlines()), "")
            raise InputError(
                f"the run's manifest names model '{name}' as it was never written: {first}",
                hint=f"give it with --model {name}=PROVIDER[:MODEL], or restore manifest.json",
            ) from None
    return {**out, **given}
