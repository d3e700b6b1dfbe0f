"""File writes taken off the event loop: one thread makes them, in the order they were queued.

One thread rather than one per write: the writes do not contend with the event loop (or each
other) for the GIL, and queueing one wakes nothing up. :meth:`Writer.drain` waits for all of
them and returns their errors; writes queued after it are made at once, by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Writer:
    """Makes queued writes in one thread, in order."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dramaturg-writer"
        )
        self._queued: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; after :meth:`drain`, call it at once."""
        if self._pool is None:
            fn(*args)
        else:
            self._queued.append(self._pool.submit(fn, *args))

    def drain(self) -> list[BaseException]:
        """Wait for every queued write; the errors they raised, in order."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        errors = [e for f in self._queued if (e := f.exception()) is not None]
        self._queued = []
        return errors
