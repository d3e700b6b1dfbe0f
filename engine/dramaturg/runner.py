"""Run one chain: render each step's templates, call its model, parse, and record it on disk.

The scheduling is the generic :class:`~dramaturg.executor.Executor`'s; this module supplies the
job for each step (a single call, or one call per ``for_each`` item, run concurrently) and keeps
the run folder and manifest up to date.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .calls import Limiter, classify, text_of
from .errors import DramaturgError, ModelError, ParseError, TemplateRenderError
from .executor import Executor
from .images import ImageModel, ImageRequest
from .models import ModelSet
from .parsers import parse
from .result import RunResult, StepResult, Usage
from .rundir import RunDir
from .secrets import scrub
from .source import load_yaml
from .spec import PromptRef, StepSpec
from .templates import render
from .validate import Checked, model_name_for

Event = dict[str, Any]


class StepError(DramaturgError):
    """A step failed; the message names the step and the cause."""

    exit_code = 1


@dataclass
class RunSettings:
    concurrency: int = 8
    #: extra tries after a transient model error (None: each model's or provider's setting)
    retries: int | None = None
    backoff: float = 0.5
    backoff_max: float = 60.0


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
    ) -> None:
        self.checked = checked
        self.spec = checked.spec
        self.inputs = inputs
        self.models = models
        self.rundir = rundir
        self.settings = settings
        self.on_event = on_event
        self.chain_file = chain_file
        self.chain_hash = chain_hash
        used = {model_name_for(s) for s in self.spec.steps.values()}
        self.used_models = used
        self.policies = {n: models.policy(n, settings.retries) for n in used}
        self.limiter = Limiter(settings.concurrency, self.policies)
        self.results = {sid: StepResult(sid) for sid in self.spec.steps}
        self.status = "running"
        self.started = time.time()
        self.ended: float | None = None
        self._compiled = checked.compiled  # shared by every run of the chain
        self._schemas: dict[str, dict[str, Any]] = {}  # rendered schema text -> schema
        self._last_flush = 0.0
        self._flush_interval = 0.2

    # -- events and the manifest -------------------------------------------------------------
    def emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event({"event": event, "time": time.time(), **data})

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
            }
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
        return {
            "dramaturg": __version__,
            "run_id": self.rundir.id if self.rundir else None,
            "status": self.status,
            "chain": {"name": self.spec.name, "file": self.chain_file, "hash": self.chain_hash},
            "started": self.started,
            "ended": self.ended,
            "inputs": self.inputs,
            "models": self.models.public(self.used_models),
            "settings": {"concurrency": self.settings.concurrency, "dry_run": self.models.dry_run},
            "outputs": self.spec.output_steps(),
            "usage": total.as_dict(),
            "steps": steps,
        }

    def flush(self, force: bool = False) -> None:
        """Write the manifest unless forced (a final flush always runs) at most every 0.2 s and
        every 10x the last write's duration, so that rewriting it stays under ~10 % of the run
        however many steps the manifest lists."""
        if self.rundir is None:
            return
        start = time.monotonic()
        if not force and start - self._last_flush < self._flush_interval:
            self._flush_pending = True
            return
        # in-progress manifests are compact and not fsynced; the final one is pretty and durable
        data = self.manifest()
        if force:
            self.rundir.write_json("manifest.json", data)
        else:
            self.rundir.write_text("manifest.json", json.dumps(data, default=str), durable=False)
        self._last_flush = end = time.monotonic()
        self._flush_interval = max(0.2, 10 * (end - start))

    # -- running -----------------------------------------------------------------------------
    async def run(self) -> RunResult:
        self.flush(force=True)
        self.emit(
            "run_started",
            chain=self.spec.name,
            run_dir=str(self.rundir.root) if self.rundir else None,
            steps=list(self.spec.steps),
        )
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
            if self.status == "running":
                failed = any(r.status == "failed" for r in self.results.values())
                self.status = "failed" if failed else "done"
            self.ended = time.time()
            self.flush(force=True)
            self.emit("run_finished", status=self.status)
        return self.result()

    def result(self) -> RunResult:
        total = Usage()
        for r in self.results.values():
            total.add(r.usage)
        return RunResult(
            run_id=self.rundir.id if self.rundir else "in-memory",
            chain=self.spec.name,
            status=self.status,
            steps=self.results,
            output_steps=self.spec.output_steps(),
            run_dir=self.rundir.root if self.rundir else None,
            usage=total,
            inputs=dict(self.inputs),
        )

    def _skipped(self, sid: str, because: str) -> None:
        r = self.results[sid]
        r.status, r.skipped_because = "skipped", because
        self.emit("step_skipped", step=sid, because=because)
        self.flush()

    async def _run_step(self, sid: str) -> Any:
        spec = self.spec.steps[sid]
        r = self.results[sid]
        r.status, r.started = "running", time.time()
        self.emit("step_started", step=sid)
        self.flush()
        try:
            context = self._context(sid)
            if spec.for_each is not None:
                output = await self._fan_out(sid, spec, context)
            else:
                output = await self._one(sid, spec, context, None)
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
            self.emit("step_failed", step=sid, error=r.error)
            self.flush()
            raise
        r.output, r.status, r.ended = output, "done", time.time()
        self._save_step(sid, {"status": "done", "output": output})
        self.emit("step_finished", step=sid, duration=r.duration, usage=r.usage.as_dict())
        self.flush()
        return output

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
        self.emit("fan_out", step=sid, items=len(items))

        async def item(i: int, value: Any) -> Any:
            out = await self._one(sid, spec, {**context, spec.as_: value, "index": i}, i)
            r.items_done += 1
            self.emit("item_finished", step=sid, item=i, done=r.items_done, total=len(items))
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
            fn = self.checked.templates.env.compile_expression(expr, undefined_to_none=False)
            value = fn(**context)
        except Exception as exc:
            raise TemplateRenderError(f"{where}: cannot evaluate '{expr}': {exc}") from None
        if (
            isinstance(value, (str, bytes))
            or not hasattr(value, "__iter__")
            or isinstance(value, dict)
        ):
            raise StepError(
                f"step '{sid}': for_each '{expr}' gave a {type(value).__name__}, not a list",
                hint="make the upstream step produce a list",
            )
        return list(value)  # type: ignore[arg-type]

    def _template(self, sid: str, key: str, ref: PromptRef) -> tuple[Any, str, int]:
        cache_key = (sid, key)
        if cache_key not in self._compiled:
            t = self.checked.templates
            if ref.file is not None:
                self._compiled[cache_key] = (t.load(ref.file), ref.file, 0)
            else:
                offset = self.checked.inline_offsets.get(cache_key, 0)
                self._compiled[cache_key] = (
                    t.env.from_string(ref.text or ""),
                    self.chain_file,
                    offset,
                )
        return self._compiled[cache_key]  # type: ignore[no-any-return]

    def _render(self, sid: str, key: str, ref: PromptRef, context: dict[str, Any]) -> str:
        template, where, offset = self._template(sid, key, ref)
        return render(template, context, where=where, line_offset=offset)

    async def _one(
        self, sid: str, spec: StepSpec, context: dict[str, Any], item: int | None
    ) -> Any:
        prompt = self._render(sid, "prompt", spec.prompt, context)
        system = self._render(sid, "system", spec.system, context) if spec.system else ""
        if self.rundir is not None:
            sent = f"=== system ===\n{system}\n=== prompt ===\n{prompt}\n" if system else prompt
            self.rundir.write_text(RunDir.prompt_file(sid, item), sent, durable=False)
        if spec.kind == "image":
            return await self._image(sid, spec, prompt, item)
        schema = self._schema(sid, spec, context)
        return await self._text(sid, spec, prompt, system, item, schema)

    def _schema(self, sid: str, spec: StepSpec, context: dict[str, Any]) -> dict[str, Any] | None:
        """The step's answer schema; a schema template is rendered and checked for this call."""
        ref = getattr(spec.parse, "schema_", None)
        if not isinstance(ref, PromptRef):
            return ref
        text = self._render(sid, "schema", ref, context)
        if text in self._schemas:
            return self._schemas[text]
        import jsonschema

        where = ref.file or self.chain_file
        try:
            data = load_yaml(text, where).data
            if not isinstance(data, dict):
                raise ValueError(f"it rendered a {type(data).__name__}, not a mapping")
            jsonschema.Draft202012Validator.check_schema(data)
        except (DramaturgError, ValueError, jsonschema.SchemaError) as exc:
            problem = exc.message if hasattr(exc, "message") else str(exc)
            raise StepError(
                f"step '{sid}': the schema template {where} did not give a JSON schema: {problem}",
                hint="render it with `dramaturg run --dry-run` and check the YAML it produces",
            ) from None
        self._schemas[text] = data
        return data

    async def _call(
        self, sid: str, spec: StepSpec, item: int | None, fn: Callable[[int], Any]
    ) -> Any:
        """Call the model with retries on transient errors, under the concurrency limits."""
        r = self.results[sid]
        name = model_name_for(spec)
        policy = self.policies[name]
        timeout = self.models.config(spec).options.timeout or policy.timeout
        tries = 0
        while True:
            tries += 1
            r.attempts += 1
            try:
                async with self.limiter.slot(name):
                    coro = fn(tries)
                    return await (asyncio.wait_for(coro, timeout) if timeout else coro)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = classify(exc, policy.classify)
                if not err.transient or tries > policy.retries:
                    if err.transient:
                        raise ModelError(
                            f"{err.message} (gave up after {tries} tries)",
                            hint=err.hint,
                            status=err.status,
                        ) from exc
                    raise err from exc
                delay = min(self.settings.backoff_max, self.settings.backoff * 2 ** (tries - 1))
                retry_after = err.retry_after
                if isinstance(retry_after, (int, float)):
                    delay = max(delay, float(retry_after))
                delay *= 1 + random.random() * 0.25
                self.emit(
                    "retry",
                    step=sid,
                    item=item,
                    attempt=tries,
                    error=scrub(err.message),
                    delay=delay,
                )
                await asyncio.sleep(delay)

    async def _text(
        self,
        sid: str,
        spec: StepSpec,
        prompt: str,
        system: str,
        item: int | None,
        schema: dict[str, Any] | None = None,
    ) -> Any:
        from langchain_core.messages import HumanMessage, SystemMessage

        model = self.models.instance(spec)
        options = self.models.config(spec).options
        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(prompt)]
        raws: list[str] = []
        r = self.results[sid]
        last: ParseError | None = None
        parse_settings = spec.parse.model_dump(by_alias=True)
        if schema is not None:
            parse_settings["schema"] = schema
        for attempt in range(spec.attempts):
            metadata = {
                "dramaturg_step": sid,
                "dramaturg_item": item,
                "dramaturg_attempt": attempt,
                "dramaturg_parse": parse_settings,
            }
            if options.seed_number is not None:
                metadata["dramaturg_seed"] = options.seed_number + attempt

            def invoke(_try: int, metadata: dict[str, Any] = metadata) -> Any:
                return model.ainvoke(
                    messages, stop=options.stop, config={"metadata": metadata, "run_name": f"{sid}"}
                )

            message = await self._call(sid, spec, item, invoke)
            usage = getattr(message, "usage_metadata", None)
            r.usage.add(dict(usage) if usage else {"calls": 1})
            raw = text_of(message.content)
            raws.append(raw)
            try:
                value = parse(
                    spec.parse, raw, attempt=attempt, attempts=spec.attempts, schema=schema
                )
            except ParseError as exc:
                last = exc
                self.emit("parse_failed", step=sid, item=item, attempt=attempt, error=str(exc))
                continue
            if item is not None and self.rundir is not None:
                self.rundir.write_json(
                    RunDir.step_file(sid, item),
                    {
                        "step": sid,
                        "item": item,
                        "status": "done",
                        "output": value,
                        "raw": raw,
                        "attempts": attempt + 1,
                    },
                    durable=False,  # the step's own file (fsynced) holds every item too
                )
            return value
        assert last is not None
        saved = ""
        if self.rundir is not None:
            rel = RunDir.step_file(sid, item, "raw.txt")
            self.rundir.write_text(rel, "\n\n=== next attempt ===\n\n".join(raws))
            saved = f"; raw output saved in {self.rundir.root / rel}"
        raise StepError(
            f"step '{sid}'{'' if item is None else f' item {item}'}: output could not be parsed "
            f"after {spec.attempts} attempt(s): {last.message}{saved}",
            hint=last.hint or "adjust the prompt or the step's parse settings",
        )

    async def _image(self, sid: str, spec: StepSpec, prompt: str, item: int | None) -> Any:
        model: ImageModel = self.models.instance(spec)
        o = self.models.config(spec).options
        request = ImageRequest(
            prompt=prompt,
            negative_prompt=o.negative_prompt,
            width=o.width,
            height=o.height,
            aspect_ratio=o.aspect_ratio,
            seed=o.seed_number,
            style_preset=o.style_preset,
            output_format=o.output_format or "png",
            extra=dict(o.extra),
        )
        result = await self._call(sid, spec, item, lambda _t: model.agenerate(request))
        self.results[sid].usage.add({"calls": 1})
        rel = RunDir.step_file(sid, item, result.extension)
        if self.rundir is not None:
            self.rundir.write_bytes(rel, result.data)
        out = {
            "image": rel,
            "prompt": prompt,
            "seed": result.seed,
            "mime": result.mime,
            "filtered": result.filtered,
            "model": getattr(model, "name", type(model).__name__),
            "metadata": result.metadata,
        }
        if item is not None and self.rundir is not None:
            self.rundir.write_json(
                RunDir.step_file(sid, item),
                {"step": sid, "item": item, "status": "done", "output": out},
                durable=False,
            )
        return out
