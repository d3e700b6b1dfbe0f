"""Run one chain: render each step's templates, call its model, parse, and record it on disk.

The scheduling is the generic :class:`~dramaturg.run.executor.Executor`'s; this module supplies the
job for each step (a single call, or one call per ``for_each`` item, run concurrently) and keeps
the run folder and manifest up to date.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .. import events
from ..chain.checked import Checked, model_name_for
from ..errors import DramaturgError, RunStorageError, StepError
from ..events import Event
from ..result import RunResult, StepResult
from ..secrets import scrub
from ..spec import StepSpec
from ..store.records import CallRecord, FinishedRecords
from ..store.rundir import RunDir
from ..store.storage import RunStore
from ..store.writer import Writer
from .accounting import Accounts
from .answerschemas import AnswerSchemas
from .executor import Executor
from .memo import Memo
from .models import ModelSet
from .render import Renderer, prompt_record
from .runmanifest import ManifestWriter, run_manifest, run_result
from .stepcalls import RunSettings, StepCalls

__all__ = ["Event", "RunJob", "RunSettings", "Runner", "StepError"]


@dataclass(frozen=True)
class RunJob:
    """What one execution of a chain's steps is made of, besides its folder and step cache."""

    checked: Checked
    #: the chain file as the run names it (manifest, messages) and its absolute path
    chain_file: str
    chain_path: str | None
    chain_hash: str
    inputs: dict[str, Any]
    models: ModelSet
    settings: RunSettings
    on_event: Callable[[Event], None] | None = None
    #: resume: the finished work of the attempt that stopped
    previous: FinishedRecords | None = None
    #: when the run first started, and its earlier attempts (resumes)
    started: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


