"""Run one chain: render each step's templates, call its model, parse, and record it on disk.

The scheduling is the generic :class:`~dramaturg.executor.Executor`'s; this module supplies the
job for each step (a single call, or one call per ``for_each`` item, run concurrently) and keeps
the run folder and manifest up to date.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import __version__, events
from .accounting import Accounts
from .answerschemas import AnswerSchemas
from .errors import DramaturgError, RunStorageError, TemplateRenderError
from .events import Event
from .executor import Executor
from .fanout import FanOutError, fan_out_items
from .memo import Memo
from .models import ModelSet
from .records import CallRecord, FinishedRecords
from .result import RunResult, StepResult, Usage
from .rundir import RunDir
from .secrets import scrub
from .spec import PromptRef, StepSpec
from .stepcalls import RunSettings, StepCalls, StepError
from .templates import render
from .validate import Checked, model_name_for
from .writer import Writer

__all__ = ["Event", "RunSettings", "Runner", "StepError"]


def compiled_template(
    checked: Checked, sid: str, key: str, ref: PromptRef, chain_file: str
) -> tuple[Any, str, int]:
    """A step's template ("prompt", "system" or "schema") compiled once per chain (kept in
    ``checked.compiled``), with the file and line offset its render errors point to."""
    cache_key = (sid, key)
    if cache_key not in checked.compiled:
        t = checked.templates
        if ref.file is not None:
            checked.compiled[cache_key] = (t.load(ref.file), ref.file, 0)
        else:
            offset = checked.inline_offsets.get(cache_key, 0)
            checked.compiled[cache_key] = (t.inline(ref.text or ""), chain_file, offset)
    return checked.compiled[cache_key]  # type: ignore[no-any-return]


class Runner:
    """Runs the steps of a validated chain into a run folder."""

    def __init__(
        self,
        checked: Checked,
        chain_file: str,
        chain_hash: str,
        inputs: dict[str, Any],
        models: ModelSet,
        rundir: RunDir | None,
        settings: RunSettings,
        on_event: Callable[[Event], None] | None = None,
        *,
        memo: Memo | None = None,
        previous: FinishedRecords | None = None,
        chain_path: str | None = None,
        started: float | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        self.checked = checked
        self.spec = checked.spec
        self.inputs = inputs
        self.models = models
        self.rundir = rundir
        self.settings = settings
        self.on_event = on_event
        self.chain_file = chain_file
        self.schemas = AnswerSchemas(self._render, chain_file)
        self.chain_hash = chain_hash
        self.chain_path = chain_path
        #: the step cache (None: off) and, when resuming, the earlier attempt's finished work
        self.memo = memo
        self.previous = previous
        #: steps kept whole from the earlier attempt (their dependents may keep theirs)
        self._kept_whole: set[str] = set()
        #: earlier attempts at this run (resumes), recorded in the manifest
        self.history = list(history or [])
        used = {model_name_for(s) for s in self.spec.steps.values()}
        self.used_models = used
        self.results = {sid: StepResult(sid) for sid in self.spec.steps}
        #: token and cost accounting (the price table is read once per run)
        self.accounts = Accounts.for_run(models, self.spec.steps)
        policies = {n: models.policy(n, settings.retries) for n in used}
        self.calls = StepCalls(models, settings, policies, self.results, rundir, self.emit, checked)
        self.status = "running"
        self.started = started or time.time()
        self.ended: float | None = None
        self._compiled = checked.compiled  # shared by every run of the chain
        self._last_flush = 0.0
        self._flush_interval = 0.2
        #: prompts, records and in-progress manifests, written off the critical path; the run
        #: waits for them before it ends
        self._writer = Writer() if rundir is not None else None

    # -- events and the manifest -------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def manifest(self) -> dict[str, Any]:
        total = Usage()
        for r in self.results.values():
            total.add(r.usage)
        steps = {}
        for sid, r in self.results.items():
            spec = self.spec.steps[sid]
            entry: dict[str, Any] = {
                "status": r.status,
                "kind": spec.kind,
                "model": model_name_for(spec),
                "needs": list(self.checked.plans[sid].deps),
                "started": r.started,
                "ended": r.ended,
                "attempts": r.attempts,
                "usage": r.usage.as_dict(),
                "cached": r.cached,
                "resumed": r.resumed,
                "began": r.began,
                "model_ref": self.accounts.ref(sid),
                "cost": self.accounts.step_cost(sid, r.usage),
            }
            if isinstance(r.output, list):
                entry["length"] = len(r.output)
            if r.repairs:
                entry["repairs"] = r.repairs
            if spec.for_each is not None:
                entry["items"] = {
                    "total": r.items_total,
                    "done": r.items_done,
                    "failed": r.items_failed,
                }
            if r.status == "done":
                entry["output"] = RunDir.step_file(sid)
            if r.error:
                entry["error"] = {"type": r.error_type, "message": r.error}
            if r.skipped_because:
                entry["skipped_because"] = r.skipped_because
            steps[sid] = entry
        chain = {"name": self.spec.name, "file": self.chain_file, "hash": self.chain_hash}
        if self.chain_path:
            chain["path"] = self.chain_path
        settings = {
            "concurrency": self.settings.concurrency,
            "dry_run": self.models.dry_run,
            "seed": self.models.seed,
            "cache": str(self.memo.location) if self.memo and self.memo.location else None,
        }
        manifest: dict[str, Any] = {
            "dramaturg": __version__,
            "run_id": self.rundir.id if self.rundir else None,
            "status": self.status,
            "chain": chain,
            "started": self.started,
            "ended": self.ended,
            "inputs": self.inputs,
            "models": self.models.public(self.used_models),
            "settings": settings,
            "outputs": self.spec.output_steps(),
            "usage": total.as_dict(),
            **self.accounts.summary(self.results),
            "steps": steps,
        }
        if self.history:
            manifest["resumed"] = self.history
        return manifest

    def flush(self, force: bool = False, *, durable: bool = True) -> None:
        """Write the manifest unless forced (a final flush always runs) at most every 0.2 s and
        every 10x the last write's duration, so that rewriting it stays under ~10 % of the run
        however many steps the manifest lists."""
        if self.rundir is None:
            return
        start = time.monotonic()
        if not force and start - self._last_flush < self._flush_interval:
            self._flush_pending = True
            return
        # in-progress manifests are compact, not fsynced, and written by the writer thread (in
        # order with the step files); the first and the final one now, the final one durable
        data = self.manifest()
        if force and durable:
            self.rundir.write_json("manifest.json", data)
        elif force:
            self._write_manifest(data)
        else:
            self._background(self._write_manifest, data)
        self._last_flush = end = time.monotonic()
        self._flush_interval = max(0.2, 10 * (end - start))

    # -- running -----------------------------------------------------------------------------
    async def run(self) -> RunResult:
        # the first manifest: written before any step, not fsynced (a killed process cannot
        # lose it; only a power cut could, and the final manifest is fsynced)
        self.flush(force=True, durable=False)
        run_dir = str(self.rundir.root) if self.rundir else None
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
        total = Usage()
        for r in self.results.values():
            total.add(r.usage)
            self.accounts.price_step(r)
        costs = [r.cost for r in self.results.values()]
        return RunResult(
            run_id=self.rundir.id if self.rundir else "in-memory",
            chain=self.spec.name,
            status=self.status,
            steps=self.results,
            output_steps=self.spec.output_steps(),
            run_dir=self.rundir.root if self.rundir else None,
            usage=total,
            inputs=dict(self.inputs),
            cost=None if None in costs else sum(c or 0.0 for c in costs),
            currency=self.accounts.table.currency,
        )

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
            context = self._context(sid)
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
        if self.rundir is not None:
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

    def _write_manifest(self, data: dict[str, Any]) -> None:
        assert self.rundir is not None
        self.rundir.write_text("manifest.json", json.dumps(data, default=str), durable=False)

    def _background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a file write (the run has a folder); the run waits for it before it ends."""
        assert self._writer is not None
        self._writer.submit(fn, *args)

    def _save_step(self, sid: str, data: dict[str, Any]) -> None:
        if self.rundir is not None:
            r = self.results[sid]
            self.rundir.write_json(
                RunDir.step_file(sid),
                {"step": sid, **data, "usage": r.usage.as_dict(), "attempts": r.attempts},
            )

    def _context(self, sid: str) -> dict[str, Any]:
        ctx = dict(self.inputs)
        for dep in self.checked.plans[sid].deps:
            ctx[dep] = self.results[dep].output
        return ctx

    async def _fan_out(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> list[Any]:
        items = self._items(sid, spec, context)
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
                ctx = {**context, spec.as_: value, "index": i}
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

    def _items(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> list[Any]:
        expr = spec.for_each or ""
        where = f"{self.chain_file} (steps.{sid}.for_each)"
        try:
            key = (sid, "for_each")
            if key not in self._compiled:  # compiling costs ~1.5 ms: once per chain
                env = self.checked.templates.env
                self._compiled[key] = env.compile_expression(expr, undefined_to_none=False)
            value = self._compiled[key](**context)
        except Exception as exc:
            raise TemplateRenderError(f"{where}: cannot evaluate '{expr}': {exc}") from None
        try:
            return fan_out_items(value, spec.max_items)
        except FanOutError as exc:
            raise StepError(
                f"step '{sid}': for_each '{expr}' {exc}",
                hint="raise the step's max_items if so many calls are intended"
                if "max_items" in str(exc)
                else "make the upstream step produce a list",
            ) from None

    def _template(self, sid: str, key: str, ref: PromptRef) -> tuple[Any, str, int]:
        return compiled_template(self.checked, sid, key, ref, self.chain_file)

    def _render(self, sid: str, key: str, ref: PromptRef, context: dict[str, Any]) -> str:
        template, where, offset = self._template(sid, key, ref)
        return render(template, context, where=where, line_offset=offset)

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
        if self.rundir is not None and self.rundir.failed is not None:  # a full disk, say:
            failed = self.rundir.failed  # what no file can keep is not worth a model call
            raise RunStorageError(failed.message, hint=failed.hint)
        prompt = self._render(sid, "prompt", spec.prompt, context)
        system = self._render(sid, "system", spec.system, context) if spec.system else ""
        if self.rundir is not None:
            sent = f"=== system ===\n{system}\n=== prompt ===\n{prompt}\n" if system else prompt
            # written in a thread: the call does not wait for the disk
            self._background(self.rundir.write_prompt, RunDir.prompt_file(sid, item), sent)
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
        if self.rundir is None:
            return
        if record.image is not None:
            self.rundir.write_bytes(record.output["image"], record.image)
        if item is not None:
            data = record.item_json(sid, item, cached=cached, times=times)
            self._background(self.rundir.write_record, RunDir.step_file(sid, item), data)
