"""A new run from the studio's form: the chain's declared inputs, as text (coerced as
``--set`` does), run as a job in the output folder; the page goes to the run once its folder
exists."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import Event, EventKind
from .pages import html, studio_of

_NEW = itertools.count(1)
#: how long the form waits for the run's folder before it says the run is starting
WAIT = 30.0


async def start_new_run(request: Any, data: dict[str, Any]) -> Any:
    from ..api import load_chain

    studio = studio_of(request)
    chains = studio.workspace.chains
    try:
        chain_path = chains[int(str(data.get("chain", "0")))]
    except (ValueError, IndexError):
        raise InputError("no such chain") from None
    chain = await asyncio.to_thread(load_chain, chain_path)
    declared = chain.spec.inputs
    inputs = {k: str(v) for k, v in data.items() if k in declared and str(v).strip() != ""}
    seed_text = "" if "seed" in declared else str(data.get("seed", "") or "").strip()
    if seed_text and not seed_text.isdigit():
        raise InputError(f"the seed must be a whole number, not {seed_text!r}")
    seed = int(seed_text) if seed_text else None
    dry_run = str(data.get("dry_run", "")) in ("1", "true", "on")
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    key = f"new-{next(_NEW)}"

    async def work(on_event: Callable[[Event], None]) -> Any:
        def emit(event: Event) -> None:
            if event.kind == EventKind.RUN_STARTED and not started.done():
                run_dir = event.to_dict().get("run_dir")
                if run_dir:
                    started.set_result(Path(str(run_dir)).name)
                    studio.jobs.rename(key, Path(str(run_dir)).name)
            on_event(event)

        return await chain.arun(
            inputs,
            out=studio.workspace.out,
            dry_run=dry_run,
            seed=seed,
            models=studio.models,
            on_event=emit,
            text_inputs=frozenset(inputs),
            stream=True,
        )

    studio.jobs.start(key, "writing a new run", work)
    task = studio.jobs.task(key)
    assert task is not None
    await asyncio.wait([started, task], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if started.done():
        run = started.result()
        return html("", 200, headers={"HX-Redirect": f"/runs/{run}"})
    if task.done():
        error = studio.jobs.last.get(key)
        why = error.error if error is not None and error.error else "the run did not start"
        raise InputError(why)
    return html('<p role="status">Starting… (the model is loading)</p>', 202)
