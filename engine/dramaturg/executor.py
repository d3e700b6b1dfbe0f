"""Run a DAG of named async jobs: each starts as soon as all of its dependencies have succeeded.

Generic: knows nothing of prompts, models or files. A failing job marks its descendants
``skipped`` while independent branches run on. Cancelling :meth:`Executor.run` (Ctrl-C) cancels
the running jobs, waits for them to stop and marks them ``cancelled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["pending", "running", "done", "failed", "skipped", "cancelled"]


@dataclass
class Outcome:
    status: Status = "pending"
    value: Any = None
    error: BaseException | None = None
    #: for skipped jobs: the failed job that caused it
    blocked_by: str | None = None


class Executor:
    """Schedules ``run(name)`` for every name in ``deps`` (name -> names it depends on)."""

    def __init__(
        self,
        deps: Mapping[str, Sequence[str]],
        run: Callable[[str], Awaitable[Any]],
        *,
        on_skip: Callable[[str, str], None] | None = None,
    ) -> None:
        self.deps = {n: tuple(d) for n, d in deps.items()}
        self._run = run
        self._on_skip = on_skip
        self.children: dict[str, list[str]] = {n: [] for n in self.deps}
        for n, ds in self.deps.items():
            for d in ds:
                self.children[d].append(n)
        self.outcomes: dict[str, Outcome] = {n: Outcome() for n in self.deps}

    async def run(self) -> dict[str, Outcome]:
        waiting = {n: len(ds) for n, ds in self.deps.items()}
        running: dict[asyncio.Task[Any], str] = {}

        def start(name: str) -> None:
            self.outcomes[name].status = "running"
            task = asyncio.ensure_future(self._run(name))
            running[task] = name

        for name in self.deps:
            if waiting[name] == 0:
                start(name)
        try:
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    name = running.pop(task)
                    out = self.outcomes[name]
                    if task.cancelled():
                        out.status = "cancelled"
                        continue
                    exc = task.exception()
                    if exc is not None:
                        out.status, out.error = "failed", exc
                        self._skip_below(name)
                        continue
                    out.status, out.value = "done", task.result()
                    for child in self.children[name]:
                        waiting[child] -= 1
                        if waiting[child] == 0 and self.outcomes[child].status == "pending":
                            start(child)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for task, name in running.items():
                out = self.outcomes[name]
                if task.cancelled() or isinstance(task.exception(), asyncio.CancelledError):
                    out.status = "cancelled"
                elif task.exception() is not None:
                    out.status, out.error = "failed", task.exception()
                else:
                    out.status, out.value = "done", task.result()
            raise
        return self.outcomes

    def _skip_below(self, failed: str) -> None:
        stack = list(self.children[failed])
        while stack:
            n = stack.pop()
            out = self.outcomes[n]
            if out.status != "pending":
                continue
            out.status, out.blocked_by = "skipped", failed
            if self._on_skip:
                self._on_skip(n, failed)
            stack.extend(self.children[n])