class Runner:
    """Runs the steps of a validated chain into a run folder."""

    def __init__(self, job: RunJob, store: RunStore, memo: Memo | None) -> None:
        checked, inputs, models, settings = job.checked, job.inputs, job.models, job.settings
        chain_file = job.chain_file
        self.checked = checked
        self.spec = checked.spec
        self.inputs = inputs
        self.models = models
        #: where the run's records, prompts, images and manifest go (a folder, or memory)
        self.store = store
        self.settings = settings
        self.on_event = job.on_event
        self.chain_file = chain_file
        #: renders every call of the run's steps
        self.renderer = Renderer(checked, chain_file, inputs)
        self.schemas = AnswerSchemas(self.renderer.render, chain_file)
        self.chain_hash = job.chain_hash
        self.chain_path = job.chain_path
        #: the step cache (None: off) and, when resuming, the earlier attempt's finished work
        self.memo = memo
        self.previous = job.previous
        #: steps kept whole from the earlier attempt (their dependents may keep theirs)
        self._kept_whole: set[str] = set()
        #: earlier attempts at this run (resumes), recorded in the manifest
        self.history = list(job.history)
        used = {model_name_for(s) for s in self.spec.steps.values()}
        self.used_models = used
        self.results = {sid: StepResult(sid) for sid in self.spec.steps}
        #: token and cost accounting (the price table is read once per run)
        self.accounts = Accounts.for_run(models, self.spec.steps)
        self.calls = StepCalls.for_run(checked, models, settings, self.results, store, self.emit)
        self.status = "running"
        self.started = job.started or time.time()
        self.ended: float | None = None
        #: prompts, records and in-progress manifests, written off the critical path; the run
        #: waits for them before it ends
        self._writer = Writer() if store.persistent else None
        self._manifests = ManifestWriter(store, self._writer)

    # -- events and the manifest -------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def manifest(self) -> dict[str, Any]:
        return run_manifest(self)

    def flush(self, force: bool = False, *, durable: bool = True) -> None:
        """Write the manifest (see :class:`~dramaturg.run.runmanifest.ManifestWriter`)."""
        self._manifests.flush(self.manifest, force=force, durable=durable)

    # -- running -----------------------------------------------------------------------------
    async def run(self) -> RunResult:
        # the first manifest: written before any step, not fsynced (a killed process cannot
        # lose it; only a power cut could, and the final manifest is fsynced)
        self.flush(force=True, durable=False)
        run_dir = None if self.store.root is None else str(self.store.root)
        steps = list(self.spec.steps)
        self.emit(events.RunStarted(chain=self.spec.name, run_dir=run_dir, steps=steps))
        for warning in self.accounts.warnings:
            self.emit(events.WarningEvent(message=warning))
        deps = {sid: self.checked.plans[sid].deps for sid in self.spec.steps}
        executor = Executor(deps, self._run_step, on_skip=self._skipped)
        try:
            await executor.run()
        except asyncio.CancelledError:
            self.status = "interrupted"
            for r in self.results.values():
                if r.status == "running":
                    r.status, r.ended = "cancelled", time.time()
            raise
        finally:
            stored = await asyncio.to_thread(self._writer.drain) if self._writer else []
            if self.status == "running":
                failed = any(r.status == "failed" for r in self.results.values())
                self.status = "failed" if failed else "done"
            self.ended = time.time()
            self.flush(force=True)
            self.emit(events.RunFinished(status=self.status))
        if stored:
            raise stored[0]  # a write that failed (a full disk, say)
        return self.result()

    def result(self) -> RunResult:
        return run_result(self)

    def _skipped(self, sid: str, because: str) -> None:
        r = self.results[sid]
        r.status, r.skipped_because = "skipped", because
        self.emit(events.StepSkipped(step=sid, because=because))
        self.flush()

    def _resume_step(self, sid: str, spec: StepSpec, done: CallRecord) -> Any:
        """A step the earlier attempt at this run finished: keep its output, call nothing."""
        r = self.results[sid]
        r.output, r.status, r.attempts = done.output, "done", done.attempts
        if done.usage:
            r.usage.add(done.usage)
        started, ended = self.previous.times(sid) if self.previous else (None, None)
        r.started, r.ended = started or time.time(), ended or time.time()
        if spec.for_each is not None and isinstance(done.output, list):
            r.items_total = r.items_done = r.resumed = len(done.output)
        else:
            r.resumed = 1
        self.emit(events.Resumed(step=sid, item=None))
        self.flush()
        return done.output

    def _earlier(self, sid: str) -> FinishedRecords | None:
        """The earlier attempt's records, to keep a step's work from: only when every step it
        reads was kept whole too. A dependency that runs again may answer differently, and the
        step's old work (saved while that dependency's own record was still being written, when
        the process was killed) would not fit it."""
        if self.previous is None:
            return None
        deps = self.checked.plans[sid].deps
        return self.previous if all(d in self._kept_whole for d in deps) else None

    async def _run_step(self, sid: str) -> Any:
        spec = self.spec.steps[sid]
        r = self.results[sid]
        earlier = self._earlier(sid)
        if earlier is not None:
            done = earlier.step(sid, spec.kind)
            if done is not None:
                self._kept_whole.add(sid)
                return self._resume_step(sid, spec, done)
        r.status, r.started = "running", time.time()
        self.emit(events.StepStarted(step=sid))
        self.flush()
        extra: dict[str, Any] = {}
        try:
            context = self.renderer.context(sid, self._output_of)
            if spec.for_each is not None:
                output = await self._fan_out(sid, spec, context)
            else:
                record = await self._one(sid, spec, context, None)
                output = record.output
                if record.raw is not None:
                    extra["raw"] = record.raw
                if record.repairs:
                    extra["repairs"] = record.repairs
                if r.cached:
                    extra["cached"] = True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            r.status, r.ended = "failed", time.time()
            r.error_type = type(exc).__name__
            r.error = scrub(
                str(exc)
                if isinstance(exc, DramaturgError)
                else f"internal error: {type(exc).__name__}: {exc}"
            )
            self._save_step(sid, {"status": "failed", "error": r.error})
            self.emit(events.StepFailed(step=sid, error=r.error, usage=r.usage.as_dict()))
            self.flush()
            raise
        r.output, r.status, r.ended = output, "done", time.time()
        # the dependents start now, while the record is written and fsynced in a thread;
        # resume reads step files, not the manifest, so a record lost to a crash is redone
        self._background(self._save_step, sid, {"status": "done", "output": output, **extra})
        self.emit(
            events.StepFinished(
                step=sid,
                duration=r.duration,
                usage=r.usage.as_dict(),
                model=self.accounts.ref(sid),
                cost=self.accounts.step_cost(sid, r.usage),
            )
        )
        self.flush()
        return output

    def _background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a file write (memory takes it at once); the run waits for it before it ends."""
        if self._writer is None:
            fn(*args)
        else:
            self._writer.submit(fn, *args)

    def _save_step(self, sid: str, data: dict[str, Any]) -> None:
        r = self.results[sid]
        self.store.write_json(
            RunDir.step_file(sid),
            {"step": sid, **data, "usage": r.usage.as_dict(), "attempts": r.attempts},
        )

    def _output_of(self, sid: str) -> Any:
        return self.results[sid].output

    async def _fan_out(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> list[Any]:
        items = self.renderer.items(sid, spec, context)
        r = self.results[sid]
        r.items_total = len(items)
        self.emit(events.FanOut(step=sid, item_count=len(items)))

        earlier = self._earlier(sid)
        # each item's output once it is final: the loop guard of an item compares it with the
        # items before it, so an item's text depends on those alone, whatever runs at once
        loop = asyncio.get_running_loop()
        final: list[asyncio.Future[Any]] = [loop.create_future() for _ in items]

        async def before(i: int) -> list[Any]:
            return [await f for f in final[:i]]

        async def item(i: int, value: Any) -> Any:
            try:
                return await run_item(i, value)
            finally:
                if not final[i].done():  # failed or cancelled: later items do not wait
                    final[i].set_result(None)

        async def run_item(i: int, value: Any) -> Any:
            done = earlier.item(sid, i, spec.kind) if earlier else None
            if done is not None:  # finished by the earlier attempt at this run
                out = done.output
                r.resumed += 1
                r.attempts += done.attempts
                if done.usage:
                    r.usage.add(done.usage)
                self.emit(events.Resumed(step=sid, item=i))
            else:
                ctx = self.renderer.item_context(spec, context, i, value)
                record = await self._one(sid, spec, ctx, i, earlier=lambda: before(i))
                out = record.output
                done = record
            final[i].set_result(out)
            r.items_done += 1
            self.emit(
                events.ItemFinished(
                    step=sid,
                    item=i,
                    done=r.items_done,
                    total=len(items),
                    cached=done.cached,
                    usage={} if done.cached else done.usage,
                )
            )
            self.flush()
            return out

        results = await asyncio.gather(
            *(item(i, v) for i, v in enumerate(items)), return_exceptions=True
        )
        errors = [(i, e) for i, e in enumerate(results) if isinstance(e, BaseException)]
        for _, e in errors:
            if isinstance(e, asyncio.CancelledError):
                raise e
        if errors:
            r.items_failed = len(errors)
            i, first = errors[0]
            more = f" (and {len(errors) - 1} more item(s))" if len(errors) > 1 else ""
            raise StepError(f"step '{sid}' item {i}: {first}{more}") from first
        return list(results)

    async def _one(
        self,
        sid: str,
        spec: StepSpec,
        context: dict[str, Any],
        item: int | None,
        earlier: Callable[[], Awaitable[list[Any]]] | None = None,
    ) -> CallRecord:
        """One call of a step (or one fan-out item): from the step cache, or from the model.
        ``earlier``: the outputs of the fan-out's earlier items (for the loop guard)."""
        failed = self.store.failed  # a full disk, say: what no file can keep is not worth a
        if failed is not None:  # model call
            raise RunStorageError(failed.message, hint=failed.hint)
        render = self.renderer.render
        prompt = render(sid, "prompt", spec.prompt, context)
        system = render(sid, "system", spec.system, context) if spec.system else ""
        sent = prompt_record(prompt, system)
        # written in a thread: the call does not wait for the disk
        self._background(self.store.write_prompt, RunDir.prompt_file(sid, item), sent)
        schema = self.schemas.for_call(sid, spec, context) if spec.kind != "image" else None
        queued = time.time()
        memo = self.memo
        key = memo.key(sid, spec, item, prompt, system, schema) if memo else None
        record = memo.get(spec, key) if memo else None
        seed = memo.seed(sid, item) if memo else None  # a rerun may give a call its own seed
        cached = record is not None
        if record is not None:
            record.cached = True
            self.results[sid].cached += 1
            self.emit(events.Cached(step=sid, item=item))
        elif spec.kind == "image":
            record = await self.calls.image(sid, spec, prompt, item, seed)
        else:
            guard = spec.parse.loops
            read = (
                [context[d] for d in self.checked.plans[sid].deps if d in context]
                if guard is not None and guard.copy_words
                else []
            )
            record = await self.calls.text(
                sid, spec, prompt, system, item, schema, seed, earlier=earlier, read=read
            )
        began = self.calls.began.pop((sid, item), queued)
        r = self.results[sid]
        r.began = began if r.began is None else min(r.began, began)
        times = {"queued": queued, "started": began, "ended": time.time()}
        self._record(sid, item, record, cached=cached, times=times)
        if memo is not None and not cached:
            memo.put(sid, key, record)
        return record

    def _record(
        self,
        sid: str,
        item: int | None,
        record: CallRecord,
        *,
        cached: bool,
        times: dict[str, float] | None = None,
    ) -> None:
        """Save a finished call in the run folder: its image, and a fan-out item's record.

        Both are atomic renames, which a killed process (SIGKILL too) cannot leave half done;
        the item record is not fsynced (the step's own file, fsynced, holds every item too)."""
        if record.image is not None:
            self.store.write_bytes(record.output["image"], record.image)
        if item is not None:
            data = record.item_json(sid, item, cached=cached, times=times)
            self._background(self.store.write_record, RunDir.step_file(sid, item), data)
