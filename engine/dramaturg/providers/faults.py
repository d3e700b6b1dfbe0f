"""Fault injection: the fake models, failing a share of their calls as real services do.

The ``flaky`` provider answers like the ``fake`` one (an instance of the step's schema, lines,
sections...; answers also depend on the call's seed) but fails calls, deterministically from
``fault_seed``::

    models:
      default:
        provider: flaky
        retries: 8                    # the engine's retries after a transient error
        extra:
          failure_rate: 0.3           # share of calls failing with a transient error
          faults: [rate_limit, timeout, server_error, disconnect]   # which (default: these)
          retry_after: 0              # seconds a rate limit asks to wait (its Retry-After)
          permanent: [plot, dialogue/3]   # steps or step/item failing for good (HTTP 400)
          permanent_rate: 0.0         # share of calls failing for good
          fault_seed: 0               # which calls fail
          echo_keys: false            # errors quote the API keys in the environment
          latency: 0.0                # seconds a call; stream_latency, responses, fail: as `fake`

The faults are what the engine meets from web APIs: ``rate_limit`` (HTTP 429 with Retry-After),
``server_error`` (500, 502 or 503), ``timeout`` (httpx.ReadTimeout), ``disconnect``
(httpx.RemoteProtocolError: the server closed the connection) and ``hang`` (the call takes
``hang`` seconds, 30 by default, for the engine's ``timeout`` to cut; then it times out itself).
A streamed call (``astream``) meets ``timeout`` and ``disconnect`` halfway through its answer,
after some of its pieces; the others before the first.
Whether the n-th try of a call fails depends only on the seed, the call (step, item, attempt,
prompt) and n, not on timing or concurrency: a run repeated with the same seeds meets the same
faults. ``echo_keys`` makes errors quote the keys of the environment (every variable named like a
credential), as careless services echo the request, to check that no key reaches a file, log or
message.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, SkipValidation

from ..errors import ProviderError
from ..images import ImageRequest, ImageResult
from ..secrets import secret_values
from .callmeta import call_metadata
from .fake_answers import derived_response
from .fakes import FakeCall, FakeChatModel, FakeImageModel, fake_options

TRANSIENT_FAULTS = ("rate_limit", "timeout", "server_error", "disconnect")
ALL_FAULTS = (*TRANSIENT_FAULTS, "hang")
URL = "https://flaky.invalid/v1/generate"
#: options of the flaky provider (``extra``), besides the fake provider's
OPTIONS = {
    "failure_rate": "share of calls failing with a transient error (0 to 1)",
    "faults": f"the transient faults to inject, among {', '.join(ALL_FAULTS)}",
    "retry_after": "seconds a rate limit asks to wait",
    "permanent": "steps or step/item failing for good",
    "permanent_rate": "share of calls failing for good (0 to 1)",
    "fault_seed": "which calls fail",
    "echo_keys": "errors quote the API keys in the environment",
    "hang": "seconds a 'hang' fault lasts before it times out",
}
_FAKE_OPTIONS = ("latency", "stream_latency", "responses", "fail")
#: the faults a streamed answer meets after some of its pieces (the others come before any)
MID_STREAM = ("timeout", "disconnect")


def _uniform(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _share(extra: Mapping[str, Any], name: str) -> float:
    value = extra.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ProviderError(
            f"flaky provider: option '{name}' must be a number from 0 to 1, got {value!r}",
            hint=f"e.g. extra: {{{name}: 0.3}}",
        )
    return float(value)


def _seconds(extra: Mapping[str, Any], name: str, default: float) -> float:
    value = extra.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ProviderError(f"flaky provider: option '{name}' must be seconds >= 0, got {value!r}")
    return float(value)


@dataclass
class FaultPlan:
    """Which calls fail and how; shared by the flaky text and image models of one config."""

    failure_rate: float = 0.0
    faults: tuple[str, ...] = TRANSIENT_FAULTS
    retry_after: float = 0.0
    permanent: tuple[str, ...] = ()
    permanent_rate: float = 0.0
    fault_seed: int = 0
    echo_keys: bool = False
    hang: float = 30.0
    #: faults injected so far, by kind
    injected: Counter[str] = field(default_factory=Counter)
    _tries: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_options(cls, extra: Mapping[str, Any]) -> FaultPlan:
        """The plan from a model's ``extra`` options; ProviderError for a bad one."""
        unknown = sorted(set(extra) - set(OPTIONS) - set(_FAKE_OPTIONS))
        if unknown:
            raise ProviderError(
                f"flaky provider: unknown option(s) {', '.join(map(repr, unknown))}",
                hint="known: " + "; ".join(f"{k}: {v}" for k, v in OPTIONS.items()),
            )
        faults = extra.get("faults", list(TRANSIENT_FAULTS))
        if isinstance(faults, str):
            faults = [faults]
        if not isinstance(faults, list) or not faults or set(faults) - set(ALL_FAULTS):
            raise ProviderError(
                f"flaky provider: option 'faults' must list some of {', '.join(ALL_FAULTS)}, "
                f"got {faults!r}"
            )
        permanent = extra.get("permanent", [])
        permanent = [permanent] if isinstance(permanent, str) else permanent
        if not isinstance(permanent, list) or not all(isinstance(p, str) for p in permanent):
            raise ProviderError("flaky provider: option 'permanent' must list steps or step/item")
        seed = extra.get("fault_seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ProviderError(f"flaky provider: option 'fault_seed' must be an integer: {seed!r}")
        return cls(
            failure_rate=_share(extra, "failure_rate"),
            faults=tuple(faults),
            retry_after=_seconds(extra, "retry_after", 0.0),
            permanent=tuple(permanent),
            permanent_rate=_share(extra, "permanent_rate"),
            fault_seed=seed,
            echo_keys=bool(extra.get("echo_keys", False)),
            hang=_seconds(extra, "hang", 30.0),
        )

    def decide(self, identity: str, keys: list[str]) -> str | None:
        """The fault of the next try of the call ``identity`` (None: it succeeds). ``keys`` are
        the call's names for ``permanent`` (``step/item``, ``step``)."""
        if any(k in self.permanent for k in keys) or (
            self.permanent_rate
            and _uniform(self.fault_seed, "permanent", identity) < self.permanent_rate
        ):
            fault: str | None = "permanent"
        else:
            with self._lock:
                n = self._tries.get(identity, 0)
                self._tries[identity] = n + 1
            fault = None
            if _uniform(self.fault_seed, identity, n) < self.failure_rate:
                pick = _uniform(self.fault_seed, "kind", identity, n)
                fault = self.faults[int(pick * len(self.faults))]
        if fault is not None:
            with self._lock:
                self.injected[fault] += 1
        return fault

    def _echoed(self) -> str:
        if not self.echo_keys:
            return ""
        return "".join(f"&key={k}" for k in secret_values())

    def error(self, fault: str, identity: str) -> Exception:
        """The exception a real HTTP client would raise for ``fault``."""
        url = f"{URL}?call={hashlib.sha256(identity.encode()).hexdigest()[:8]}{self._echoed()}"
        request = httpx.Request("POST", url)
        if fault in {"timeout", "hang"}:
            return httpx.ReadTimeout(f"timed out reading the answer of {url}", request=request)
        if fault == "disconnect":
            return httpx.RemoteProtocolError(
                f"Server disconnected without sending a response ({url})", request=request
            )
        if fault == "rate_limit":
            status, headers = 429, {"retry-after": f"{self.retry_after:g}"}
        elif fault == "server_error":
            status, headers = (500, 502, 503)[int(_uniform(identity, "status") * 3)], {}
        else:  # permanent
            status, headers = 400, {}
        response = httpx.Response(
            status, headers=headers, request=request, text=f"flaky: injected {fault} for {url}"
        )
        reason = "Client error" if status < 500 else "Server error"
        return httpx.HTTPStatusError(
            f"{reason} '{status} {response.reason_phrase}' for url '{url}'",
            request=request,
            response=response,
        )


class FlakyChatModel(FakeChatModel):
    """:class:`FakeChatModel` whose calls fail as :class:`FaultPlan` decides; its answers also
    depend on the call's seed (a resample or a new ``--seed`` answers differently)."""

    model_name: str = "flaky"
    plan: SkipValidation[FaultPlan] = Field(default_factory=FaultPlan)

    @property
    def _llm_type(self) -> str:
        return "dramaturg-flaky"

    def _answer(self, call: FakeCall) -> str:
        if any(k in self.responses for k in self._keys(call)):
            return super()._answer(call)
        return derived_response(f"{call.seed}|{call.system}\n{call.prompt}", call.parse)

    def _fault(self, call: FakeCall) -> tuple[str | None, str]:
        prompt = hashlib.sha256(f"{call.system}\n{call.prompt}".encode()).hexdigest()[:16]
        identity = f"{call.step}/{call.item}/{call.attempt}/{call.seed}/{prompt}"
        keys = [k for k in self._keys(call) if k != "None"]
        return self.plan.decide(identity, keys), identity

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._begin(messages, stop, call_metadata(run_manager))
        fault, identity = self._fault(call)
        try:
            delay = self.plan.hang if fault == "hang" else self._delay(call)
            if delay:
                time.sleep(delay)
            if fault is not None:
                raise self.plan.error(fault, identity)
        except BaseException:
            self._end(call)
            raise
        return self._finish(call)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._begin(messages, stop, call_metadata(run_manager))
        fault, identity = self._fault(call)
        try:
            delay = self.plan.hang if fault == "hang" else self._delay(call)
            if delay:
                await asyncio.sleep(delay)
            if fault is not None:
                raise self.plan.error(fault, identity)
        except BaseException:
            self._end(call)
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
        fault, identity = self._fault(call)
        if fault in MID_STREAM:
            broken = self.plan.error(str(fault), identity)
            stream = self._streamed(call, self._delay(call), broken=broken)
        else:
            try:
                delay = self.plan.hang if fault == "hang" else self._delay(call)
                if delay:
                    await asyncio.sleep(delay)
                if fault is not None:
                    raise self.plan.error(fault, identity)
            except BaseException:
                self._end(call)
                raise
            stream = self._streamed(call, 0.0)
        async for chunk in stream:
            yield chunk


class FlakyImageModel(FakeImageModel):
    """:class:`FakeImageModel` whose calls fail as :class:`FaultPlan` decides."""

    name = "flaky:image"

    def __init__(self, plan: FaultPlan, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.plan = plan

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        digest = hashlib.sha256(f"{request.prompt}|{request.seed}".encode()).hexdigest()[:16]
        identity = f"image/{digest}"
        fault = self.plan.decide(identity, [])
        if fault == "hang":
            await asyncio.sleep(self.plan.hang)
        if fault is not None:
            raise self.plan.error(fault, identity)
        return await super().agenerate(request)


def flaky_text(extra: Mapping[str, Any], model: str | None) -> FlakyChatModel:
    """The ``flaky`` provider's text model for a config's ``extra`` options."""
    return FlakyChatModel(
        model_name=model or "flaky", plan=FaultPlan.from_options(extra), **fake_options(extra)
    )


def flaky_image(extra: Mapping[str, Any]) -> FlakyImageModel:
    """The ``flaky`` provider's image model for a config's ``extra`` options."""
    plan = FaultPlan.from_options(extra)
    return FlakyImageModel(plan, latency=fake_options(extra)["latency"])
