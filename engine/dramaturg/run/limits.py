"""Model calls: the limits they run under and how their errors are classified."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from ..chain.answers import clean_text
from ..errors import ModelError
from ..providers.retry import http_error
from ..secrets import scrub
from .models import CallPolicy


class RateLimiter:
    """Spaces call starts at least ``1 / rate`` seconds apart (exact; no polling)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class CallLimits(Protocol):
    """What model calls wait on: a slot for a call to ``model`` (the limits of one run, of a
    batch's rows, or of a whole cluster)."""

    def slot(self, model: str) -> contextlib.AbstractAsyncContextManager[None]: ...


class Limiter:
    """A global cap on model calls in flight, and per model a cap and a rate limit."""

    def __init__(self, total: int, policies: dict[str, CallPolicy]) -> None:
        self.total = asyncio.Semaphore(max(1, total))
        self.models = {
            n: asyncio.Semaphore(p.concurrency) for n, p in policies.items() if p.concurrency
        }
        self.rates = {n: RateLimiter(p.rate_limit) for n, p in policies.items() if p.rate_limit}

    @contextlib.asynccontextmanager
    async def slot(self, model: str) -> AsyncIterator[None]:
        sem = self.models.get(model)
        async with contextlib.AsyncExitStack() as stack:
            if sem is not None:  # wait for the model first, so waiting holds no global slot
                await stack.enter_async_context(sem)
            await stack.enter_async_context(self.total)
            rate = self.rates.get(model)
            if rate is not None:
                await rate.wait()
            yield


def text_of(content: Any) -> str:
    """A model's answer as text, without control characters (terminal escape sequences, NULs
    and bells would otherwise reach the parsers, the run's files, exports and terminals), lone
    surrogates replaced, and known credentials masked: an answer that echoes an API key must
    not store it in the run folder, the call log or the step cache."""
    return scrub(clean_text(plain_text(content)))


def plain_text(content: Any) -> str:
    """The text of a message's content (a string, or a list of text parts), as it came."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in content
            if isinstance(p, (str, dict))
        )
    return str(content)


def classify(
    exc: BaseException, provider: Callable[[BaseException], ModelError | None] | None = None
) -> ModelError:
    if isinstance(exc, ModelError):
        return exc
    if provider is not None:
        known = provider(exc)
        if known is not None:
            return known
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ModelError("model call timed out", transient=True)
    if isinstance(exc, (ConnectionError, OSError)):
        return ModelError(f"connection failed: {exc}", transient=True)
    name = type(exc).__name__
    if _dropped_connection(exc) or any(
        w in name
        for w in ("Timeout", "Connection", "Disconnect", "ServiceUnavailable", "Overloaded")
    ):
        return ModelError(f"model call failed: {name}: {exc}", transient=True)
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    if isinstance(status, int):
        headers = getattr(exc, "headers", None) or getattr(response, "headers", None) or {}
        return http_error("model service", status, f"{type(exc).__name__}: {exc}", headers)
    return ModelError(f"model call failed: {type(exc).__name__}: {exc}")


def _dropped_connection(exc: BaseException) -> bool:
    """An httpx transport error (connection refused, reset or closed by the server, a read or
    write failing midway): worth a retry. Errors in the request itself are not."""
    import httpx

    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
    )
