"""Run a chain over many rows of inputs: each row an ordinary run, many rows at once, under one
set of limits for the whole batch.

- A row is a whole run (its own run folder under ``runs/<row-id>/``), started through the run
  session like any run; a failed row is a row with status ``failed``, never an exception
  (unless ``raise_on_error``).
- The limits hold across rows: calls in flight (``concurrency``) and each model's
  ``concurrency`` and ``rate_limit`` are one :class:`~dramaturg.run.limits.Limiter` shared by
  every row in flight; ``rows_in_flight`` rows run at once.
- Resuming is idempotent: a row ``rows.jsonl`` records as done is not run again (0 model
  calls); a row whose run folder exists but did not finish goes through ``resume`` (its finished
  steps kept); a row never started starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chain.checked import model_name_for
from ..errors import DramaturgError, RunFailedError
from ..events import BatchFinished, BatchStarted, Event, RowFinished, RowStarted
from ..result import RunResult
from ..run.limits import CallLimits, Limiter
from ..run.models import CallPolicy, ModelSet
from ..run.resume import aresume_run
from ..run.session import CacheSetting, RunOptions, RunSession
from ..store.readback import load_run
from ..store.rundir import RunDir
from ..store.snapshot import save_snapshot
from .folder import BatchFolder, RowRecord
from .job import BatchJob
from .rows import Row


@dataclass(frozen=True)
class BatchOptions:
    """How a batch goes."""

    #: rows running at once
    rows_in_flight: int = 4
    #: model calls in flight at once, over every row
    concurrency: int = 8
    retries: int | None = None
    backoff: float = 0.5
    cache: CacheSetting = None
    export: bool = True
    dry_run: bool = False
    seed: int | None = None
    #: models by name, as for :meth:`Chain.run` (objects are shared by every row)
    models: Mapping[str, Any] | None = None
    #: stop at the first failed row (the rows in flight are cancelled) and raise
    raise_on_error: bool = False
    #: called with the batch's events (``batch_started``, ``row_started``, ``row_finished``,
    #: ``batch_finished``)
    on_event: Callable[[Event], None] | None = None
    #: a step cache every row shares instead of opening ``cache`` (the driver's, on Ray)
    step_cache: Any = None
    #: called with each row's own run events, and the row's index
    on_run_event: Callable[[int, Event], None] | None = None


@dataclass
class RowResult:
    """One row of a batch, settled."""

    index: int
    id: str
    status: str
    run: RunResult | None = None
    run_dir: Path | None = None
    error: str | None = None
    calls: int = 0
    tokens: int = 0
    cost: float | None = None
    wall: float = 0.0
    #: the row was done before this call (resume): it made no model call
    kept: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "done"


@dataclass
class BatchResult:
    """A batch's rows, in table order."""

    rows: list[RowResult]
    batch_dir: Path | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def status(self) -> str:
        if self.count("stopped"):
            return "stopped"
        return "done" if self.ok else "failed"


