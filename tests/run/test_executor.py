"""The DAG executor on its own: start order, start as soon as ready, failures and cancelling."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dramaturg.run.executor import Executor


def run(deps: dict[str, list[str]], job: Any, **kw: Any) -> Executor:
    ex = Executor(deps, job, **kw)
    asyncio.run(asyncio.wait_for(ex.run(), 10))
    return ex


def test_jobs_ready_together_start_longest_path_first():
    # 'plot' leads a chain of three; the portraits end there: plot must reach its model first,
    # whatever the order the chain file declares them in
    deps = {
        "characters": [],
        "portraits": ["characters"],
        "title": [],
        "plot": ["characters"],
        "places": ["plot"],
        "dialogue": ["places"],
    }
    started: list[str] = []

    async def job(name: str) -> str:
        started.append(name)
        await asyncio.sleep(0)
        return name

    run(deps, job)
    assert started.index("characters") < started.index("title")
    assert started.index("plot") < started.index("portraits")


def test_a_job_starts_when_its_own_dependencies_are_done_not_when_a_level_is():
    deps = {"slow": [], "fast": [], "after_fast": ["fast"]}
    events: list[str] = []

    async def job(name: str) -> None:
        events.append(f"start {name}")
        await asyncio.sleep(0.2 if name == "slow" else 0)
        events.append(f"end {name}")

    run(deps, job)
    assert events.index("start after_fast") < events.index("end slow")


def test_a_failure_skips_what_depends_on_it_and_the_rest_finishes():
    deps = {"a": [], "b": ["a"], "c": ["b"], "d": []}
    skipped: list[tuple[str, str]] = []

    async def job(name: str) -> str:
        if name == "a":
            raise ValueError("boom")
        return name

    ex = run(deps, job, on_skip=lambda n, by: skipped.append((n, by)))
    out = ex.outcomes
    assert out["a"].status == "failed" and isinstance(out["a"].error, ValueError)
    assert (out["b"].status, out["b"].blocked_by) == ("skipped", "a")
    assert (out["c"].status, out["c"].blocked_by) == ("skipped", "a")
    assert out["d"].status == "done" and out["d"].value == "d"
    assert sorted(skipped) == [("b", "a"), ("c", "a")]


def test_an_on_skip_hook_that_raises_ends_the_run_with_its_error():
    async def job(name: str) -> None:
        raise ValueError("boom")

    def hook(name: str, by: str) -> None:
        raise RuntimeError("hook broke")

    with pytest.raises(RuntimeError, match="hook broke"):
        run({"a": [], "b": ["a"]}, job, on_skip=hook)


def test_cancelling_the_run_cancels_the_running_jobs():
    async def main() -> Executor:
        ex = Executor({"a": [], "b": ["a"]}, lambda name: asyncio.sleep(10))
        task = asyncio.ensure_future(ex.run())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return ex

    ex = asyncio.run(main())
    assert ex.outcomes["a"].status == "cancelled"
    assert ex.outcomes["b"].status == "pending"


def test_a_chain_of_ten_thousand_jobs_runs_without_recursing():
    deps = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(10_000)}

    async def job(name: str) -> str:
        return name

    ex = run(deps, job)
    assert all(o.status == "done" for o in ex.outcomes.values())
