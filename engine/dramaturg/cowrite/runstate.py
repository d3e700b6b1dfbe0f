"""A run folder as the co-writing operations (edit, continue, checkout, history, rerun) see it:
its manifest, the current output of each step, its versions and what is stale.

The current output stays where runs keep it (``steps/<step>.json`` and the fan-out items'
files), so that exports, ``load_run`` and ``resume`` read edited runs as any other. Versions are
made lazily: the first operation on a run keeps each finished step's output as its ``NEW``
version, and an output changed by hand in ``steps/<step>.json`` since becomes an ``EDIT``
version (pinned). An edit marks the steps downstream of it stale in the manifest until a rerun.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import DramaturgError, InputError
from ..safeio import reason
from ..spec import ChainSpec
from ..store.calllog import (
    LoggedCall,
    image_suffix,
    put_blob,
    read_blob,
    read_log,
)
from ..store.manifest import ItemCounts, Stale, StepEntry
from ..store.readback import read_manifest, read_snapshot
from ..store.rundir import PENDING, RunDir
from ..store.versions import (
    EDIT,
    NEW,
    WHOLE,
    CallState,
    Version,
    VersionStore,
    call_id,
)


class RunState:
    """One run folder, for co-writing."""

    def __init__(self, run_dir: str | Path, *, rundir: RunDir | None = None) -> None:
        """``rundir``: how the folder is read and written (default: on disk; a
        :class:`~dramaturg.store.scratch.ScratchDir` keeps every write in memory)."""
        self.root = Path(run_dir)
        self.rundir = rundir or RunDir(self.root)
        self.manifest = read_manifest(self.root)
        self.store = VersionStore(self.rundir)
        self._spec: ChainSpec | None = None

    # -- the run -----------------------------------------------------------------------------
    @property
    def spec(self) -> ChainSpec:
        """The chain as the run ran it (its ``chain.yaml``; templates are not needed)."""
        if self._spec is None:
            path = self.root / "chain.yaml"
            try:
                self._spec = ChainSpec.model_validate(read_snapshot(self.root))
            except ValueError as exc:  # pydantic's ValidationError: changed by hand
                first = next(iter(str(exc).splitlines()), "")
                raise InputError(
                    f"the chain snapshot {path} is damaged: {first}",
                    hint="only run folders written by `dramaturg run` can be co-written",
                ) from None
        return self._spec

    def steps(self) -> dict[str, StepEntry]:
        return self.manifest.steps

    def entry(self, step: str) -> StepEntry:
        """The step's manifest entry; InputError for a step the run does not have."""
        steps = self.steps()
        if step not in steps:
            raise InputError(
                f"run {self.root} has no step '{step}'",
                hint=f"its steps: {', '.join(steps) or '(none)'}",
            )
        return steps[step]

    def require_done(self, step: str) -> None:
        status = self.entry(step).status
        if status != "done":
            raise InputError(
                f"step '{step}' of run {self.root} is {status}: it has no output yet",
                hint=f"finish the run first: dramaturg resume {self.root}",
            )

    def is_fan_out(self, step: str) -> bool:
        return self.entry(step).items is not None or self.spec.steps[step].for_each is not None

    def check_item(self, step: str, item: int | None, output: Any) -> None:
        if item is None:
            return
        if not self.is_fan_out(step):
            raise InputError(
                f"step '{step}' is not a fan-out: it has no items",
                hint=f"name the step alone: {step}",
            )
        n = len(output) if isinstance(output, list) else 0
        if not 0 <= item < n:
            raise InputError(
                f"step '{step}' has {n} items (0 to {n - 1}); there is no item {item}",
                hint="items are numbered from 0, in the order of the step's for_each list",
            )

    def output(self, step: str) -> Any:
        """A finished step's current output, as its ``steps/`` file holds it."""
        rel = RunDir.step_file(step)
        try:
            data = self.rundir.read_json(rel)
        except (OSError, ValueError) as exc:
            why = reason(exc) if isinstance(exc, OSError) else f"not valid JSON ({exc})"
            raise InputError(
                f"cannot read the output of step '{step}' in {self.root} ({rel}): {why}",
                hint=self._restore_hint(step),
            ) from None
        if not isinstance(data, dict) or data.get("step", step) != step:
            raise InputError(
                f"the output of step '{step}' in {self.root} ({rel}) is damaged: it holds no "
                "step record",
                hint=self._restore_hint(step),
            )
        return data.get("output")

    def readable(self, step: str) -> bool:
        """The step's ``steps/`` record can be read (it is not damaged)."""
        try:
            self.output(step)
        except InputError:
            return False
        return True

    def _restore_hint(self, step: str) -> str:
        latest = self.store.latest(step)
        if latest:
            return f"restore a version: dramaturg checkout {self.root} {step} N (1 to {latest})"
        return f"run the step again: dramaturg resume {self.root}"

    def descendants(self, step: str) -> list[str]:
        """The steps that read ``step``'s output, directly or not, in the run's order."""
        from ..chain import graph

        g = graph.build_graph({s: e.needs for s, e in self.steps().items()})
        below = graph.descendants(g, step)
        return [s for s in self.steps() if s in below]

    @contextlib.contextmanager
    def locked(self, *, rerun: bool = False) -> Iterator[None]:
        """Hold the run folder; re-read the manifest. Refuses a folder whose rerun stopped
        half way (unless ``rerun``: finishing it)."""
        with self.rundir.lock():
            self.manifest = read_manifest(self.root)
            if not rerun:
                self.refuse_pending()
            yield

    def refuse_pending(self) -> None:
        """InputError when a rerun of the folder stopped half way (finish it first)."""
        if self.pending() is not None:
            raise InputError(
                f"a rerun of {self.root} stopped before it finished",
                hint=f"finish it first: dramaturg rerun {self.root}",
            )

    def pending(self) -> dict[str, Any] | None:
        """The arguments of a rerun that stopped before it recorded its versions."""
        try:
            data = self.rundir.read_json(PENDING)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_manifest(self) -> None:
        for step in self.steps():
            current = self.store.current(step)
            if current is not None:
                self.steps()[step].version = current
        self.rundir.write_json("manifest.json", self.manifest.to_json())

    def export(self) -> dict[str, list[str]]:
        """Rebuild the chain's exports from the current outputs (a finished run only), and the
        run's report."""
        from ..observe.report import write_report_quietly
        from ..store.readback import chain_exports, export_run, load_run

        result = load_run(self.root)
        exports = chain_exports(self.root) if result.ok else []
        written = export_run(result, exports) if exports else {}
        write_report_quietly(self.root)
        return written

    # -- versions ----------------------------------------------------------------------------
    def sync(self, *, rerun_stopped: bool = False, restoring: str | None = None) -> list[Version]:
        """Keep each finished step's first output as its NEW version, and an output edited by
        hand since the current version as an EDIT (not when a rerun stopped half way: the
        differences are its work, which the next rerun records). ``restoring``: a step whose
        output is about to be replaced by one of its versions (a damaged one is no edit)."""
        made: list[Version] = []
        log: dict[tuple[str, int | None], list[LoggedCall]] | None = None
        for step, entry in self.steps().items():
            if entry.status != "done":
                continue
            try:
                output = self.output(step)
            except InputError:
                if step == restoring and self.store.current(step) is not None:
                    continue  # damaged, and about to be replaced by one of its versions
                raise
            current = self.store.current_version(step)
            if current is None:
                if log is None:
                    log = {}
                    for call in read_log(self.rundir):
                        log.setdefault((call.step, call.item), []).append(call)
                current = self.keep(self._first(step, entry, output, log))
                made.append(current)
            if output != current.output and not rerun_stopped:
                made.append(self._edited_by_hand(step, current, output))
        if made:
            self.write_manifest()
        return made

    def _first(
        self,
        step: str,
        entry: StepEntry,
        output: Any,
        log: dict[tuple[str, int | None], list[LoggedCall]],
    ) -> Version:
        """The step's output as the run made it: each call's answer in the log (the steps/ file
        may hold an output edited by hand since), else as the steps/ file holds it."""
        fan_out = self.is_fan_out(step) and isinstance(output, list)
        items: list[int | None] = list(range(len(output))) if fan_out else [None]
        calls, values = {}, []
        for item in items:
            answers = log.get((step, item), [])
            last = answers[-1] if answers else None
            values.append(last.output if last else output[item] if item is not None else output)
            calls[call_id(item)] = CallState(
                key=last.key if last else None,
                raw=last.raw if last else None,
                image=last.image if last else None,
            )
        made = entry.ended or time.time()
        first = values if fan_out else values[0]
        return Version(step, 0, NEW, made, first, note="as the run made it", calls=calls)

    def _edited_by_hand(self, step: str, current: Version, output: Any) -> Version:
        calls = {c: replace(s) for c, s in current.calls.items()}
        changed: list[int | None] = [None]
        if self.is_fan_out(step):
            before = current.output if isinstance(current.output, list) else []
            if not isinstance(output, list) or len(output) != len(before):
                raise InputError(
                    f"{self.root / RunDir.step_file(step)} was edited by hand and no longer has "
                    f"one item per value of the step's for_each ({len(before)})",
                    hint=f"put the items back, or restore a version: dramaturg checkout "
                    f"{self.root} {step} {current.version}",
                )
            changed = [i for i, (a, b) in enumerate(zip(before, output, strict=True)) if a != b]
        for item in changed:
            was = calls.get(call_id(item)) or CallState()
            calls[call_id(item)] = CallState(key=was.key, seed=was.seed, pinned=True)
        version = Version(
            step,
            0,
            EDIT,
            time.time(),
            output,
            item=changed[0] if len(changed) == 1 else None,
            note=f"edited by hand in {RunDir.step_file(step)}",
            based_on=current.version,
            calls=calls,
        )
        self.keep(version)
        self.apply(version)
        self.mark_stale(step)
        return version

    def keep(self, version: Version) -> Version:
        """Store a new version (its images kept once each in versions/blobs/)."""
        if isinstance(version.output, (list, dict)):
            for cid, state in version.calls.items():
                value = version.value(None if cid == WHOLE else int(cid))
                if state.image is None and isinstance(value, dict) and "image" in value:
                    with contextlib.suppress(OSError, DramaturgError):  # no image: no blob
                        data = self.rundir.read_bytes(str(value["image"]))
                        state.image = put_blob(self.rundir, data, image_suffix(value))
        return self.store.add(version)

    def apply(self, version: Version) -> None:
        """Make ``version`` the step's current output in ``steps/`` (images restored too) and
        in the manifest."""
        step, output = version.step, version.output
        entry = self.entry(step)
        rel = RunDir.step_file(step)
        try:
            data = self.rundir.read_json(rel)
        except (OSError, ValueError):
            data = {}
        data = {**(data if isinstance(data, dict) else {}), "step": step, "status": "done"}
        data |= {"output": output, "version": version.version}
        _call_fields(data, version.calls.get(WHOLE))
        if self.is_fan_out(step) and isinstance(output, list):
            for i, value in enumerate(output):
                item = {"step": step, "item": i, "status": "done", "output": value}
                self.rundir.write_json(
                    RunDir.step_file(step, i), _call_fields(item, version.calls.get(str(i)))
                )
            self.drop_items_from(step, len(output))
            entry.items = ItemCounts(total=len(output), done=len(output), failed=0)
        for cid, state in version.calls.items():
            value = version.value(None if cid == WHOLE else int(cid))
            if state.image and isinstance(value, dict) and isinstance(value.get("image"), str):
                image = read_blob(self.rundir, state.image)
                if image is not None:
                    self.rundir.write_bytes(value["image"], image)
        self.rundir.write_json(rel, data)
        entry.status = "done"
        if entry.length is not None and isinstance(output, list):
            entry.length = len(output)

    def drop_items_from(self, step: str, n: int) -> None:
        """Delete the records of fan-out items ``n`` and after (the list got shorter)."""
        for name in self.rundir.names(f"steps/{step}"):
            stem, _, ext = name.partition(".")
            if ext == "json" and stem.isdigit() and int(stem) >= n:
                self.rundir.remove(f"steps/{step}/{name}")

    def mark_stale(self, step: str) -> list[str]:
        """Mark the steps downstream of ``step`` stale (until a rerun); returns them."""
        below = self.descendants(step)
        for d in below:
            entry = self.steps()[d]
            stale = entry.stale.model_copy() if entry.stale is not None else Stale()
            stale.because = sorted({*stale.because, step})
            entry.stale = stale
        return below


def _call_fields(data: dict[str, Any], state: CallState | None) -> dict[str, Any]:
    """A step or item record's raw text and pinned flag, as the version's call has them."""
    for key in ("raw", "pinned", "cached"):
        data.pop(key, None)
    if state is not None and state.raw is not None:
        data["raw"] = state.raw
    if state is not None and state.pinned:
        data["pinned"] = True
    return data
