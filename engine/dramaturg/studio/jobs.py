"""The studio's jobs: at most one writer per run (a regenerate, a continue, a new run), their
events handed to every page watching the run.

- :class:`Hub` keeps each run's listeners (a bounded queue each: a page that stops reading is
  dropped, not buffered without end; it reconnects and reads the run afresh).
- :class:`Jobs` starts a job on a run unless one is under way (:class:`Busy`), forwards its
  engine events to the hub, and stops it on request (the co-writing functions keep what was
  finished: a stopped regenerate is finished by regenerating again).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..events import Event

#: the most messages a page may be behind before it is dropped
QUEUE = 2000


@dataclass(frozen=True)
class JobState:
    """A job, as the pages show it (``state``: running, done, failed, stopped)."""

    id: int
    run: str
    what: str
    state: str
    started: float
    error: str | None = None


@dataclass(frozen=True)
class Message:
    """One thing a page watching ``run`` hears: an engine event, or a job's new state."""

    run: str
    event: Event | None = None
    job: JobState | None = None


class Busy(RuntimeError):
    """A job runs on the run already (answered 409 with what it is)."""

    def __init__(self, job: JobState) -> None:
        super().__init__(f"busy: {job.what} is running on this run")
        self.job = job


class Hub:
    """Each run's listeners."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[Message | None]]] = {}

    def listen(self, run: str) -> asyncio.Queue[Message | None]:
        queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE)
        self._listeners.setdefault(run, set()).add(queue)
        return queue

    def leave(self, run: str, queue: asyncio.Queue[Message | None]) -> None:
        self._listeners.get(run, set()).discard(queue)

    def publish(self, message: Message) -> None:
        for queue in list(self._listeners.get(message.run, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a page that does not read: it is told to reload
                self.leave(message.run, queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

    def listeners(self, run: str) -> int:
        return len(self._listeners.get(run, ()))


@dataclass
class _Job:
    state: JobState
    task: asyncio.Task[Any]


@dataclass
class Jobs:
    """The jobs of one studio."""

    hub: Hub = field(default_factory=Hub)
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: the last job of each run, finished (what the page shows after a reload)
    last: dict[str, JobState] = field(default_factory=dict)

    def running(self, run: str) -> JobState | None:
        job = self._jobs.get(run)
        return job.state if job is not None else None

    def start(
        self, run: str, what: str, work: Callable[[Callable[[Event], None]], Awaitable[Any]]
    ) -> JobState:
        """Start ``work(on_event)`` on ``run``; Busy when a job runs on it already."""
        busy = self.running(run)
        if busy is not None:
            raise Busy(busy)
        state = JobState(next(self._ids), run, what, "running", time.time())
        holder: list[_Job] = []

        def on_event(event: Event) -> None:
            self.hub.publish(Message(holder[0].state.run, event=event))

        task = asyncio.get_running_loop().create_task(self._run(holder, work, on_event))
        holder.append(_Job(state, task))
        self._jobs[run] = holder[0]
        self.hub.publish(Message(run, job=state))
        return state

    def rename(self, old: str, new: str) -> JobState:
        """A new run's job, known by its run's id from now on (its folder exists)."""
        job = self._jobs.pop(old)
        job.state = replace(job.state, run=new)
        self._jobs[new] = job
        self.hub.publish(Message(new, job=job.state))
        return job.state

    def task(self, run: str) -> asyncio.Task[Any] | None:
        job = self._jobs.get(run)
        return job.task if job is not None else None

    async def _run(
        self,
        holder: list[_Job],
        work: Callable[[Callable[[Event], None]], Awaitable[Any]],
        on_event: Callable[[Event], None],
    ) -> None:
        end = "done"
        error = None
        try:
            result = await work(on_event)
            if getattr(result, "ok", True) is False:  # a run whose step failed
                failed = [f"{s.id}: {s.error}" for s in result.failed_steps()]
                end, error = "failed", _first_line(Exception("; ".join(failed) or "failed"))
        except asyncio.CancelledError:
            end = "stopped"
        except Exception as exc:  # a job's failure is shown on the page, not raised here
            end, error = "failed", _first_line(exc)
        finally:
            state = holder[0].state
            self._jobs.pop(state.run, None)
            done = JobState(state.id, state.run, state.what, end, state.started, error)
            self.last[state.run] = done
            self.hub.publish(Message(state.run, job=done))

    async def stop(self, run: str) -> bool:
        """Stop the run's job (False: none was running)."""
        job = self._jobs.get(run)
        if job is None:
            return False
        job.task.cancel()
        with contextlib.suppress(BaseException):
            await job.task
        return True

    async def close(self) -> None:
        for run in list(self._jobs):
            await self.stop(run)


def _first_line(exc: BaseException) -> str:
    from ..secrets import scrub

    text = str(exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)
