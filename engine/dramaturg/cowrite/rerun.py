"""``dramaturg rerun``: run a run's chain again in its own folder, regenerating the steps named and
recomputing exactly the calls whose inputs changed.

The chain runs with the run's inputs, seed and models and today's templates
(:mod:`dramaturg.cowrite.reopen`). Each call is (:mod:`dramaturg.run.callplan`):

* **forced** when named (``only``: ``step`` or ``step/item``; ``from_steps``: a step and every
  step downstream of it): the model is asked again with a new seed (``seed``, else the step's
  seed + 1000 per version), which the call keeps for later reruns;
* **pinned** (edited, continued, restored) and kept; noted stale when its inputs changed since;
* else, when its key is unchanged (same templates, prompt, model, options, seed), **kept**
  from the run folder's call log, with or without the step cache;
* else answered by the step cache or the model.

So an unchanged rerun calls no model; after an edit, only the calls whose prompt changed are
made; after a template edit, only its step's calls and those downstream whose inputs changed.
Every step whose output changed gets a RERUN version, the stale marks are updated and the
exports rebuilt. A rerun that stops half way is finished by running ``rerun`` again.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..chain import graph as graphs
from ..errors import InputError
from ..events import (
    Cached,
    PinnedStale,
    Resumed,
    VersionEvent,
)
from ..result import RunResult
from ..run.callplan import Call, CallPlan, Pin
from ..run.runner import Event
from ..run.session import CacheSetting, Earlier, RunOptions
from ..store.calllog import read_blob, read_log
from ..store.manifest import Stale
from ..store.rundir import PENDING
from ..store.snapshot import save_snapshot
from ..store.versions import (
    NEW,
    RERUN,
    WHOLE,
    CallState,
    Version,
    call_id,
)
from ..syncrun import run_sync
from .reopen import Reopened, derived_seed, reopen
from .runstate import RunState

_TARGET = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:/(\d+))?$")


def parse_target(text: str) -> Call:
    """``"dialogue/3"`` -> ``("dialogue", 3)``; ``"plot"`` -> ``("plot", None)``."""
    m = _TARGET.match(text.strip())
    if m is None:
        raise InputError(
            f"expected STEP or STEP/ITEM, got {text!r}",
            hint="e.g. --only plot or --only dialogue/3",
        )
    return m.group(1), int(m.group(2)) if m.group(2) is not None else None


def rerun(run_dir: str | Path, **kwargs: Any) -> RunResult:
    """Rerun a run synchronously; see :func:`arerun` for the arguments."""
    return run_sync(lambda: arerun(run_dir, **kwargs), "rerun", "dramaturg.cowrite.rerun.arerun")


async def arerun(
    run_dir: str | Path,
    *,
    only: Sequence[str] = (),
    from_steps: Sequence[str] = (),
    seed: int | None = None,
    models: Mapping[str, Any] | None = None,
    templates: Sequence[str | Path] = (),
    concurrency: int | None = None,
    retries: int | None = None,
    backoff: float = 0.5,
    cache: CacheSetting = None,
    on_event: Callable[[Event], None] | None = None,
    export: bool = True,
    stream: bool = False,
) -> RunResult:
    """Run the chain of ``run_dir`` again in that folder (see the module's description).

    ``only``: calls to regenerate (``"plot"``, ``"dialogue/3"``); ``from_steps``: steps to
    regenerate with everything downstream; ``seed``: the seed of those new calls. ``models``
    as for :func:`dramaturg.resume_run` (models the run was given as Python objects must be given
    again); ``templates``: folders looked up first, before the run's own ``--templates`` and the
    chain's prompt folders. ``cache``: ``None`` as the run. ``stream``: the new calls' answers
    come in ``token`` events too, as for :meth:`dramaturg.Chain.arun`. Returns the run's
    result; each new version is announced by an event ``version`` (see
    :func:`dramaturg.step_history`).
    """
    state = RunState(run_dir)
    wanted = rerun_targets(state, only, from_steps, seed)
    options = RunOptions.as_recorded(
        state.manifest.settings,
        concurrency=concurrency,
        retries=retries,
        backoff=backoff,
        cache=cache,
        export=False,  # after the versions are recorded
        stream=stream,
    )
    opened = reopen(state, templates=templates, models=models, options=options)
    chain = opened.chain
    with state.locked(rerun=True):
        plan, wanted = prepare(state, opened, wanted)
        args = wanted.as_args()
        state.rundir.write_json(PENDING, {**args, "started": time.time()})
        save_snapshot(state.rundir, chain.text, chain.checked)
    session = opened.session.with_options(
        replace(options, on_event=_kept_as_resumed(on_event, plan))
    )
    earlier = Earlier(
        started=state.manifest.started,
        history=list(state.manifest.resumed),
        plan=plan,
    )
    result = await session.run(state.rundir, earlier)
    with state.locked(rerun=True):
        made = _record(state, opened, result, plan, args)
        with contextlib.suppress(OSError):
            state.rundir.path(PENDING).unlink()
    if on_event is not None:
        for v in made:
            on_event(_about(v))
        for sid, item in sorted(plan.stale, key=lambda c: (c[0], c[1] or 0)):
            on_event(PinnedStale(step=sid, item=item))
    if export and result.ok and chain.spec.exports:
        from ..store.readback import export_run

        export_run(result, chain.spec.exports)
    from ..observe.report import write_report_quietly

    write_report_quietly(state.root, on_event)  # with the rerun's versions and counts
    return result


def _kept_as_resumed(
    on_event: Callable[[Event], None] | None, plan: CallPlan
) -> Callable[[Event], None] | None:
    """The runner reports every stored answer as ``cached``; those the rerun kept from the run
    folder (``pinned``: an edit) are ``resumed`` events, as a resume's kept calls."""
    if on_event is None:
        return None

    def emit(event: Event) -> None:
        if isinstance(event, Cached):
            how = plan.outcome.get((event.step, event.item))
            if how in ("kept", "pinned"):
                pinned = how == "pinned"
                event = Resumed(step=event.step, item=event.item, pinned=pinned, time=event.time)
        on_event(event)

    return emit


def _about(v: Version) -> VersionEvent:
    return VersionEvent(
        step=v.step, version=v.version, version_kind=v.kind, note=v.note, item=v.item
    )


@dataclass(frozen=True)
class Targets:
    """What a rerun regenerates: the calls named (``only``), the steps named with every step
    below them (``from_steps``), and the seed of their new calls (None: derived)."""

    only: tuple[Call, ...] = ()
    from_steps: tuple[str, ...] = ()
    seed: int | None = None

    @property
    def named(self) -> bool:
        return bool(self.only or self.from_steps)

    def as_args(self) -> dict[str, Any]:
        """As the manifest's ``reruns`` and a stopped rerun's record hold them."""
        return {
            "only": [f"{s}/{i}" if i is not None else s for s, i in self.only],
            "from": list(self.from_steps),
            "seed": self.seed,
        }


def rerun_targets(
    state: RunState, only: Sequence[str], from_steps: Sequence[str], seed: int | None
) -> Targets:
    """The targets a caller names, checked against the run (InputError)."""
    targets = tuple(parse_target(t) for t in only)
    for sid, _ in [*targets, *((s, None) for s in from_steps)]:
        state.entry(sid)
    if seed is not None and not (targets or from_steps):
        raise InputError(
            "--seed gives the new calls of the steps a rerun regenerates: name them",
            hint="add --only STEP[/ITEM] or --from STEP (or rerun the whole chain: "
            "dramaturg run CHAIN --seed N)",
        )
    return Targets(targets, tuple(from_steps), seed)


def prepare(state: RunState, opened: Reopened, wanted: Targets) -> tuple[CallPlan, Targets]:
    """With the folder held: the first versions of its steps (:meth:`RunState.sync`) and the
    plan of every call. A rerun that stopped half way is finished with its own targets, unless
    others are named. Returns the plan and the targets it was made for."""
    stopped = state.pending()
    if stopped is not None and not wanted.named:  # finish the one that stopped
        wanted = Targets(
            tuple(parse_target(t) for t in stopped.get("only") or []),
            tuple(stopped.get("from") or []),
            stopped.get("seed"),
        )
    state.sync(rerun_stopped=stopped is not None)
    for sid, item in wanted.only:
        if item is not None and state.entry(sid).status == "done":
            state.check_item(sid, item, state.output(sid))
    return call_plan(state, opened, wanted), wanted


def call_plan(state: RunState, opened: Reopened, wanted: Targets) -> CallPlan:
    """What the rerun does with each call (:mod:`dramaturg.run.callplan`): the call log's
    answers, the pinned outputs and seeds of the current versions, the forced calls."""
    plan = CallPlan()
    for logged in read_log(state.rundir):  # the newest answer to a key wins
        plan.answers[logged.key] = functools.partial(logged.record, state.rundir)
    steps = opened.chain.spec.steps
    for sid in steps:
        version = state.store.current_version(sid) if sid in state.steps() else None
        for cid, was in (version.calls if version else {}).items():
            item = None if cid == WHOLE else int(cid)
            if was.pinned and version is not None:
                image = read_blob(state.rundir, was.image) if was.image else None
                plan.pins[(sid, item)] = Pin(version.value(item), was.key, was.raw, image)
            if was.seed is not None:
                plan.seeds[(sid, item)] = was.seed
    g = opened.chain.graph
    forced = list(wanted.only)
    for start in wanted.from_steps:
        below = graphs.descendants(g, start)
        forced += [(s, None) for s in [start, *(s for s in steps if s in below)]]
    for sid, item in forced:
        new = wanted.seed
        if new is None:
            base = opened.models.config(steps[sid]).options.seed_number
            new = derived_seed(base, state.store.latest(sid) + 1)
        for call in [c for c in [*plan.pins, *plan.seeds] if c[0] == sid]:
            if item is None or call[1] == item:
                plan.pins.pop(call, None)
                plan.seeds.pop(call, None)
        plan.seeds[(sid, item)] = new
        plan.forced.add((sid, item))
    return plan


def _record(
    state: RunState,
    opened: Reopened,
    result: RunResult,
    plan: CallPlan,
    args: dict[str, Any],
) -> list[Version]:
    """Keep a version of every step whose output (or pins, or seeds) the rerun changed; update
    the stale marks and the counts of the manifest."""
    made: list[Version] = []
    steps = state.steps()
    for sid, r in result.steps.items():  # the manifest is the one the rerun wrote: no marks
        entry = steps.get(sid)
        if r.status != "done" or entry is None:
            continue
        fan_out = opened.chain.spec.steps[sid].for_each is not None
        items: list[int | None] = list(range(len(r.output))) if fan_out else [None]
        if fan_out:
            state.drop_items_from(sid, len(items))  # a shorter list than before
        current = state.store.current_version(sid)
        calls: dict[str, CallState] = {}
        for item in items:
            call, cid = (sid, item), call_id(item)
            pin = plan.pins.get(call) if plan.outcome.get(call) == "pinned" else None
            if pin is not None:
                was = current.calls.get(cid) if current else None
                calls[cid] = CallState(
                    pin.key, plan.seed(sid, item), True, pin.raw, was.image if was else None
                )
            else:
                calls[cid] = CallState(
                    plan.keys.get(call), plan.seed(sid, item), raw=plan.raws.get(call)
                )
        how = [plan.outcome.get((sid, i)) for i in items]
        r.cached = how.count("cached")
        r.resumed = how.count("kept") + how.count("pinned")
        entry.cached, entry.resumed = r.cached, r.resumed
        if (
            current is not None
            and r.output == current.output
            and _choices(calls) == _choices(current.calls)
        ):
            continue
        made.append(state.keep(_version(sid, r.output, current, calls, plan, items, fan_out, r)))
    for sid, item in plan.stale:  # kept edits whose inputs changed since
        if item is None:
            steps[sid].stale = Stale(pinned=True)
        else:
            before = steps[sid].stale
            held = before.pinned if before is not None and isinstance(before.pinned, list) else []
            steps[sid].stale = Stale(pinned=sorted({*(i for i in held if i is not None), item}))
    run = {"at": time.time(), **args, "calls": plan.counts(), "status": result.status}
    state.manifest.reruns = [*state.manifest.reruns, run]
    state.write_manifest()
    return made


def _choices(calls: dict[str, CallState]) -> dict[str, tuple[int | None, bool]]:
    return {c: (s.seed, s.pinned) for c, s in calls.items()}


def _version(
    sid: str,
    output: Any,
    current: Version | None,
    calls: dict[str, CallState],
    plan: CallPlan,
    items: list[int | None],
    fan_out: bool,
    r: Any,
) -> Version:
    made = [i for i in items if plan.outcome.get((sid, i)) in ("called", "cached")]
    forced = [i for i in items if plan.is_forced(sid, i)]
    note = "regenerated" if forced else "its inputs changed"
    if fan_out and made:
        note += ": " + ("every item" if len(made) == len(items) else _items(made))
    dropped = [c[1] for c in plan.pins if c[0] == sid and c[1] not in items]
    if dropped:
        note += f"; edits of gone items dropped: {_items(dropped)}"
    seeds = {plan.seed(sid, i) for i in forced}
    return Version(
        sid,
        0,
        NEW if current is None else RERUN,
        time.time(),
        output,
        item=made[0] if fan_out and len(made) == 1 else None,
        note=note,
        based_on=current.version if current else None,
        seed=seeds.pop() if len(seeds) == 1 else None,
        calls=calls,
        usage=r.usage.as_dict(),
    )


def _items(items: Sequence[int | None]) -> str:
    return ("item " if len(items) == 1 else "items ") + ", ".join(str(i) for i in items)
