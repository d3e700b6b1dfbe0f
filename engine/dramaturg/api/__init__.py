"""The Python API: load a chain file, inspect it, run it (:class:`Chain`, :func:`load_chain`);
resume a run (:mod:`.resume`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..batch.job import BatchJob
from ..batch.rows import Table
from ..batch.runner import BatchOptions, BatchResult
from ..chain import graph as graphs
from ..chain.checked import Checked, content_hash
from ..chain.inputs import resolve_inputs
from ..chain.validate import check
from ..result import RunResult
from ..run.render import compiled_template
from ..run.runner import Event
from ..run.session import CacheSetting, RunOptions, RunSession
from ..source import load_yaml, read_text
from ..spec import ChainSpec, PromptRef
from ..store.rundir import RunDir, make_run_id
from ..syncrun import run_sync

if TYPE_CHECKING:
    import networkx as nx

    from ..chain.templateuse import TemplateUse

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
    def checked(self) -> Checked:
        """The chain as checked: each step's plan (dependencies, inputs, model, templates)."""
        return self._checked

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
        from ..chain.templateuse import template_uses

        return template_uses(self._checked)

    @property
    def content_hash(self) -> str:
        """sha256 of the chain file and every template it uses."""
        return content_hash(self.text, self._checked)

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
        stream: bool = False,
    ) -> RunResult:
        """Run the chain.

        ``models`` maps model names to ``"provider:model"`` strings, LangChain chat models or
        image models. ``out`` is the folder that receives ``<run-id>/`` (``None``: keep nothing on
        disk). After a successful run the chain's ``exports`` write their files there (an
        exporter failure raises ``ExportError``; the run's outputs are kept).
        ``seed`` replaces every model's seed for this run. ``dry_run`` replaces every model by
        the fakes. ``cache`` is the step cache: ``None`` its default folder
        (``$DRAMATURG_CACHE_DIR``, ``$XDG_CACHE_HOME/dramaturg`` or ``~/.cache/dramaturg``),
        ``False`` none, or a folder (which must be usable); dry runs use none. ``stream``:
        ``on_event`` also gets each answer in pieces as the model writes it (``token`` events;
        the outputs are the same). The result holds every step's status and output; check
        ``result.ok`` or call ``result.raise_for_status()``.
        """
        options = RunOptions(
            concurrency=concurrency,
            retries=retries,
            backoff=backoff,
            cache=cache,
            export=export,
            on_event=on_event,
            stream=stream,
        )
        values = resolve_inputs(self.spec.inputs, dict(inputs or {}), from_text=text_inputs)
        session = self.session(values, options, models=models, dry_run=dry_run, seed=seed)
        if out is None:
            return await session.run(None)
        where = Path(out)

        def new_folder() -> RunDir:
            from ..store.snapshot import save_snapshot

            rundir = RunDir.create(where, make_run_id(self.name, session.chain_hash, values))
            save_snapshot(rundir, self.text, self._checked)  # for resume and re-exports
            return rundir

        return await session.run(new_folder)

    def batch(self, rows: Any, **kwargs: Any) -> BatchResult:
        """Run a batch synchronously; see :meth:`abatch` for the arguments."""
        return run_sync(lambda: self.abatch(rows, **kwargs), "Chain.batch", "chain.abatch")

    async def abatch(
        self,
        rows: Iterable[Mapping[str, Any]] | str | Path,
        *,
        out: str | Path | None = DEFAULT_OUT,
        mapping: Mapping[str, str] | None = None,
        constants: Mapping[str, str] | None = None,
        skip_bad_rows: bool = False,
        limit: int | None = None,
        executor: str = "local",
        address: str | None = None,
        **options: Any,
    ) -> BatchResult:
        """Run the chain once per row: ``rows`` is a CSV or JSON Lines file, or mappings of
        inputs. Every row is checked first (InputError naming the bad ones, unless
        ``skip_bad_rows``). The batch goes into a new folder in ``out`` (``None``: in memory),
        each row an ordinary run folder under ``runs/``. ``options``: those of
        :class:`~dramaturg.batch.runner.BatchOptions` (``rows_in_flight``, ``concurrency``,
        ``models``, ``cache``, ``raise_on_error``, ``on_event``, ...). A failed row does not
        raise unless ``raise_on_error``: check ``result.ok`` and each row's ``status``.
        ``executor="ray"`` runs the rows on a Ray cluster at ``address`` (None: a local Ray
        started for the batch); see docs/batch.md."""
        from ..batch.start import arun_batch

        job, table, data = self._batch_rows(rows, mapping, constants, skip_bad_rows, limit)
        return await arun_batch(
            job,
            table.rows,
            BatchOptions(**options),
            out=None if out is None else Path(out),
            data=data,
            skipped=table.skipped,
            executor=executor,
            address=address,
        )

    def batch_as_completed(
        self, rows: Iterable[Mapping[str, Any]] | str | Path, **kwargs: Any
    ) -> Iterator[tuple[int, RunResult | None]]:
        """``(row index, RunResult)`` of each row as it finishes (rows run in memory unless
        ``out`` is given; ``None`` for a row that failed before its run began). Leaving the
        loop early stops the batch."""
        from ..batch.sync import iterate

        return iterate(lambda: self.abatch_as_completed(rows, **kwargs))

    async def abatch_as_completed(
        self,
        rows: Iterable[Mapping[str, Any]] | str | Path,
        *,
        out: str | Path | None = None,
        mapping: Mapping[str, str] | None = None,
        constants: Mapping[str, str] | None = None,
        skip_bad_rows: bool = False,
        limit: int | None = None,
        **options: Any,
    ) -> AsyncIterator[tuple[int, RunResult | None]]:
        """The async form of :meth:`batch_as_completed`."""
        from ..batch.runner import BatchRunner
        from ..batch.start import new_batch

        job, table, data = self._batch_rows(rows, mapping, constants, skip_bad_rows, limit)
        settings = BatchOptions(**options)
        folder = None if out is None else new_batch(job, table.rows, Path(out), settings, data=data)
        async for row in BatchRunner(job, table.rows, folder, settings).as_completed():
            yield row.index, row.run

    def _batch_rows(
        self,
        rows: Iterable[Mapping[str, Any]] | str | Path,
        mapping: Mapping[str, str] | None,
        constants: Mapping[str, str] | None,
        skip_bad_rows: bool,
        limit: int | None,
    ) -> tuple[BatchJob, Table, dict[str, Any] | None]:
        from ..batch.rows import read_table, rows_of

        job = BatchJob(self._checked, self.text, self.path, self.content_hash)
        declared = self.spec.inputs
        if isinstance(rows, (str, Path)):
            table = read_table(
                Path(rows),
                declared,
                mapping=mapping,
                constants=constants,
                skip_bad_rows=skip_bad_rows,
                limit=limit,
            )
            return job, table, {"file": str(rows), "digest": table.digest}
        given = list(rows)[:limit] if limit is not None else list(rows)
        return job, Table(rows_of(given, declared), [], "", []), None

    def session(
        self,
        inputs: dict[str, Any],
        options: RunOptions,
        *,
        models: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        seed: int | None = None,
        chain_hash: str | None = None,
        chain_file: str | None = None,
        load_models: bool = True,
    ) -> RunSession:
        """The chain's steps ready to run for ``inputs`` (resolved) on its models (``models``
        as for :meth:`arun`, every one loaded now unless ``load_models`` is false: a session
        that only renders and keys calls). ``chain_hash`` and ``chain_file``: as a run
        recorded them, when the session goes on in that run's folder."""
        return RunSession.open(
            self._checked,
            inputs,
            options,
            path=self.path,
            models=models,
            dry_run=dry_run,
            seed=seed,
            chain_hash=chain_hash or self.content_hash,
            chain_file=chain_file,
            load_models=load_models,
        )
