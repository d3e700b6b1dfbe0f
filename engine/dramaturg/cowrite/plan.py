"""The plan of a rerun, made without running it: which calls ``dramaturg rerun`` would make,
after the run's saved edits or after an edit not saved yet, and why (``rerun --plan``).

The plan prepares the rerun as the rerun does (:func:`~dramaturg.cowrite.rerun.prepare`: the
first versions of the steps, the pinned outputs, the forced calls and their seeds), with the
edits given applied as :func:`~dramaturg.cowrite.edit.edit_step` applies them, on a scratch view
of the folder (:class:`~dramaturg.store.scratch.ScratchDir`): nothing is written, the folder's
lock is not taken. It then walks the steps in the order they run, renders each call from the
outputs the rerun would give the steps it reads (:func:`~dramaturg.cowrite.reopen.render_calls`)
and keys it (:class:`~dramaturg.run.callkeys.CallKeys`); no model is loaded or called. The
rerun's own lookup (:meth:`~dramaturg.run.callplan.CallPlan.lookup`) tells which calls it keeps.

A call that reads the output of a call to recompute cannot be rendered (that output is not
known before the model answers): it is planned as **may recompute**, with the calls it depends
on. The rerun recomputes it only if the new answer changes its prompt. A call to recompute may
be answered by the step cache rather than the model; the plan does not look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..chain import graph as graphs
from ..errors import InputError
from ..run.callkeys import CallKeys
from ..run.callplan import Call, CallPlan
from ..run.render import prompt_record
from ..store.calllog import read_log
from ..store.rundir import RunDir
from ..store.scratch import ScratchDir
from .edit import check_editable, edit_reader, edit_version, keep_edit
from .planned import Action, PlannedCall, Reason, RerunPlan
from .reopen import RenderedCall, Reopened, render_calls, reopen
from .rerun import Targets, parse_target, prepare, rerun_targets
from .runstate import RunState

#: an edit not saved yet: ``"plot/2"``, ``("plot", 2)`` or ``"plot"`` -> the new value, as
#: :func:`~dramaturg.cowrite.edit.edit_step` takes it, or a
#: :class:`~dramaturg.cowrite.edit.TextEdit` (as :func:`~dramaturg.cowrite.edit.edit_text`)
Edits = Mapping[str | Call, Any]


def plan_rerun(
    run_dir: str | Path,
    *,
    edits: Edits | None = None,
    only: Sequence[str] = (),
    from_steps: Sequence[str] = (),
    seed: int | None = None,
    models: Mapping[str, Any] | None = None,
    templates: Sequence[str | Path] = (),
) -> RerunPlan:
    """The calls :func:`dramaturg.rerun` would make in ``run_dir`` with these arguments, and
    those it would keep, without making any and without writing to the folder.

    ``edits``: edits not saved yet, each checked by its step's parser as
    :func:`dramaturg.edit_step` checks it (the same InputError when refused), and planned as if
    saved before the rerun. ``only``, ``from_steps``, ``seed``, ``models`` and ``templates``:
    as for :func:`dramaturg.rerun` (models the run was given as Python objects must be given
    again: they are part of the calls' keys; none is called).
    """
    root = Path(run_dir)
    state = RunState(root, rundir=ScratchDir(root))
    wanted = rerun_targets(state, only, from_steps, seed)
    changes = [(_call(key), value) for key, value in (edits or {}).items()]
    for (step, _), _ in changes:
        check_editable(state, step)
    opened = reopen(state, templates=templates, models=models, load_models=False)
    if changes:  # as edit_step would save them, in order
        state.refuse_pending()
        state.sync()
        for (step, item), value in changes:
            version = edit_version(state, step, item, edit_reader(state, step, value))
            if version is not None:
                keep_edit(state, version)
    stopped = state.pending() is not None and not wanted.named
    plan, wanted = prepare(state, opened, wanted)
    return _Walk(state, opened, plan).make(wanted, stopped, tuple(c for c, _ in changes))


async def aplan_rerun(
    run_dir: str | Path,
    *,
    edits: Edits | None = None,
    only: Sequence[str] = (),
    from_steps: Sequence[str] = (),
    seed: int | None = None,
    models: Mapping[str, Any] | None = None,
    templates: Sequence[str | Path] = (),
) -> RerunPlan:
    """:func:`plan_rerun` in a worker thread (it reads the folder and renders every call), so
    that an event loop goes on serving meanwhile."""
    return await asyncio.to_thread(
        plan_rerun,
        run_dir,
        edits=edits,
        only=only,
        from_steps=from_steps,
        seed=seed,
        models=models,
        templates=templates,
    )


def _call(key: str | Call) -> Call:
    if isinstance(key, str):
        return parse_target(key)
    step, item = key
    if not isinstance(step, str) or not (item is None or isinstance(item, int)):
        raise InputError(
            f"expected (STEP, ITEM) or 'STEP/ITEM' to name an edit, got {key!r}",
            hint="e.g. edits={'plot/2': scene} or edits={('plot', 2): scene}",
        )
    return step, item


class _Walk:
    """The steps of the chain in the order they run, each call decided as the rerun decides it."""

    def __init__(self, state: RunState, opened: Reopened, plan: CallPlan) -> None:
        self.state = state
        self.opened = opened
        self.plan = plan
        self.keys = CallKeys(opened.chain.checked, opened.models)
        self.logged = {(c.step, c.item) for c in read_log(state.rundir)}
        #: the output each step walked so far has in the rerun, when known
        self.outputs: dict[str, Any] = {}
        #: steps whose output is not known: the calls of theirs to recompute
        self.unknown: dict[str, tuple[Call, ...]] = {}
        self.dropped: list[Call] = []

    def make(self, wanted: Targets, finishing: bool, edited: tuple[Call, ...]) -> RerunPlan:
        calls: list[PlannedCall] = []
        spec = self.opened.chain.spec
        for sid in graphs.topological_order(self.opened.chain.graph):
            deps = self.opened.chain.checked.plans[sid].deps
            upstream = tuple(c for d in deps for c in self.unknown.get(d, ()))
            planned = self._unrenderable(sid, upstream) if upstream else self._rendered(sid)
            calls += planned
            open_calls = tuple((c.step, c.item) for c in planned if c.action is not Action.KEEP)
            if upstream and spec.steps[sid].for_each is not None and not open_calls:
                open_calls = ((sid, None),)  # every item pinned, but how many items is unknown
            if open_calls:
                self.unknown[sid] = open_calls
        return RerunPlan(
            run_dir=self.state.root,
            calls=tuple(calls),
            dropped=tuple(self.dropped),
            only=wanted.only,
            from_steps=wanted.from_steps,
            seed=wanted.seed,
            finishing=finishing,
            edited=edited,
        )

    def _rendered(self, sid: str) -> list[PlannedCall]:
        """A step whose inputs are all known: each call rendered, keyed and looked up."""
        spec = self.opened.chain.spec.steps[sid]
        rendered = render_calls(self.opened, sid, self.outputs.__getitem__)
        planned, outputs = [], []
        for item, call in rendered.items():
            decided, output = self._decide(sid, item, call)
            planned.append(decided)
            outputs.append(output)
        if spec.for_each is None:
            self.outputs[sid] = outputs[0]
            return planned
        self.outputs[sid] = outputs
        before = self._current_items(sid)
        self.dropped += [(sid, i) for i in range(len(rendered), before or 0)]
        return planned

    def _decide(self, sid: str, item: int | None, call: RenderedCall) -> tuple[PlannedCall, Any]:
        spec = self.opened.chain.spec.steps[sid]
        seed = self.plan.seed(sid, item)
        key = self.keys.key(sid, spec, item, call.prompt, call.system, call.schema, seed)
        changed = self._prompt_changed(sid, item, call)
        record = self.plan.lookup(sid, item, key)
        if record is not None:
            pinned = self.plan.outcome.get((sid, item)) == "pinned"
            return PlannedCall(
                sid,
                item,
                Action.KEEP,
                Reason.PINNED if pinned else Reason.UNCHANGED,
                key=key,
                seed=seed,
                pinned=pinned,
                stale=(sid, item) in self.plan.stale,
                prompt_changed=changed,
            ), record.output
        if self.plan.is_forced(sid, item):
            reason = Reason.FORCED
        else:
            reason = Reason.CHANGED if (sid, item) in self.logged else Reason.NEW
        return PlannedCall(
            sid, item, Action.RECOMPUTE, reason, key=key, seed=seed, prompt_changed=changed
        ), None

    def _prompt_changed(self, sid: str, item: int | None, call: RenderedCall) -> bool | None:
        try:
            sent = self.state.rundir.read_text(RunDir.prompt_file(sid, item))
        except OSError:
            return None
        return sent != prompt_record(call.prompt, call.system)

    def _unrenderable(self, sid: str, upstream: tuple[Call, ...]) -> list[PlannedCall]:
        """A step that reads calls to recompute: its calls as the folder has them now, each
        forced, pinned (kept, maybe stale) or maybe recomputed."""
        spec = self.opened.chain.spec.steps[sid]
        n = self._current_items(sid) if spec.for_each is not None else None
        items: list[int | None] = [None] if n is None else list(range(n))
        out: list[PlannedCall] = []
        for item in items:
            seed = self.plan.seed(sid, item)
            pin = self.plan.pins.get((sid, item))
            if self.plan.is_forced(sid, item):
                out.append(PlannedCall(sid, item, Action.RECOMPUTE, Reason.FORCED, seed=seed))
            elif pin is not None:
                out.append(
                    PlannedCall(
                        sid,
                        item,
                        Action.KEEP,
                        Reason.PINNED,
                        seed=seed,
                        pinned=True,
                        stale=None if pin.key is not None else False,
                        depends_on=upstream,
                    )
                )
                if item is None:
                    self.outputs[sid] = pin.output
            else:
                out.append(
                    PlannedCall(
                        sid,
                        item,
                        Action.MAY_RECOMPUTE,
                        Reason.UPSTREAM,
                        seed=seed,
                        depends_on=upstream,
                    )
                )
        return out

    def _current_items(self, sid: str) -> int | None:
        """How many items a fan-out step has now (None: it has no output)."""
        if self.state.entry(sid).status != "done":
            return None
        output = self.state.output(sid)
        return len(output) if isinstance(output, list) else None