class BatchRunner:
    """Runs a batch's rows (into ``folder``, or in memory when it is None)."""

    def __init__(
        self,
        job: BatchJob,
        rows: list[Row],
        folder: BatchFolder | None,
        options: BatchOptions,
        *,
        limiter: CallLimits | None = None,
        record: bool = True,
    ) -> None:
        """``limiter``: the limits every row's calls go through (None: the batch's own, from
        ``options`` and the chain's models); ``record``: write each settled row to rows.jsonl
        (a Ray node's runner does not: the driver does)."""
        self.job = job
        self.rows = rows
        self.folder = folder
        self.options = options
        self.policies = self._policies()
        self.limiter: CallLimits = limiter or Limiter(options.concurrency, self.policies)
        self.done = folder.records() if folder is not None else {}
        self.record = record

    def _policies(self) -> dict[str, CallPolicy]:
        """Each model's limits (its own, its provider's): one set for every row."""
        spec = self.job.checked.spec
        models = ModelSet(
            spec.models, self.options.models, dry_run=self.options.dry_run, inputs={}, seed=None
        )
        used = {model_name_for(s) for s in spec.steps.values()}
        return {n: models.policy(n, self.options.retries) for n in used}

    def emit(self, event: Event) -> None:
        if self.options.on_event is not None:
            self.options.on_event(event)

    def rows_at_once(self) -> int:
        """How many rows run at once."""
        return self.options.rows_in_flight

    def kept(self, row: Row) -> RowRecord | None:
        """The row's record when it is done already with these inputs."""
        record = self.done.get(row.index)
        ok = record is not None and record.status == "done" and record.digest == row.digest
        return record if ok else None

    async def as_completed(self) -> AsyncIterator[RowResult]:
        """Every row's result as it settles (rows done before first, in table order)."""
        kept = {r.index: record for r in self.rows if (record := self.kept(r)) is not None}
        todo = [r for r in self.rows if r.index not in kept]
        where = None if self.folder is None else str(self.folder.root)
        self.emit(BatchStarted(batch_dir=where, rows=len(self.rows), todo=len(todo)))
        for row in self.rows:
            if row.index in kept:
                yield self._kept_result(row, kept[row.index])
        gate = asyncio.Semaphore(max(1, self.rows_at_once()))
        tasks = [asyncio.ensure_future(self._guarded(gate, row)) for row in todo]
        try:
            for next_done in asyncio.as_completed(tasks):
                result = await next_done
                if self.options.raise_on_error and not result.ok:
                    raise RunFailedError(
                        f"row {result.index} ({result.id}) {result.status}: {result.error}"
                    )
                yield result
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _guarded(self, gate: asyncio.Semaphore, row: Row) -> RowResult:
        async with gate:
            return await self.run_one(row)

    async def run_one(self, row: Row) -> RowResult:
        """Run one row (resume it when its run folder holds an earlier attempt), record it."""
        resumed = self.folder is not None and self.folder.started(row.id)
        self.emit(RowStarted(row=row.index, id=row.id, resumed=resumed))
        start = time.monotonic()
        result = RowResult(row.index, row.id, "failed")
        try:
            run = await (self._resume(row) if resumed else self._start(row))
            result.run, result.run_dir = run, run.run_dir
            result.status = "done" if run.ok else "failed"
            failed = run.failed_steps()
            if failed:
                result.error = "; ".join(f"{s.id}: {s.error}" for s in failed)[:2000]
            result.calls, result.tokens, result.cost = (
                run.usage.calls,
                run.usage.total_tokens,
                run.cost,
            )
        except asyncio.CancelledError:
            result.status = "stopped"
            self._settle(row, result, start)
            raise
        except DramaturgError as exc:
            result.error = str(exc)
        if self.folder is not None and result.run_dir is None and self.folder.started(row.id):
            result.run_dir = self.folder.run_root(row.id)
        self._settle(row, result, start)
        return result

    def _settle(self, row: Row, result: RowResult, start: float) -> None:
        result.wall = time.monotonic() - start
        run_dir = None if result.run_dir is None else str(result.run_dir)
        if self.folder is not None and self.record:
            rel = (
                None
                if result.run_dir is None
                else str(result.run_dir.relative_to(self.folder.root))
            )
            self.folder.append(
                RowRecord(
                    row.index,
                    row.id,
                    row.digest,
                    result.status,
                    run=rel,
                    calls=result.calls,
                    tokens=result.tokens,
                    cost=result.cost,
                    wall=round(result.wall, 3),
                    error=result.error,
                    at=time.time(),
                )
            )
        self.emit(
            RowFinished(
                row=row.index,
                id=row.id,
                status=result.status,
                run_dir=run_dir,
                calls=result.calls,
                tokens=result.tokens,
                cost=result.cost,
                duration=round(result.wall, 3),
                error=result.error,
            )
        )

    def _run_events(self, row: Row) -> Callable[[Event], None] | None:
        forward = self.options.on_run_event
        if forward is None:
            return None
        return lambda event: forward(row.index, event)

    def _run_options(self, row: Row) -> RunOptions:
        o = self.options
        return RunOptions(
            concurrency=o.concurrency,
            retries=o.retries,
            backoff=o.backoff,
            cache=o.cache,
            export=o.export,
            on_event=self._run_events(row),
            limiter=self.limiter,
            step_cache=o.step_cache,
        )

    async def _start(self, row: Row) -> RunResult:
        job, o = self.job, self.options
        session = RunSession.open(
            job.checked,
            row.inputs,
            self._run_options(row),
            path=job.path,
            chain_hash=job.chain_hash,
            models=o.models,
            dry_run=o.dry_run,
            seed=o.seed,
        )
        folder = self.folder
        if folder is None:
            return await session.run(None)

        def new_folder() -> RunDir:
            rundir = folder.new_run(row.id)
            save_snapshot(rundir, job.text, job.checked)
            return rundir

        return await session.run(new_folder)

    async def _resume(self, row: Row) -> RunResult:
        assert self.folder is not None
        o = self.options
        return await aresume_run(
            self.folder.run_root(row.id),
            models=o.models,
            concurrency=o.concurrency,
            retries=o.retries,
            backoff=o.backoff,
            cache=o.cache,
            export=o.export,
            on_event=self._run_events(row),
            limiter=self.limiter,
            step_cache=o.step_cache,
        )

    def _kept_result(self, row: Row, record: RowRecord) -> RowResult:
        run_dir = (
            None if record.run is None or self.folder is None else self.folder.root / record.run
        )
        run = None
        if run_dir is not None:
            with contextlib.suppress(DramaturgError):
                run = load_run(run_dir)
        return RowResult(
            row.index,
            row.id,
            "done",
            run=run,
            run_dir=run_dir,
            calls=0,
            tokens=record.tokens,
            cost=record.cost,
            wall=record.wall or 0.0,
            kept=True,
        )

    async def run(self) -> BatchResult:
        results: dict[int, RowResult] = {}
        try:
            async for result in self.as_completed():
                results[result.index] = result
        except asyncio.CancelledError:
            self._finish(results, stopped=True)
            raise
        return self._finish(results, stopped=False)

    def _finish(self, results: dict[int, RowResult], *, stopped: bool) -> BatchResult:
        for row in self.rows:
            results.setdefault(row.index, RowResult(row.index, row.id, "stopped"))
        batch = BatchResult(
            [results[r.index] for r in self.rows],
            batch_dir=None if self.folder is None else self.folder.root,
        )
        self.emit(
            BatchFinished(
                status="stopped" if stopped else batch.status,
                done=batch.count("done"),
                failed=batch.count("failed"),
                stopped=batch.count("stopped"),
            )
        )
        if self.folder is not None:
            from .summary import write_summary

            write_summary(self.folder, batch)
            self.folder.close()
        return batch
