"""Deterministic fake models, public so that users can test their own chains.

``FakeChatModel`` is a LangChain chat model. Without a script it answers with text derived from
the prompt (the same prompt always gives the same answer), shaped to the step's parser: a list of
lines for ``parse: lines``, labelled records for ``parse: sections``, an instance of the schema for
``parse: json`` and for any parser given a ``schema``. Scripted answers are given per step::

    fake = FakeChatModel(responses={"title": "The Salt Road", "dialogue/2": "MARA\\nNo."},
                         latency=0.05, fail={"plot": 1})
    chain.run({"logline": "..."}, models={"writer": fake})
    fake.calls          # every call: step, item, prompt, timing
    fake.max_in_flight  # most calls that overlapped

A response value is a string, a list (fan-out items take the entry at their index; a plain step
takes the next entry on each attempt) or a callable receiving the :class:`FakeCall`.
``fail`` maps a step (or ``"step/item"``) to how many calls fail with a transient error before
succeeding, or to ``"always"`` for a permanent error. Streamed (``astream``), the answer comes a
word at a time (with the spaces after it), ``stream_latency`` seconds apart, after ``latency``;
the pieces make the same text as ``ainvoke``'s answer, the last chunk carries the usage.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from ..errors import ModelError
from ..images import ImageModel, ImageRequest, ImageResult
from .callmeta import call_metadata
from .fake_answers import derived_response, seeded_rng

Response = str | list[str] | Callable[["FakeCall"], str]


@dataclass
class FakeCall:
    """One call the fake model received."""

    step: str | None
    item: int | None
    prompt: str
    system: str
    stop: list[str] | None
    started: float
    ended: float = 0.0
    attempt: int = 0
    parse: dict[str, Any] = field(default_factory=dict)
    #: the seed the engine asked for (model seed + attempt), if any
    seed: int | None = None


def _describe(value: Any) -> Any:
    """Scripted responses as data: a callable by its name, code and captured values."""
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if callable(value):
        code = getattr(value, "__code__", None)
        name = getattr(value, "__qualname__", type(value).__qualname__)
        if code is None:
            return f"callable {name} {id(value)}"
        cells = []
        for cell in getattr(value, "__closure__", None) or ():
            try:
                cells.append(repr(cell.cell_contents))
            except ValueError:  # an empty cell
                cells.append("<empty>")
        text = repr((code.co_code, code.co_consts, code.co_names, cells, value.__defaults__))
        return f"callable {name} {hashlib.sha256(text.encode()).hexdigest()}"
    return value


def fake_options(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``latency``, ``stream_latency``, ``responses`` and ``fail`` of a fake model's ``extra``
    options, checked (other keys are another provider's, as in a dry run, and ignored). Raises
    ProviderError."""
    from ..errors import ProviderError

    seconds = {}
    for name in ("latency", "stream_latency"):
        value = extra.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ProviderError(
                f"fake model: option '{name}' must be seconds >= 0, got {value!r}",
                hint=f"e.g. extra: {{{name}: 0.1}}",
            )
        seconds[name] = float(value)
    responses = extra.get("responses") or {}
    fail = extra.get("fail") or {}
    if not isinstance(responses, dict):
        raise ProviderError(
            f"fake model: option 'responses' must map steps to answers, got {responses!r}",
            hint='e.g. extra: {responses: {title: "The Salt Road"}}',
        )
    if not isinstance(fail, dict) or any(
        v != "always" and (isinstance(v, bool) or not isinstance(v, int) or v < 0)
        for v in fail.values()
    ):
        raise ProviderError(
            f"fake model: option 'fail' must map steps to a number of failures or 'always', "
            f"got {fail!r}",
            hint="e.g. extra: {fail: {title: 2, plot: always}}",
        )
    return {**seconds, "responses": dict(responses), "fail": dict(fail)}


def pieces(text: str) -> list[str]:
    """The pieces a fake model streams ``text`` in: each word with the spaces after it."""
    return re.findall(r"\s+|\S+\s*", text) if text else [""]


