"""``dramaturg continue``: ask the model to extend a step's output, as Dramatron's "continue"
does for characters, scenes and dialogue.

The step's call (a fan-out step: one item's) is sent again, rendered from the run's current
outputs, followed by the current output as the model's own answer and the step's ``continue``
prompt (by default: go on in the same format without repeating). The answer goes through the
step's parser and is appended: lists are concatenated (entries already there are dropped), text
gets a new paragraph. The result is a CONTINUE version, pinned; the steps downstream are marked
stale and the exports rebuilt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import Event
from ..result import StepResult
from ..run.session import RunOptions
from ..store.versions import (
    CONTINUE,
    CallState,
    Version,
    call_id,
)
from ..syncrun import run_sync
from .reopen import derived_seed, render_call, reopen
from .runstate import RunState

DEFAULT_PROMPT = (
    "Continue: write more in exactly the same format as your answer above. "
    "Do not repeat anything you already wrote."
)


def continue_step(
    run_dir: str | Path, step: str, item: int | None = None, **kwargs: Any
) -> Version:
    """Extend a step's output synchronously; see :func:`acontinue_step`."""
    return run_sync(
        lambda: acontinue_step(run_dir, step, item, **kwargs),
        "continue_step",
        "dramaturg.cowrite.continuation.acontinue_step",
    )


async def acontinue_step(
    run_dir: str | Path,
    step: str,
    item: int | None = None,
    *,
    models: Mapping[str, Any] | None = None,
    seed: int | None = None,
    templates: Sequence[str | Path] = (),
    on_event: Callable[[Event], None] | None = None,
    stream: bool = False,
) -> Version:
    """Ask the step's model to extend its output (a fan-out step: ``item``'s); returns the new
    CONTINUE version. ``seed``: the call's seed (default: the step's + 1000 per version).
    ``models``, ``templates`` and ``stream`` as for :func:`dramaturg.rerun`."""
    state = RunState(run_dir)
    state.require_done(step)
    spec = state.spec.steps[step]
    if spec.kind == "image":
        raise InputError(
            f"step '{step}' makes images: only text can be continued",
            hint=f"draw one again with `dramaturg rerun {state.root} --only {step}/N`",
        )
    if state.is_fan_out(step) and item is None:
        raise InputError(
            f"step '{step}' has one output per item: name the one to continue",
            hint=f"e.g. dramaturg continue {state.root} {step} 0",
        )
    opened = reopen(
        state,
        templates=templates,
        models=models,
        options=RunOptions(on_event=on_event, stream=stream),
    )
    session = opened.session
    try:
        with state.locked():
            state.sync()
            current = state.store.current_version(step)
            assert current is not None  # a finished step has one after sync
            state.check_item(step, item, current.output)
            value = current.value(item)
            if not isinstance(value, (list, str)):
                raise InputError(
                    f"step '{step}' gives a {type(value).__name__}: only lists and text can be "
                    "continued",
                    hint=f"edit it instead: dramaturg edit {state.root} {step}",
                )
            call = render_call(opened, state, step, item)
            ask = DEFAULT_PROMPT
            if spec.continue_ is not None:
                ask = session.renderer.render(step, "continue", spec.continue_, call.context)
            was = current.calls.get(call_id(item)) or CallState()
            before = was.raw if was.raw and not was.pinned else _as_answer(value)
            used = seed
            if used is None:
                base = opened.models.config(opened.chain.spec.steps[step]).options.seed_number
                used = derived_seed(base, state.store.latest(step) + 1)
            from langchain_core.messages import AIMessage, HumanMessage

            results = {sid: StepResult(sid) for sid in opened.chain.spec.steps}
            record = await session.step_calls(results).text(
                step,
                opened.chain.spec.steps[step],
                call.prompt,
                call.system,
                item,
                call.schema,
                seed=used,
                follow_up=[AIMessage(before), HumanMessage(ask)],
            )
            longer, added = extended(value, record.output)
            if not added:
                raise InputError(
                    f"the model's continuation of '{step}' added nothing new (seed {used})",
                    hint="try another seed: --seed N",
                )
            output = longer
            if item is not None:
                output = list(current.output)
                output[item] = longer
            calls = {c: replace(s) for c, s in current.calls.items()}
            calls[call_id(item)] = CallState(key=was.key, seed=was.seed, pinned=True)
            version = Version(
                step,
                0,
                CONTINUE,
                time.time(),
                output,
                item=item,
                note=f"continued: {added} new entries"
                if isinstance(value, list)
                else "continued: a new paragraph",
                based_on=current.version,
                seed=used,
                calls=calls,
                usage=dict(record.usage),
            )
            state.keep(version)
            state.apply(version)
            state.mark_stale(step)
            state.write_manifest()
            state.export()
    finally:
        await session.aclose()
    return version


def _as_answer(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def extended(value: list[Any] | str, more: Any) -> tuple[list[Any] | str, int]:
    """``value`` with the continuation ``more`` appended, and how much was new: a list gets
    the entries it does not hold yet, text a new paragraph."""
    if isinstance(value, list):
        if not isinstance(more, list):
            more = [more]
        new: list[Any] = []
        for entry in more:
            if entry not in value and entry not in new:
                new.append(entry)
        return [*value, *new], len(new)
    text = more if isinstance(more, str) else _as_answer(more)
    text = text.strip()
    if not text or text in value:
        return value, 0
    return f"{value.rstrip()}\n\n{text}", 1
