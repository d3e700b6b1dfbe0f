"""Co-writing a finished run: edit a step's output, see its history, restore a version.

Every operation keeps a new version of the step (:mod:`dramaturg.store.versions`), makes it the
step's current output, marks the steps downstream of it stale (a rerun updates them:
:mod:`dramaturg.rerun`) and rebuilds the run's exports. An edited output is *pinned*: reruns
keep it, until ``rerun --only`` (or ``--from``) regenerates it. ``continue`` is in
:mod:`dramaturg.cowrite.continuation`.

Each has an async twin (``aedit_step``, ``acheckout``, ...) for event loops: it runs in a
worker thread, so that the loop is not blocked while it reads, writes and holds the folder.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..source import Source
from ..spec import JsonParse, PromptRef, StepSpec
from ..store.versions import (
    EDIT,
    CallState,
    Version,
    call_id,
)
from .editcheck import (
    check_value,
    editable,
    edited_as_text,
    read_edit,
)
from .runstate import RunState


def step_history(run_dir: str | Path, step: str, item: int | None = None) -> list[Version]:
    """Every version of a step, oldest first (``current`` marks the run's). With ``item``, the
    versions that changed that fan-out item."""
    state = RunState(run_dir)
    state.entry(step)
    with state.locked(rerun=True):
        state.sync(rerun_stopped=state.pending() is not None)
    versions = state.store.all(step)
    if item is None:
        return versions
    if versions:
        state.check_item(step, item, versions[-1].output)
    out: list[Version] = []
    for v in versions:
        if not out or v.value(item) != out[-1].value(item):
            out.append(v)
    return out


def checkout(run_dir: str | Path, step: str, version: int) -> Version:
    """Make an earlier version the step's current output again, exactly as it was (pinned
    calls stay pinned); the steps downstream are marked stale and the exports rebuilt."""
    state = RunState(run_dir)
    state.entry(step)
    with state.locked():
        state.sync(restoring=step)  # a damaged current output is what a checkout repairs
        target = state.store.get(step, version)
        if target.version != state.store.current(step) or not state.readable(step):
            state.apply(target)
            state.store.set_current(step, target.version)
            target.current = True
            state.mark_stale(step)
            state.write_manifest()
            state.export()
    return target


def editable_text(run_dir: str | Path, step: str, item: int | None = None) -> tuple[str, bool]:
    """A finished step's current output (or one fan-out item's) as :func:`edit_text` reads it,
    and whether that is plain text (else YAML)."""
    state = RunState(run_dir)
    state.require_done(step)
    output = state.output(step)
    state.check_item(step, item, output)
    value = output if item is None else output[item]
    spec = state.spec.steps[step]
    return editable(spec, value), edited_as_text(spec, value)


@dataclass(frozen=True)
class TextEdit:
    """An edit given as the text of an edited file, as :func:`edit_text` reads it: the text
    itself for a step whose output is text, else YAML (errors name ``source``:line:column)."""

    text: str
    source: str = "<edit>"


#: ``read(current value) -> (new value, the YAML source it came from)``
Read = Callable[[Any], tuple[Any, Source | None]]


def edit_reader(state: RunState, step: str, edit: Any) -> Read:
    """How an edit's new value is read: a :class:`TextEdit` as :func:`edit_text` reads it,
    anything else as the value itself (:func:`edit_step`)."""
    if not isinstance(edit, TextEdit):
        return lambda _current: (edit, None)

    def read(current: Any) -> tuple[Any, Source | None]:
        as_text = edited_as_text(state.spec.steps[step], current)
        return read_edit(edit.text, edit.source, as_text)

    return read


def edit_step(
    run_dir: str | Path, step: str, value: Any, *, item: int | None = None, note: str = ""
) -> Version:
    """Replace a step's output (or one fan-out item's) with ``value``.

    The value goes through the step's parser (as JSON; text as is) and what it makes of it is
    kept, as a new EDIT version, pinned; the steps downstream are marked stale and the exports
    rebuilt. A whole fan-out step is edited as its list (one value per item; the changed items
    are pinned). Raises InputError when the parser refuses the value. Editing to the current
    value changes nothing (the current version is returned).
    """
    state = RunState(run_dir)
    return _edit(state, step, item, edit_reader(state, step, value), note)


def edit_text(
    run_dir: str | Path,
    step: str,
    text: str,
    *,
    item: int | None = None,
    source: str = "<edit>",
    note: str = "",
) -> Version:
    """As :func:`edit_step`, from the text of an edited file: the text itself for a step whose
    output is text (a ``lines`` step: one entry per line), else YAML (errors name
    ``source``:line:column). :func:`editable_text` gives the current output in that form."""
    state = RunState(run_dir)
    return _edit(state, step, item, edit_reader(state, step, TextEdit(text, source)), note)


def _edit(state: RunState, step: str, item: int | None, read: Read, note: str) -> Version:
    check_editable(state, step)
    with state.locked():
        state.sync()
        version = edit_version(state, step, item, read, note)
        if version is None:
            current = state.store.current_version(step)
            assert current is not None  # a finished step has one after sync
            return current
        keep_edit(state, version)
        state.export()
    return version


def check_editable(state: RunState, step: str) -> None:
    """InputError for a step that cannot be edited: unfinished, or making images."""
    state.require_done(step)
    if state.spec.steps[step].kind == "image":
        raise InputError(
            f"step '{step}' makes images: they cannot be edited as text",
            hint=f"draw one again with `dramaturg rerun {state.root} --only {step}/N`, "
            f"or restore a version with `dramaturg checkout {state.root} {step} N`",
        )


def edit_version(
    state: RunState, step: str, item: int | None, read: Read, note: str = ""
) -> Version | None:
    """The EDIT version an edit makes, checked by the step's parser, not kept yet; None when
    it changes nothing. The folder is held and synced (:meth:`RunState.sync`)."""
    check_editable(state, step)
    spec = state.spec.steps[step]
    current = state.store.current_version(step)
    assert current is not None  # a finished step has one after sync
    state.check_item(step, item, current.output)
    value, source = read(current.value(item))
    new, changed = _checked(state, step, spec, current, item, value, source)
    if not changed:
        return None
    calls = {c: replace(s) for c, s in current.calls.items()}
    for i in changed:
        was = calls.get(call_id(i)) or CallState()
        calls[call_id(i)] = CallState(key=was.key, seed=was.seed, pinned=True)
    return Version(
        step,
        0,
        EDIT,
        time.time(),
        new,
        item=changed[0] if len(changed) == 1 else item,
        note=note or "edited",
        based_on=current.version,
        calls=calls,
    )


def keep_edit(state: RunState, version: Version) -> None:
    """Keep an edit's version as the step's current output; mark the steps below stale."""
    state.keep(version)
    state.apply(version)
    state.mark_stale(version.step)
    state.write_manifest()


def _checked(
    state: RunState,
    step: str,
    spec: StepSpec,
    current: Version,
    item: int | None,
    value: Any,
    source: Source | None,
) -> tuple[Any, list[int | None]]:
    """The new output after the parser, and the calls it changes."""
    if not state.is_fan_out(step):
        new = check_value(spec, value, where=step, source=source, schema=_schema(state, step, None))
        return new, [None] if new != current.output else []
    before = list(current.output)
    if item is not None:
        where = f"{step} item {item}"
        schema = _schema(state, step, item)
        after = list(before)
        after[item] = check_value(spec, value, where=where, source=source, schema=schema)
    else:
        if not isinstance(value, list) or len(value) != len(before):
            given = f"{len(value)} entries" if isinstance(value, list) else "no list"
            raise InputError(
                f"{step}: the edit must keep one entry per item ({len(before)}); it has {given}",
                hint=f"edit one item at a time (`dramaturg edit {state.root} {step} N`), "
                "or keep the entries in place",
            )
        after = [
            check_value(
                spec,
                v,
                where=f"{step} item {i}",
                source=source,
                schema=_schema(state, step, i),
                path=(i,),
            )
            for i, v in enumerate(value)
        ]
    return after, [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]


def _schema(state: RunState, step: str, item: int | None) -> dict[str, Any] | None:
    """The answer schema a JSON step's parser checks: its own, or its schema template rendered
    for this call from the run's current outputs. (Custom parsers do not read it.)"""
    spec = state.spec.steps[step]
    if not isinstance(spec.parse, JsonParse):
        return None
    if not isinstance(spec.parse.schema_, PromptRef):
        return spec.parse.static_schema()
    from .reopen import render_call, reopen

    return render_call(reopen(state, render_only=True), state, step, item).schema