class FakeChatModel(BaseChatModel):
    """A deterministic chat model with scripted answers, latency, failures and call records."""

    model_name: str = "fake"
    responses: dict[str, Any] = {}
    latency: float = 0.0
    #: seconds between the pieces of a streamed answer
    stream_latency: float = 0.0
    fail: dict[str, int | str] = {}
    #: optional callable (FakeCall) -> float seconds, overriding ``latency``
    latency_fn: Callable[[FakeCall], float] | None = None

    _calls: list[FakeCall] = PrivateAttr(default_factory=list)
    _in_flight: int = PrivateAttr(0)
    _max_in_flight: int = PrivateAttr(0)
    _failures: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "dramaturg-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # what decides the answers (the step cache keys on it); not latency or failures
        return {"model_name": self.model_name, "responses": _describe(self.responses)}

    @property
    def calls(self) -> list[FakeCall]:
        return list(self._calls)

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight

    def calls_for(self, step: str) -> list[FakeCall]:
        return [c for c in self._calls if c.step == step]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._max_in_flight = 0

    # -- the model ---------------------------------------------------------------------------
    def _begin(
        self, messages: list[BaseMessage], stop: list[str] | None, metadata: dict[str, Any]
    ) -> FakeCall:
        system = "\n".join(str(m.content) for m in messages if m.type == "system")
        prompt = "\n".join(str(m.content) for m in messages if m.type != "system")
        call = FakeCall(
            step=metadata.get("dramaturg_step"),
            item=metadata.get("dramaturg_item"),
            prompt=prompt,
            system=system,
            stop=stop,
            started=time.monotonic(),
            attempt=int(metadata.get("dramaturg_attempt", 0)),
            parse=dict(metadata.get("dramaturg_parse") or {}),
            seed=metadata.get("dramaturg_seed"),
        )
        with self._lock:
            self._calls.append(call)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        return call

    def _delay(self, call: FakeCall) -> float:
        return self.latency_fn(call) if self.latency_fn else self.latency

    def _end(self, call: FakeCall) -> None:
        call.ended = time.monotonic()
        with self._lock:
            self._in_flight -= 1

    def _finish(self, call: FakeCall) -> ChatResult:
        try:
            self._maybe_fail(call)
            text = self._answer(call)
        finally:
            self._end(call)
        msg = AIMessage(
            content=text,
            usage_metadata=_usage(call, text),
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    async def _streamed(
        self, call: FakeCall, delay: float, broken: Exception | None = None
    ) -> AsyncIterator[ChatGenerationChunk]:
        """The answer to ``call`` in :func:`pieces` after ``delay`` seconds, then a last chunk
        with the usage; ``broken``: raised halfway through (a connection lost mid-answer)."""
        try:
            if delay:
                await asyncio.sleep(delay)
            self._maybe_fail(call)
            text = self._answer(call)
            parts = pieces(text)
            half = max(1, len(parts) // 2)
            for i, piece in enumerate(parts):
                if broken is not None and i == half:
                    raise broken
                if self.stream_latency:
                    await asyncio.sleep(self.stream_latency)
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if broken is not None:
                raise broken
        finally:
            self._end(call)
        last = AIMessageChunk(
            content="",
            usage_metadata=_usage(call, text),
            response_metadata={"model_name": self.model_name},
        )
        yield ChatGenerationChunk(message=last)

    def _keys(self, call: FakeCall) -> list[str]:
        keys = [f"{call.step}/{call.item}"] if call.item is not None else []
        return [*keys, str(call.step)]

    def _maybe_fail(self, call: FakeCall) -> None:
        for key in self._keys(call):
            if key not in self.fail:
                continue
            rule = self.fail[key]
            if rule == "always":
                raise ModelError(f"fake model: permanent failure for {key}", transient=False)
            with self._lock:
                seen = self._failures.get(key, 0)
                self._failures[key] = seen + 1
            if seen < int(rule):
                raise ModelError(
                    f"fake model: transient failure {seen + 1} for {key}", transient=True
                )
            return

    def _answer(self, call: FakeCall) -> str:
        for key in self._keys(call):
            if key not in self.responses:
                continue
            value = self.responses[key]
            if callable(value):
                return str(value(call))
            if isinstance(value, list):
                if not value:
                    return ""
                if call.item is not None and key == call.step:  # fan-out: the item's entry
                    return str(value[call.item % len(value)])
                return str(value[min(call.attempt, len(value) - 1)])  # attempts: the next one
            return str(value)
        return derived_response(call.system + "\n" + call.prompt, call.parse)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._begin(messages, stop, call_metadata(run_manager))
        delay = self._delay(call)
        if delay:
            time.sleep(delay)
        return self._finish(call)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._begin(messages, stop, call_metadata(run_manager))
        delay = self._delay(call)
        try:
            if delay:
                await asyncio.sleep(delay)
        except BaseException:
            with self._lock:
                self._in_flight -= 1
            raise
        return self._finish(call)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._begin(messages, stop, call_metadata(run_manager))
        async for chunk in self._streamed(call, self._delay(call)):
            yield chunk


def _usage(call: FakeCall, text: str) -> dict[str, int]:
    """One token a word: the prompt's in, the answer's out."""
    usage = {
        "input_tokens": len((call.system + " " + call.prompt).split()),
        "output_tokens": len(text.split()),
    }
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    return usage


class FakeImageModel(ImageModel):
    """A deterministic image model: a small PNG whose colours come from the prompt and seed."""

    name = "fake:image"

    def __init__(self, latency: float = 0.0, size: tuple[int, int] = (64, 64)) -> None:
        self.latency = latency
        self.size = size
        self.requests: list[ImageRequest] = []

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        from PIL import Image, ImageDraw

        self.requests.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        rng = seeded_rng(f"{request.prompt}|{request.seed}")
        size = (request.width or self.size[0], request.height or self.size[1])
        img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
            x1, y1 = x0 + rng.randrange(1, size[0]), y0 + rng.randrange(1, size[1])
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return ImageResult(
            data=buf.getvalue(),
            mime="image/png",
            seed=request.seed,
            metadata={"model": self.name, "fake": True},
        )
