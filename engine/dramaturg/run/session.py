"""One run of a chain's steps: the single path that ``run``, ``resume``, ``rerun`` and
``continue`` take.

A :class:`RunSession` holds what a run is made of (the checked chain, the run's inputs, its
models opened and checked, the run's options) and does what every entry did by itself before:
open the step cache, key and log the calls in the run folder, run the steps under the folder's
lock, close the models in the run's own event loop, export and write the report. The entries
differ only in the folder they give and what that folder already holds (:class:`Earlier`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, RunStorageError
from ..events import CacheOff, Event, ExportStarted
from ..store.rundir import RunDir
from ..store.storage import MemoryStore, RunStore
from .models import ModelSet
from .render import Renderer
from .runner import RunJob, Runner
from .stepcalls import RunSettings, StepCalls

if TYPE_CHECKING:
    from ..chain.checked import Checked
    from ..result import RunResult, StepResult
    from ..store.cache import CacheStore
    from ..store.manifest import Settings
    from ..store.records import FinishedRecords
    from .callplan import CallPlan
    from .limits import CallLimits
    from .memo import Memo

#: ``cache=`` of a run: None or True (the default folder), False (no cache) or a folder
CacheSetting = bool | str | os.PathLike[str] | None


def recorded_cache(value: str | None) -> Path | bool:
    """A cache setting as a run or a batch recorded it: the folder it used, or None when it ran
    without one (so its going on runs without one too)."""
    return False if value is None else Path(value)


@dataclass(frozen=True)
class RunOptions:
    """How a run goes, whichever entry starts it."""

    #: model calls in flight at once, over every model
    concurrency: int = 8
    #: retries after a transient model error (None: each model's own setting)
    retries: int | None = None
    #: seconds before the first retry, doubled at each
    backoff: float = 0.5
    #: the step cache: None (its default folder), False (none) or a folder
    cache: CacheSetting = None
    #: run the chain's exporters after a successful run
    export: bool = True
    #: called with every event of the run
    on_event: Callable[[Event], None] | None = None
    #: the step cache to use instead of opening ``cache`` (a batch's rows on Ray share the
    #: driver's); None: open ``cache``
    step_cache: CacheStore | None = None
    #: limits shared with other runs (a batch's rows): calls in flight and each model's
    #: concurrency and rate limit hold across all of them; None: the run's own
    limiter: CallLimits | None = None
    #: text calls stream: ``on_event`` gets a ``token`` event per piece of each answer as the
    #: model writes it (the answers, the step cache and the run folder are the same without)
    stream: bool = False

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise InputError("concurrency must be at least 1")

    @classmethod
    def as_recorded(
        cls,
        recorded: Settings,
        *,
        concurrency: int | None = None,
        retries: int | None = None,
        backoff: float = 0.5,
        cache: CacheSetting = None,
        export: bool = True,
        on_event: Callable[[Event], None] | None = None,
        limiter: CallLimits | None = None,
        step_cache: CacheStore | None = None,
        stream: bool = False,
    ) -> RunOptions:
        """The options of a run going on in its folder: ``concurrency`` and ``cache`` as its
        manifest's ``recorded`` settings have them unless given (no cache if it ran without)."""
        if cache is None and "cache" in recorded.model_fields_set:
            cache = recorded_cache(recorded.cache)
        return cls(
            concurrency=concurrency or recorded.concurrency or 8,
            retries=retries,
            backoff=backoff,
            cache=cache,
            export=export,
            on_event=on_event,
            limiter=limiter,
            step_cache=step_cache,
            stream=stream,
        )

    @property
    def settings(self) -> RunSettings:
        return RunSettings(
            concurrency=self.concurrency,
            retries=self.retries,
            backoff=self.backoff,
            limiter=self.limiter,
            stream=self.stream,
        )


@dataclass(frozen=True)
class Earlier:
    """What a run folder already holds when a run goes on in it (resume, rerun)."""

    #: when the run first started
    started: float | None = None
    #: the earlier attempts at the run (resumes), as the manifest lists them
    history: list[dict[str, Any]] = field(default_factory=list)
    #: resume: the finished work of the attempt that stopped, to keep
    records: FinishedRecords | None = None
    #: rerun: which calls to keep, pin and force
    plan: CallPlan | None = None


