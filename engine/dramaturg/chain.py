"""The Python API: load a chain file, inspect it, run it."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import graph as graphs
from .errors import InputError, RunStorageError
from .events import CacheOff, ExportStarted
from .inputs import resolve_inputs
from .models import ModelSet
from .result import RunResult
from .rundir import RunDir, make_run_id
from .runner import Event, Runner, RunSettings, compiled_template
from .source import load_yaml, read_text
from .spec import ChainSpec, PromptRef
from .syncrun import run_sync
from .validate import Checked, check

if TYPE_CHECKING:
    import networkx as nx

    from .callplan import CallPlan
    from .memo import Memo
    from .records import FinishedRecords
    from .templateuse import TemplateUse

#: ``cache=`` of a run: None or True (the default folder), False (no cache) or a folder
CacheSetting = bool | str | os.PathLike[str] | None

DEFAULT_OUT = Path("outputs")


def load_chain(path: str | Path, *, templates: list[str | Path] | None = None) -> Chain:
    """Load and fully validate a chain file. Raises :class:`~dramaturg.ChainError`.

    ``templates`` are folders searched before the chain's own prompt folders, to override
    shipped templates without editing them.
    """
    p = Path(path)
    text = read_text(p)
    source = load_yaml(text, str(path))
    checked = check(source, p, [Path(t) for t in templates or []])
    _compile_templates(checked, str(p))
    return Chain(p, text, checked)


def _compile_templates(checked: Checked, chain_file: str) -> None:
    """Compile every step's templates now, as the runner keeps them, so that the first run does
    not pay for it on its critical path (~2-4 ms a template)."""
    for sid, step in checked.spec.steps.items():
        schema = getattr(step.parse, "schema_", None)
        refs = [("prompt", step.prompt), ("system", step.system), ("schema", schema)]
        for key, ref in refs:
            if isinstance(ref, PromptRef):
                with contextlib.suppress(Exception):  # validation has reported any problem
                    compiled_template(checked, sid, key, ref, chain_file)


class Chain:
    """A validated chain. Run it with :meth:`run` or ``await`` :meth:`arun`."""

    def __init__(self, path: Path, text: str, checked: Checked) -> None:
        self.path = path
        self.text = text
        self._checked = checked

    @property
    def spec(self) -> ChainSpec:
        return self._checked.spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def steps(self) -> list[str]:
        return list(self.spec.steps)

    def dependencies(self, step: str) -> tuple[str, ...]:
        """The steps whose outputs ``step`` reads (explicit ``needs`` and inferred)."""
        return self._checked.plans[step].deps

    def inputs_used(self, step: str) -> tuple[str, ...]:
        return self._checked.plans[step].inputs

    @property
    def graph(self) -> nx.DiGraph:
        attrs = {
            sid: {"kind": s.kind, "for_each": s.for_each, "model": self._checked.plans[sid].model}
            for sid, s in self.spec.steps.items()
        }
        return graphs.build_graph({s: p.deps for s, p in self._checked.plans.items()}, attrs)

    def templates(self) -> dict[str, list[TemplateUse]]:
        """Step id -> the template files it uses, resolved: prompt, system, schema and continue
        templates and those they include (``--templates`` overrides marked as such)."""
        from .templateuse import template_uses

        return template_uses(self._checked)

    @property
    def content_hash(self) -> str:
        """sha256 of the chain file and every template it uses."""
        h = hashlib.sha256(self.text.encode())
        files = sorted({f for p in self._checked.plans.values() for f in p.template_files})
        for f in files:
            h.update(f.encode() + b"\0")
            with contextlib.suppress(OSError):
                h.update(Path(f).read_bytes())
        return h.hexdigest()

    def run(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        """Run synchronously; see :meth:`arun` for the arguments."""
        return run_sync(lambda: self.arun(inputs, **kwargs), "Chain.run", "chain.arun")

    async def arun(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        models: Mapping[str, Any] | None = None,
        out: str | Path | None = DEFAULT_OUT,
        concurrency: int = 8,
        dry_run: bool = False,
        retries: int | None = None,
        backoff: float = 0.5,
        on_event: Callable[[Event], None] | None = None,
        text_inputs: frozenset[str] = frozenset(),
        export: bool = True,
        seed: int | None = None,
        cache: CacheSetting = None,
    ) -> RunResult:
        """Run the chain.

        ``models`` maps model names to ``"provider:model"`` strings, LangChain chat models or
        image models. ``out`` is the folder that receives ``<run-id>/`` (``None``: keep nothing on
        disk). After a successful run the chain's ``exports`` write their files there (an
        exporter failure raises ``ExportError``; the run's outputs are kept).
        ``seed`` replaces every model's seed for this run. ``dry_run`` replaces every model by
        the fakes. ``cache`` is the step cache: ``None`` its default folder
        (``$DRAMATURG_CACHE_DIR``, ``$XDG_CACHE_HOME/dramaturg`` or ``~/.cache/dramaturg``),
        ``False`` none, or a folder (which must be usable); dry runs use none. The result holds
        every step's
        status and output; check ``result.ok`` or call ``result.raise_for_status()``.
        """
        if concurrency < 1:
            raise InputError("concurrency must be at least 1")
        values = resolve_inputs(self.spec.inputs, dict(inputs or {}), from_text=text_inputs)
        model_set = self._model_set(models, dry_run=dry_run, inputs=values, seed=seed)
        chain_hash = self.content_hash
        memo = self._memo(cache, model_set, on_event)
        try:
            rundir = None
            if out is not None:
                from .snapshot import save_snapshot

                rundir = RunDir.create(Path(out), make_run_id(self.name, chain_hash, values))
                save_snapshot(rundir, self.text, self._checked)  # for resume and re-exports
            settings = RunSettings(concurrency=concurrency, retries=retries, backoff=backoff)
            return await self._execute(
                values,
                model_set,
                rundir,
                settings,
                chain_hash=chain_hash,
                on_event=on_event,
                memo=memo,
                export=export,
            )
        finally:
            if memo is not None:
                memo.close()

    def _model_set(
        self,
        models: Mapping[str, Any] | None,
        *,
        dry_run: bool,
        inputs: dict[str, Any],
        seed: int | None,
    ) -> ModelSet:
        model_set = ModelSet(self.spec.models, models, dry_run=dry_run, inputs=inputs, seed=seed)
        model_set.check_providers({self._checked.plans[s].model for s in self.spec.steps})
        for step in self.spec.steps.values():  # fail before any work if a model cannot load
            model_set.instance(step)
        return model_set

    def _memo(
        self,
        cache: CacheSetting,
        model_set: ModelSet,
        on_event: Callable[[Event], None] | None,
    ) -> Memo | None:
        """The step cache for a run: none for dry runs or ``cache=False``. When the default
        folder cannot be used the run goes on without a cache and says so (event
        ``cache_off``); a folder the caller named must work (else InputError: nothing ran)."""
        from .cache import StepCache, cache_dir_for
        from .memo import Memo

        where = None if model_set.dry_run else cache_dir_for(cache)
        if where is None:
            return None
        try:
            store = StepCache.open(where)
        except RunStorageError as exc:
            if cache not in (None, True):
                raise InputError(exc.message, hint=exc.hint) from None
            _cache_off(on_event)(f"running without the step cache: {exc}")
            return None
        return Memo(store, self._checked, model_set, _cache_off(on_event))

    def _run_memo(
        self,
        memo: Memo | None,
        model_set: ModelSet,
        rundir: RunDir | None,
        on_event: Callable[[Event], None] | None,
        plan: CallPlan | None,
    ) -> Memo | None:
        """A run with a folder keys every call and logs its answers there (a later rerun takes
        the unchanged ones from the log), with or without the step cache."""
        if rundir is None:
            return memo
        from .calllog import CallLog
        from .memo import Memo

        if memo is None:
            memo = Memo(None, self._checked, model_set, _cache_off(on_event))
        memo.log, memo.plan = CallLog(rundir), plan
        return memo

    async def _execute(
        self,
        values: dict[str, Any],
        model_set: ModelSet,
        rundir: RunDir | None,
        settings: RunSettings,
        *,
        chain_hash: str,
        on_event: Callable[[Event], None] | None,
        memo: Memo | None,
        export: bool,
        chain_file: str | None = None,
        previous: FinishedRecords | None = None,
        started: float | None = None,
        history: list[dict[str, Any]] | None = None,
        plan: CallPlan | None = None,
    ) -> RunResult:
        """Run the steps into ``rundir`` (a new run, or the folder of one being resumed or
        rerun: ``plan``)."""
        memo = self._run_memo(memo, model_set, rundir, on_event, plan)
        try:
            with rundir.lock() if rundir is not None else contextlib.nullcontext():
                if rundir is not None and previous is not None:
                    rundir.remove_leftovers()  # of the attempt that was killed
                runner = Runner(
                    self._checked,
                    chain_file or str(self.path),
                    chain_hash,
                    values,
                    model_set,
                    rundir,
                    settings,
                    on_event,
                    memo=memo,
                    previous=previous,
                    chain_path=str(self.path.resolve()),
                    started=started,
                    history=history,
                )
                result = await runner.run()
        finally:  # in this event loop, while its connections can still be closed cleanly
            await model_set.aclose()
            if memo is not None and memo.log is not None:
                memo.log.close()
        try:
            if export and result.ok and rundir is not None and self.spec.exports:
                from .runs import export_run

                if on_event is not None:
                    names = [e.type for e in self.spec.exports]
                    on_event(ExportStarted(exporters=names))
                export_run(result, self.spec.exports)
        finally:  # done or failed, exported or not: report.html tells what happened
            if rundir is not None:
                from .report import REPORT_FILE, write_report_quietly

                declared = {
                    sid: {"description": s.description, "for_each": s.for_each}
                    for sid, s in self.spec.steps.items()
                }
                if write_report_quietly(rundir.root, on_event, declared) is not None:
                    result.report = REPORT_FILE
        return result


def _cache_off(on_event: Callable[[Event], None] | None) -> Callable[[str], None]:
    """Reports that the step cache (or the call log) is off, as the event ``cache_off``."""

    def cache_off(reason: str) -> None:
        if on_event is not None:
            on_event(CacheOff(reason=reason))

    return cache_off
