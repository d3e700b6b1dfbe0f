"""Run the engine's coroutines from synchronous code (``Chain.run``, ``rerun``, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .errors import InputError

T = TypeVar("T")


def run_sync(start: Callable[[], Coroutine[Any, Any, T]], name: str, instead: str) -> T:
    """``asyncio.run(start())``; inside a running event loop, an InputError naming the
    coroutine to await instead (``start`` is only called when it can run)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    raise InputError(
        f"{name}() was called inside a running event loop",
        hint=f"use `await {instead}(...)` there",
    )