class RunSession:
    """A chain's steps, ready to run for one run's inputs on its models."""

    def __init__(
        self,
        checked: Checked,
        inputs: dict[str, Any],
        models: ModelSet,
        options: RunOptions,
        *,
        chain_file: str,
        chain_path: str,
        chain_hash: str,
    ) -> None:
        self.checked = checked
        self.inputs = inputs
        self.models = models
        self.options = options
        self.chain_file = chain_file
        self.chain_path = chain_path
        self.chain_hash = chain_hash
        #: renders the calls of the chain's steps for these inputs
        self.renderer = Renderer(checked, chain_file, inputs)

    def with_options(self, options: RunOptions) -> RunSession:
        """This session with other options (the same models, still open)."""
        return RunSession(
            self.checked,
            self.inputs,
            self.models,
            options,
            chain_file=self.chain_file,
            chain_path=self.chain_path,
            chain_hash=self.chain_hash,
        )

    @classmethod
    def open(
        cls,
        checked: Checked,
        inputs: dict[str, Any],
        options: RunOptions,
        *,
        path: Path,
        chain_hash: str,
        models: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        seed: int | None = None,
        chain_file: str | None = None,
        load_models: bool = True,
    ) -> RunSession:
        """The steps of the chain file at ``path`` (checked) ready to run for ``inputs``
        (resolved) on its models (every one loaded now, unless ``load_models`` is false: then
        the session renders and keys calls, and loads a model only when one is called).
        ``chain_file``: the name the run gives the chain file (default ``path``)."""
        model_set = cls.open_models(
            checked, models, dry_run=dry_run, inputs=inputs, seed=seed, load=load_models
        )
        return cls(
            checked,
            inputs,
            model_set,
            options,
            chain_file=chain_file or str(path),
            chain_path=str(path.resolve()),
            chain_hash=chain_hash,
        )

    @staticmethod
    def open_models(
        checked: Checked,
        models: Mapping[str, Any] | None,
        *,
        dry_run: bool,
        inputs: dict[str, Any],
        seed: int | None,
        load: bool = True,
    ) -> ModelSet:
        """The run's models, every one loaded now (unless not ``load``): a model that cannot
        load fails the run before any work."""
        spec = checked.spec
        model_set = ModelSet(spec.models, models, dry_run=dry_run, inputs=inputs, seed=seed)
        model_set.check_providers({checked.plans[s].model for s in spec.steps})
        if load:
            for step in spec.steps.values():
                model_set.instance(step)
        return model_set

    def emit_cache_off(self, reason: str) -> None:
        """Report that the step cache (or the call log) is off, as the event ``cache_off``."""
        self._emit(CacheOff(reason=reason))

    def open_memo(self) -> Memo | None:
        """The step cache for a run: none for dry runs or ``cache=False``. When the default
        folder cannot be used the run goes on without a cache and says so (event
        ``cache_off``); a folder the caller named must work (else InputError: nothing ran)."""
        from ..store.cache import StepCache, cache_dir_for
        from .memo import Memo

        cache = self.options.cache
        if self.options.step_cache is not None and not self.models.dry_run:
            return Memo(self.options.step_cache, self.checked, self.models, self.emit_cache_off)
        where = None if self.models.dry_run else cache_dir_for(cache)
        if where is None:
            return None
        try:
            store = StepCache.open(where)
        except RunStorageError as exc:
            if cache not in (None, True):
                raise InputError(exc.message, hint=exc.hint) from None
            self.emit_cache_off(f"running without the step cache: {exc}")
            return None
        return Memo(store, self.checked, self.models, self.emit_cache_off)

    def step_calls(self, results: dict[str, StepResult]) -> StepCalls:
        """The model calls of the chain's steps outside a run (``continue``), with the run's
        retries and limits; ``results`` receives their usage."""
        settings = self.options.settings
        return StepCalls.for_run(
            self.checked, self.models, settings, results, MemoryStore(), self._emit
        )

    def _emit(self, event: Event) -> None:
        if self.options.on_event is not None:
            self.options.on_event(event)

    async def run(
        self, folder: RunStore | Callable[[], RunStore] | None, earlier: Earlier | None = None
    ) -> RunResult:
        """Run the steps into ``folder`` (``None``: keep nothing on disk; a function: make the
        folder of a new run once the step cache is open, so that a cache that cannot open leaves
        no folder behind); ``earlier``: what the folder holds when the run goes on in it.
        Closes the models and the step cache."""
        memo = self.open_memo()
        try:
            store = folder() if callable(folder) else folder
            return await self._run(store or MemoryStore(), earlier or Earlier(), memo)
        finally:
            if memo is not None:
                memo.close()

    async def aclose(self) -> None:
        """Close the models' connections (in the event loop that used them)."""
        await self.models.aclose()

    def _job(self, earlier: Earlier | None) -> RunJob:
        earlier = earlier or Earlier()
        return RunJob(
            checked=self.checked,
            chain_file=self.chain_file,
            chain_path=self.chain_path,
            chain_hash=self.chain_hash,
            inputs=self.inputs,
            models=self.models,
            settings=self.options.settings,
            on_event=self.options.on_event,
            previous=earlier.records,
            started=earlier.started,
            history=list(earlier.history),
        )

    def _run_memo(self, memo: Memo | None, store: RunStore, plan: CallPlan | None) -> Memo | None:
        """A run with a folder keys every call and logs its answers there (a later rerun takes
        the unchanged ones from the log), with or without the step cache."""
        if not isinstance(store, RunDir):
            return memo
        from ..store.calllog import CallLog
        from .memo import Memo

        if memo is None:
            memo = Memo(None, self.checked, self.models, self.emit_cache_off)
        memo.log, memo.plan = CallLog(store), plan
        return memo

    async def _run(self, store: RunStore, earlier: Earlier, memo: Memo | None) -> RunResult:
        memo = self._run_memo(memo, store, earlier.plan)
        on_event = self.options.on_event
        try:
            with store.lock():
                if earlier.records is not None:
                    store.remove_leftovers()  # of the attempt that was killed
                result = await Runner(self._job(earlier), store, memo).run()
        finally:  # in this event loop, while its connections can still be closed cleanly
            await self.aclose()
            if memo is not None and memo.log is not None:
                memo.log.close()
        spec = self.checked.spec
        try:
            if self.options.export and result.ok and store.persistent and spec.exports:
                from ..store.readback import export_run

                if on_event is not None:
                    names = [e.type for e in spec.exports]
                    on_event(ExportStarted(exporters=names))
                export_run(result, spec.exports)
        finally:  # done or failed, exported or not: report.html tells what happened
            if store.root is not None:  # a folder a person opens
                from ..observe.report import REPORT_FILE, write_report_quietly

                declared = {
                    sid: {"description": s.description, "for_each": s.for_each}
                    for sid, s in spec.steps.items()
                }
                if write_report_quietly(store.root, on_event, declared) is not None:
                    result.report = REPORT_FILE
        return result