# -- from async code ---------------------------------------------------------------------------
# Each runs its synchronous twin in a worker thread (file I/O, the folder's lock), so that an
# event loop (a web server's) goes on serving while it works.


async def aedit_step(
    run_dir: str | Path, step: str, value: Any, *, item: int | None = None, note: str = ""
) -> Version:
    """:func:`edit_step` in a worker thread."""
    return await asyncio.to_thread(edit_step, run_dir, step, value, item=item, note=note)


async def aedit_text(
    run_dir: str | Path,
    step: str,
    text: str,
    *,
    item: int | None = None,
    source: str = "<edit>",
    note: str = "",
) -> Version:
    """:func:`edit_text` in a worker thread."""
    return await asyncio.to_thread(
        edit_text, run_dir, step, text, item=item, source=source, note=note
    )


async def aeditable_text(
    run_dir: str | Path, step: str, item: int | None = None
) -> tuple[str, bool]:
    """:func:`editable_text` in a worker thread."""
    return await asyncio.to_thread(editable_text, run_dir, step, item)


async def acheckout(run_dir: str | Path, step: str, version: int) -> Version:
    """:func:`checkout` in a worker thread."""
    return await asyncio.to_thread(checkout, run_dir, step, version)


async def astep_history(run_dir: str | Path, step: str, item: int | None = None) -> list[Version]:
    """:func:`step_history` in a worker thread."""
    return await asyncio.to_thread(step_history, run_dir, step, item)
