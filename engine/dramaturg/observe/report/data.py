"""A run folder read back for the report: the manifest, each step's and item's records and
prompts, and the chain snapshot's step descriptions. Missing or damaged files are tolerated
(an interrupted run has some); what cannot be read is left empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError, RunStorageError
from ...store.manifest import Manifest, StepEntry, UsageCounts
from ...store.readback import read_manifest, read_snapshot
from ...store.rundir import RunDir

#: fan-out items read at most per step (a step may have no more: ``max_items`` is at most this)
MAX_ITEMS = 100_000


@dataclass
class Item:
    index: int
    status: str = "missing"
    output: Any = None
    raw: str | None = None
    prompt: str | None = None
    queued: float | None = None
    started: float | None = None
    ended: float | None = None
    cached: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    #: the loop guard's repairs of its answer
    repairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def image(self) -> str | None:
        out = self.output
        return out["image"] if isinstance(out, dict) and isinstance(out.get("image"), str) else None


@dataclass
class Step:
    id: str
    entry: StepEntry
    description: str = ""
    for_each: str | None = None
    output: Any = None
    raw: str | None = None
    prompt: str | None = None
    items: list[Item] = field(default_factory=list)
    #: the loop guard's repairs of its answer (a step without items)
    repairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.entry.status

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def needs(self) -> list[str]:
        return list(self.entry.needs)

    @property
    def fan_out(self) -> bool:
        return self.entry.items is not None or self.for_each is not None

    @property
    def usage(self) -> UsageCounts:
        return self.entry.usage

    @property
    def images(self) -> list[tuple[str, str]]:
        """(relative path, caption) of the images the step made."""
        out: list[tuple[str, str]] = []
        if self.kind != "image":
            return out
        if self.items:
            for it in self.items:
                if it.image:
                    out.append((it.image, f"{self.id} {it.index}"))
        elif isinstance(self.output, dict) and isinstance(self.output.get("image"), str):
            out.append((self.output["image"], self.id))
        elif isinstance(self.output, list):
            for i, o in enumerate(self.output):
                if isinstance(o, dict) and isinstance(o.get("image"), str):
                    out.append((o["image"], f"{self.id} {i}"))
        return out


@dataclass
class RunData:
    root: Path
    manifest: Manifest
    steps: dict[str, Step]

    @property
    def started(self) -> float | None:
        return self.manifest.started

    @property
    def ended(self) -> float | None:
        return self.manifest.ended


def _json(run: RunDir, rel: str) -> dict[str, Any] | None:
    try:
        data = run.read_json(rel)
    except (OSError, ValueError, RunStorageError):  # missing, damaged, or not a file of ours
        return None
    return data if isinstance(data, dict) else None


def _text(run: RunDir, rel: str) -> str | None:
    try:
        return run.read_text(rel)
    except (OSError, RunStorageError):
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _usage(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def _repairs(value: Any) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _snapshot_steps(root: Path) -> dict[str, Any]:
    try:
        data = read_snapshot(root)
    except InputError:
        return {}
    steps = data.get("steps") if isinstance(data, dict) else None
    return steps if isinstance(steps, dict) else {}


def _items(run: RunDir, sid: str, total: int) -> list[Item]:
    items = []
    for i in range(min(total, MAX_ITEMS)):
        it = Item(i, prompt=_text(run, RunDir.prompt_file(sid, i)))
        rec = _json(run, RunDir.step_file(sid, i))
        if rec is not None:
            it.status = str(rec.get("status", "done"))
            it.output, it.raw = rec.get("output"), _str(rec.get("raw"))
            it.queued, it.started, it.ended = (
                _time(rec.get("queued")),
                _time(rec.get("started")),
                _time(rec.get("ended")),
            )
            it.cached = bool(rec.get("cached"))
            it.usage = _usage(rec.get("usage"))
            it.repairs = _repairs(rec.get("repairs"))
        else:
            it.raw = _text(run, RunDir.step_file(sid, i, "raw.txt"))
            if it.raw is not None:
                it.status = "failed"
        items.append(it)
    return items


def load(run_dir: Path, declared: dict[str, Any] | None = None) -> RunData:
    """Read a run folder. ``declared``: each step's ``description`` and ``for_each`` (else read
    from the chain snapshot in the folder). Raises InputError without a readable manifest."""
    root = Path(run_dir)
    run = RunDir(root)
    manifest = read_manifest(root)
    if declared is None:
        declared = _snapshot_steps(root)
    steps: dict[str, Step] = {}
    for sid, entry in manifest.steps.items():
        found = declared.get(sid)
        spec: dict[str, Any] = found if isinstance(found, dict) else {}
        step = Step(
            sid,
            entry,
            description=str(spec.get("description") or ""),
            for_each=spec.get("for_each"),
            prompt=_text(run, RunDir.prompt_file(sid)),
        )
        record = _json(run, RunDir.step_file(sid))
        if record is not None:
            step.output, step.raw = record.get("output"), _str(record.get("raw"))
            step.repairs = _repairs(record.get("repairs"))
        if step.raw is None:
            step.raw = _text(run, RunDir.step_file(sid, ext="raw.txt"))
        total = entry.items.total if entry.items is not None else None
        if total is not None and total > 0:
            step.items = _items(run, sid, total)
        steps[sid] = step
    return RunData(root, manifest, steps)
