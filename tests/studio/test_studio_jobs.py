"""One writer a run, structurally: a second job on a run is refused while the first runs, a
stopped job is said stopped, and a page that stops reading is dropped, not buffered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from dramaturg.events import Event
from dramaturg.studio import jobs as jobs_module
from dramaturg.studio.jobs import Busy, Jobs, Message


async def test_a_second_job_on_a_run_is_busy_and_another_run_is_not() -> None:
    jobs = Jobs()
    release = asyncio.Event()

    async def work(_on_event: Callable[[Event], None]) -> None:
        await release.wait()

    first = jobs.start("run-a", "regenerating dialogue 3", work)
    with pytest.raises(Busy) as busy:
        jobs.start("run-a", "continuing characters", work)
    assert busy.value.job == first
    jobs.start("run-b", "regenerating title", work)  # another run: its own writer
    release.set()
    await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert jobs.running("run-a") is None
    assert jobs.last["run-a"].state == "done"
    jobs.start("run-a", "continuing characters", work)  # free again
    await jobs.close()


async def test_a_stopped_job_is_stopped_and_its_listeners_hear_it() -> None:
    jobs = Jobs()
    heard = jobs.hub.listen("run")
    started = asyncio.Event()

    async def work(_on_event: Callable[[Event], None]) -> None:
        started.set()
        await asyncio.Event().wait()

    jobs.start("run", "regenerating plot", work)
    await started.wait()
    assert await jobs.stop("run")
    states: list[Any] = []
    while not heard.empty():
        message = heard.get_nowait()
        assert isinstance(message, Message)
        if message.job is not None:
            states.append(message.job.state)
    assert states == ["running", "stopped"]
    assert not await jobs.stop("run")  # nothing runs now


def test_a_page_that_stops_reading_is_dropped_and_told_to_reload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs_module, "QUEUE", 3)
    jobs = Jobs()
    slow = jobs.hub.listen("run")
    for _ in range(10):
        jobs.hub.publish(Message("run"))
    assert jobs.hub.listeners("run") == 0
    left = [slow.get_nowait() for _ in range(slow.qsize())]
    assert left[-1] is None  # the page's signal to read the run afresh
    assert len(left) <= 3
