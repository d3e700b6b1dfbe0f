"""A batch's rows as they finish, for synchronous code: the batch runs in its own thread and
event loop, and the caller's loop over the results takes them from a queue. Leaving the loop
early stops the batch (rows in flight are cancelled and marked stopped)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

_END = object()


def iterate(make: Callable[[], AsyncIterator[Any]]) -> Iterator[Any]:
    """The items of the async iterator ``make()`` makes, produced in a thread of its own."""
    items: queue.Queue[Any] = queue.Queue(maxsize=64)
    stop = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    task_box: list[asyncio.Task[None]] = []

    async def produce() -> None:
        async for item in make():
            while not stop.is_set():
                try:
                    items.put(item, timeout=0.1)
                    break
                except queue.Full:
                    await asyncio.sleep(0)
            if stop.is_set():
                return

    def main() -> None:
        loop = asyncio.new_event_loop()
        loop_box.append(loop)
        try:
            task = loop.create_task(produce())
            task_box.append(task)
            loop.run_until_complete(task)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                items.put(exc)
        finally:
            loop.close()
            items.put(_END)

    thread = threading.Thread(target=main, name="dramaturg-batch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if loop_box and task_box and thread.is_alive():
            loop_box[0].call_soon_threadsafe(task_box[0].cancel)
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.1)
        thread.join()
