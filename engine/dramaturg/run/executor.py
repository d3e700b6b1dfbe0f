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
        height = _heights(self.deps, self.children)
        # jobs that become ready together start longest-path first: on a single event loop the
        # first started is the first to reach its model, so the critical path waits least
        for kids in self.children.values():
            kids.sort(key=lambda n: -height[n])
        self._roots = sorted((n for n, ds in self.deps.items() if not ds), key=lambda n: -height[n])

    async def run(self) -> dict[str, Outcome]:
        waiting = {n: len(ds) for n, ds in self.deps.items()}
        running: dict[asyncio.Task[Any], str] = {}
        finished = asyncio.get_running_loop().create_future()
        stopping = False

        def start(name: str) -> None:
            self.outcomes[name].status = "running"
            task = asyncio.ensure_future(self._run(name))
            running[task] = name
            task.add_done_callback(ended)

        def ended(task: asyncio.Task[Any]) -> None:
            """A job ended: its dependents whose dependencies are all done start now (not on a
            later turn of a wait loop)."""
            if stopping or finished.done():
                return
            try:
                name = running.pop(task)
                out = self.outcomes[name]
                if task.cancelled():
                    out.status = "cancelled"
                elif (exc := task.exception()) is not None:
                    out.status, out.error = "failed", exc
                    self._skip_below(name)
                else:
                    out.status, out.value = "done", task.result()
                    for child in self.children[name]:
                        waiting[child] -= 1
                        if waiting[child] == 0 and self.outcomes[child].status == "pending":
                            start(child)
            except BaseException as exc:  # an on_skip hook failed: run() raises it
                finished.set_exception(exc)
                return
            if not running:
                finished.set_result(None)

        for name in self._roots:
            start(name)
        try:
            if running:
                await finished
        except asyncio.CancelledError:
            stopping = True
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


def _heights(
    deps: Mapping[str, Sequence[str]], children: Mapping[str, Sequence[str]]
) -> dict[str, int]:
    """Each job's longest chain of dependents (0 for a job nothing depends on); iterative, in
    reverse topological order, so that a chain of 10,000 jobs does not recurse."""
    pending = {n: len(children[n]) for n in deps}
    ready = [n for n, k in pending.items() if k == 0]
    height: dict[str, int] = {}
    while ready:
        n = ready.pop()
        height[n] = max((height[c] + 1 for c in children[n]), default=0)
        for d in deps[n]:
            pending[d] -= 1
            if pending[d] == 0:
                ready.append(d)
    return {n: height.get(n, 0) for n in deps}  # a cycle (refused by validation) counts 0
