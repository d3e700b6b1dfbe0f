"""Calling a step's model: retries with backoff under the concurrency limits, resampling
output that does not parse, and image requests. Each call returns a :class:`CallRecord`; where
it is kept (run folder, step cache) is the runner's business.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..chain.checked import Checked, model_name_for
from ..chain.parsers import parse
from ..errors import ModelError, ParseError, StepError
from ..events import (
    Event,
    LoopDropped,
    LoopKept,
    LoopResampled,
    ParseFailed,
    Retry,
)
from ..images import ImageModel, ImageRequest
from ..providers.callmeta import calling
from ..result import StepResult, Usage
from ..secrets import scrub
from ..spec import StepSpec
from ..store.records import CallRecord
from ..store.rundir import RunDir
from ..store.storage import RunStore
from . import loopguard
from .limits import CallLimits, Limiter, classify, text_of
from .models import CallPolicy, ModelSet
from .tokens import TokenStream


@dataclass
class RunSettings:
    concurrency: int = 8
    #: extra tries after a transient model error (None: each model's or provider's setting)
    retries: int | None = None
    backoff: float = 0.5
    backoff_max: float = 60.0
    #: limits shared with other runs (None: this run's own, from ``concurrency``)
    limiter: CallLimits | None = None
    #: text calls read the model's stream and emit ``token`` events as the answer comes
    stream: bool = False


class StepCalls:
    """The model calls of one run's steps."""

    def __init__(
        self,
        models: ModelSet,
        settings: RunSettings,
        policies: dict[str, CallPolicy],
        results: dict[str, StepResult],
        store: RunStore,
        emit: Callable[[Event], None],
        checked: Checked,
    ) -> None:
        self.checked = checked
        self.models = models
        self.settings = settings
        self.policies = policies
        self.limiter: CallLimits = settings.limiter or Limiter(settings.concurrency, policies)
        self.results = results
        self.store = store
        self.emit = emit
        #: (step, item) -> when its first model call got a slot and began (the runner pops it)
        self.began: dict[tuple[str, int | None], float] = {}

    @classmethod
    def for_run(
        cls,
        checked: Checked,
        models: ModelSet,
        settings: RunSettings,
        results: dict[str, StepResult],
        store: RunStore,
        emit: Callable[[Event], None],
    ) -> StepCalls:
        """The calls of a run of ``checked``: each model's retry policy, the run's limits."""
        used = {model_name_for(s) for s in checked.spec.steps.values()}
        policies = {n: models.policy(n, settings.retries) for n in used}
        return cls(models, settings, policies, results, store, emit, checked)

    async def call(
        self,
        sid: str,
        spec: StepSpec,
        item: int | None,
        fn: Callable[[int], Any],
        failed: Callable[[], None] | None = None,
    ) -> Any:
        """Call the model with retries on transient errors, under the concurrency limits;
        ``failed`` is told of each try that fails (a streamed answer's text is dropped)."""
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
                    self.began.setdefault((sid, item), time.time())
                    # asyncio.timeout, not wait_for: no task of its own per call (3.11)
                    async with asyncio.timeout(timeout or None):
                        return await fn(tries)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if failed is not None:
                    failed()
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
                error = scrub(err.message)
                self.emit(Retry(step=sid, item=item, attempt=tries, error=error, delay=delay))
                await asyncio.sleep(delay)

    async def text(
        self,
        sid: str,
        spec: StepSpec,
        prompt: str,
        system: str,
        item: int | None,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        follow_up: Sequence[Any] = (),
        earlier: Callable[[], Awaitable[Sequence[Any]]] | None = None,
        read: Sequence[Any] = (),
    ) -> CallRecord:
        """``seed``: this call's own (else the model's); ``follow_up``: messages sent after the
        prompt (``dramaturg continue``: the earlier answer and the request to go on);
        ``earlier``: the outputs of the fan-out's earlier items, for the loop guard (awaited
        only when needed: the item waits for them); ``read``: the outputs of the steps it
        reads, which an answer may not copy any more than its prompt."""
        from langchain_core.messages import HumanMessage, SystemMessage

        model = self.models.instance(spec)
        options = self.models.config(spec).options
        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(prompt)]
        messages += list(follow_up)
        first_seed = seed if seed is not None else options.seed_number
        raws: list[str] = []
        r = self.results[sid]
        used = Usage()  # this call's usage (every attempt), kept with its record
        last: ParseError | None = None
        parse_settings = dict(self.checked.parse_settings(sid))  # the model may keep it
        if schema is not None:
            parse_settings["schema"] = schema
        guard = spec.parse.loops
        resamples = guard.resamples if guard is not None else 0
        context = "\n".join([system, prompt, *loopguard.strings(read)])  # not to be copied
        failed = 0  # answers that did not parse
        calls = 0
        samples: list[tuple[Any, str, int]] = []
        tokens = TokenStream(self.emit, sid, item) if self.settings.stream else None
        dropped = None if tokens is None else functools.partial(tokens.discard, "error")
        repairs: list[dict[str, Any]] = []

        async def streamed(metadata: dict[str, Any], config: dict[str, Any]) -> Any:
            assert tokens is not None
            with calling(metadata):  # LangChain gives a model's _astream no run manager
                chunks = model.astream(messages, stop=options.stop, config=config)
                return await tokens.collect(chunks)

        while failed < spec.attempts:
            metadata = {
                "dramaturg_step": sid,
                "dramaturg_item": item,
                "dramaturg_attempt": calls,
                "dramaturg_parse": parse_settings,
            }
            if first_seed is not None:
                metadata["dramaturg_seed"] = first_seed + calls
            calls += 1

            def invoke(_try: int, metadata: dict[str, Any] = metadata) -> Any:
                config = {"metadata": metadata, "run_name": f"{sid}"}
                if tokens is None:
                    return model.ainvoke(messages, stop=options.stop, config=config)
                return streamed(metadata, config)

            message = await self.call(sid, spec, item, invoke, dropped)
            usage = getattr(message, "usage_metadata", None)
            for total in (r.usage, used):
                total.add(dict(usage) if usage else {"calls": 1})
            raw = text_of(message.content)
            raws.append(raw)
            try:
                value = parse(
                    spec.parse, raw, attempt=failed, attempts=spec.attempts, schema=schema
                )
            except ParseError as exc:
                last = exc
                failed += 1
                if tokens is not None:
                    tokens.discard("parse")
                self.emit(ParseFailed(step=sid, item=item, attempt=calls - 1, error=str(exc)))
                continue
            if guard is None:
                return CallRecord(value, raw=raw, attempts=calls, usage=used.as_dict())
            samples.append((value, raw, tokens.attempt if tokens is not None else 0))
            # first what needs no other item (the item goes on at once), then the earlier items
            found = loopguard.find(value, guard, prompt=context)
            if not found and earlier is not None and guard.across_items:
                found = loopguard.find(value, guard, prompt=context, earlier=await earlier())
            if not found or resamples == 0:
                break
            resamples -= 1
            repairs.append(
                {"action": "resampled", "attempt": calls - 1, "findings": _described(found)}
            )
            if tokens is not None:
                tokens.discard("resample")
            self.emit(
                LoopResampled(step=sid, item=item, attempt=calls - 1, finding=_summary(found))
            )
        if guard is not None and samples:
            before = await earlier() if earlier is not None and guard.across_items else ()
            # the first of the samples with the fewest findings, the earlier items all final
            scored = [
                (loopguard.find(v, guard, prompt=context, earlier=before), v, text, n)
                for v, text, n in samples
            ]
            findings, value, raw, attempt = min(scored, key=lambda s: len(s[0]))
            if tokens is not None:  # the tokens sent are the answer kept
                tokens.settle(raw, attempt)
            gone = [f for f in findings if loopguard.droppable(f)]
            kept = [f for f in findings if not loopguard.droppable(f)]
            if gone:
                value = loopguard.drop(value, gone)
                repairs.append({"action": "dropped", "findings": _described(gone)})
                self.emit(
                    LoopDropped(step=sid, item=item, dropped=len(gone), finding=_summary(gone))
                )
            if kept:  # a whole answer (one record) cannot be dropped: the best one stays
                repairs.append({"action": "kept", "findings": _described(kept)})
                self.emit(LoopKept(step=sid, item=item, finding=_summary(kept)))
            r.repairs += len(repairs)
            return CallRecord(value, raw=raw, attempts=calls, usage=used.as_dict(), repairs=repairs)
        assert last is not None
        rel = RunDir.step_file(sid, item, "raw.txt")
        self.store.write_text(rel, "\n\n=== next attempt ===\n\n".join(raws))
        where = self.store.where(rel)
        saved = "" if where is None else f"; raw output saved in {where}"
        raise StepError(
            f"step '{sid}'{'' if item is None else f' item {item}'}: output could not be parsed "
            f"after {spec.attempts} attempt(s): {last.message}{saved}",
            hint=last.hint or "adjust the prompt or the step's parse settings",
        )

    async def image(
        self, sid: str, spec: StepSpec, prompt: str, item: int | None, seed: int | None = None
    ) -> CallRecord:
        model: ImageModel = self.models.instance(spec)
        o = self.models.config(spec).options
        request = ImageRequest(
            prompt=prompt,
            negative_prompt=o.negative_prompt,
            width=o.width,
            height=o.height,
            aspect_ratio=o.aspect_ratio,
            seed=seed if seed is not None else o.seed_number,
            style_preset=o.style_preset,
            output_format=o.output_format or "png",
            extra=dict(o.extra),
        )
        result = await self.call(sid, spec, item, lambda _t: model.agenerate(request))
        self.results[sid].usage.add({"calls": 1})
        rel = RunDir.step_file(sid, item, result.extension)
        out = {
            "image": rel,
            "prompt": prompt,
            "seed": result.seed,
            "mime": result.mime,
            "filtered": result.filtered,
            "model": getattr(model, "name", type(model).__name__),
            "metadata": result.metadata,
        }
        return CallRecord(out, usage=Usage(calls=1).as_dict(), image=result.data)


def _described(findings: Sequence[loopguard.Finding]) -> list[dict[str, Any]]:
    return [f.as_dict() for f in findings]


def _summary(findings: Sequence[loopguard.Finding]) -> str:
    """One line for the progress: the first finding, and how many more."""
    first = findings[0].as_dict()
    what = {"repeat": "repeats", "repeat_of_item": "repeats an earlier item:", "copy": "copies"}
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"'{first['text']}' {what.get(first['kind'], first['kind'])} '{first['of']}'{more}"
