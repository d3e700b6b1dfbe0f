"""Co-writing from async code (a web server's event loop): ``aedit_step``, ``acheckout``,
``astep_history`` and ``aplan_rerun`` do what their synchronous twins do, in a worker thread, so
that the loop goes on serving while they wait for the run folder."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dramaturg
from dramaturg import load_chain, load_run
from dramaturg.cowrite.edit import aedit_text, aeditable_text
from dramaturg.store.rundir import RunDir

CHAIN = """
name: tale
models:
  default: {provider: fake}
steps:
  cast:
    prompt: {text: "The people of a story about the sea."}
    parse: {type: lines}
  title:
    prompt: {text: "A title for a story with {{ cast | join(', ') }}."}
"""


@pytest.fixture
def run_dir(project: Callable[..., Path], tmp_path: Path) -> Path:
    result = load_chain(project(CHAIN)).run({}, dry_run=True, out=tmp_path / "out")
    assert result.ok and result.run_dir is not None
    return result.run_dir


async def test_edit_history_checkout_and_plan_from_a_running_loop(run_dir):
    first = load_run(run_dir)["title"]
    edited = await dramaturg.aedit_step(run_dir, "title", "The Salt Road")
    assert (edited.version, edited.kind) == (2, "EDIT")
    assert load_run(run_dir)["title"] == "The Salt Road"
    history = await dramaturg.astep_history(run_dir, "title")
    assert [(v.version, v.kind, v.current) for v in history] == [
        (1, "NEW", False),
        (2, "EDIT", True),
    ]
    restored = await dramaturg.acheckout(run_dir, "title", 1)
    assert restored.version == 1 and load_run(run_dir)["title"] == first

    text, as_text = await aeditable_text(run_dir, "cast")
    assert as_text and text.count("\n") == len(load_run(run_dir)["cast"])
    await aedit_text(run_dir, "cast", "Wren\nOrrin\n", source="cast.txt")
    plan = await dramaturg.aplan_rerun(run_dir)  # the title reads the cast
    assert [c.name for c in plan.recompute] == ["title"]
    assert plan.recompute[0].why == "its prompt changed"


@contextlib.contextmanager
def folder_held_until(released: threading.Event, waiters: list[int]) -> Iterator[None]:
    """The run folder's lock, as if another thread held it until ``released``."""
    waiters.append(threading.get_ident())
    if not released.wait(timeout=10):  # the loop never got to release it: it was blocked
        raise TimeoutError("the event loop was blocked while the folder was held")
    yield


COWRITING: dict[str, Callable[[Path], Awaitable[Any]]] = {
    "aedit_step": lambda run: dramaturg.aedit_step(run, "title", "The Salt Road"),
    "acheckout": lambda run: dramaturg.acheckout(run, "title", 1),
    "astep_history": lambda run: dramaturg.astep_history(run, "title"),
}


@pytest.mark.parametrize("name", sorted(COWRITING))
async def test_the_loop_goes_on_while_the_folder_is_held(run_dir, monkeypatch, name):
    """The operation waits for the folder in its worker thread; meanwhile another task of the
    loop runs, and it is that task that releases the folder."""
    released = threading.Event()
    waiters: list[int] = []
    real_lock = RunDir.lock

    @contextlib.contextmanager
    def lock(self: RunDir) -> Iterator[None]:
        with folder_held_until(released, waiters), real_lock(self):
            yield

    monkeypatch.setattr(RunDir, "lock", lock)
    ticks = 0

    async def other_work() -> None:
        nonlocal ticks
        while not waiters:  # until the operation waits for the folder
            await asyncio.sleep(0.001)
        for _ in range(3):
            ticks += 1
            await asyncio.sleep(0)
        released.set()

    task = asyncio.create_task(other_work())
    result = await COWRITING[name](run_dir)
    await task
    assert ticks == 3  # the other task ran while the operation waited
    assert threading.get_ident() not in waiters  # it waited in a worker thread
    assert result is not None
