"""What a studio page shows of a run, read from its folder: the chain's steps in the order of its
DAG with their status, the navigator of the items a fan-out goes over (Dramatron's scenes: place,
plot element, beat), and one step's (or item's) output, prompt and versions.

Typed views, no HTML: the templates render them (escaped). This module knows nothing of
screenplays: the navigator is the step the most fan-outs iterate over, whatever its fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chain import graph as graphs
from ..spec import ChainSpec
from ..store.manifest import StepEntry
from ..store.readback import read_manifest, read_snapshot

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class StepRow:
    """A step in the sidebar."""

    id: str
    #: done, stale, running, failed, cached, pending or skipped
    status: str
    kind: str
    items: int | None
    version: int | None
    #: the fan-out's source step (None: a plain step)
    over: str | None
    because: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemRow:
    """One item of the navigator (a scene)."""

    index: int
    #: its text fields, in the order the step wrote them (place, plot element, beat)
    fields: tuple[tuple[str, str], ...]
    #: the steps whose item for it is edited (pinned)
    edited: tuple[str, ...] = ()
    #: the steps whose item for it a rerun would recompute
    stale: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.fields[0][1] if self.fields else f"item {self.index + 1}"


@dataclass(frozen=True)
class RunView:
    id: str
    chain: str
    status: str
    inputs: dict[str, Any]
    steps: list[StepRow]
    #: the step the navigator lists (None: no fan-out over a list of records)
    navigator: str | None
    items: list[ItemRow] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    #: the fan-out steps over the navigator's step: one entry each per item
    per_item: list[str] = field(default_factory=list)
    #: what one item of the navigator is called (the fan-outs' ``as``: Dramatron's "scene")
    item_name: str = "item"


def run_view(
    path: Path, *, running: bool = False, stale_items: frozenset[tuple[str, int]] = frozenset()
) -> RunView:
    """The run in ``path``. ``running``: a job of the studio's runs on it (steps under way show
    as running); ``stale_items``: (step, item) a rerun would recompute (badges)."""
    manifest = read_manifest(path, check=False)
    spec = ChainSpec.model_validate(read_snapshot(path))
    deps = {sid: [d for d in manifest.step(sid).needs if d in spec.steps] for sid in spec.steps}
    order = graphs.topological_order(graphs.build_graph(deps))
    rows = [_row(sid, manifest.step(sid), spec, running) for sid in order]
    # the navigator: the step of records the most fan-outs' lists are made from
    mentions = [
        m
        for sid, step in spec.steps.items()
        if step.for_each
        for m in set(_NAME.findall(step.for_each))
        if m in spec.steps and m != sid
    ]
    sources = [m for m in mentions if _records(path, m)]
    navigator = max(sorted(set(sources)), key=sources.count) if sources else None
    # the fan-outs with one item per navigator item (Dramatron's dialogue of each scene)
    per_item = [r.id for r in rows if navigator is not None and r.over == navigator]
    items: list[ItemRow] = []
    if navigator is not None:
        records = _records(path, navigator) or []
        edited = _pinned_items(path, [navigator, *per_item])
        for i, rec in enumerate(records):
            fields = tuple((k, str(v)) for k, v in rec.items() if isinstance(v, (str, int, float)))
            items.append(
                ItemRow(
                    i,
                    fields,
                    edited=tuple(s for s in [navigator, *per_item] if i in edited.get(s, ())),
                    stale=tuple(s for s in per_item if (s, i) in stale_items),
                )
            )
    return RunView(
        id=path.name,
        chain=manifest.chain.name,
        status=manifest.status,
        inputs=dict(manifest.inputs),
        steps=rows,
        navigator=navigator,
        items=items,
        exports=[f for files in manifest.exports.values() for f in files],
        per_item=per_item,
        item_name=spec.steps[per_item[0]].as_ if per_item else "item",
    )


def _row(sid: str, entry: StepEntry, spec: ChainSpec, running: bool) -> StepRow:
    status = entry.status
    if entry.stale is not None and status == "done":
        status = "stale"
    elif status == "done" and entry.cached and entry.cached >= max(1, entry.usage.calls):
        status = "cached"
    elif status in ("pending", "running") and not running:
        status = "pending" if status == "pending" else "stopped"
    step = spec.steps[sid]
    over = (
        step.for_each if isinstance(step.for_each, str) and step.for_each.isidentifier() else None
    )
    return StepRow(
        id=sid,
        status=status,
        kind=entry.kind,
        items=entry.items.total if entry.items is not None else None,
        version=entry.version,
        over=over,
        because=tuple(entry.stale.because) if entry.stale is not None else (),
    )


def output_of(path: Path, sid: str) -> Any:
    """A finished step's output (None when it has none)."""
    try:
        record = json.loads((path / "steps" / f"{sid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.get("output") if isinstance(record, dict) else None


def _records(path: Path, sid: str) -> list[dict[str, Any]] | None:
    out = output_of(path, sid)
    if isinstance(out, list) and out and all(isinstance(r, dict) for r in out):
        return out
    return None


def _pinned_items(path: Path, steps: list[str]) -> dict[str, set[int]]:
    """Each step's items pinned in its current version (edited, continued, restored)."""
    from ..store.rundir import RunDir
    from ..store.versions import VersionStore

    store = VersionStore(RunDir(path))
    out: dict[str, set[int]] = {}
    for sid in steps:
        current = store.current_version(sid)
        if current is not None:
            out[sid] = {i for i in current.pinned if i is not None}
    return out


def prompt_of(path: Path, sid: str, item: int | None) -> str | None:
    """The exact prompt the step's (or item's) current output was made from."""
    rel = Path("prompts") / (f"{sid}.txt" if item is None else f"{sid}/{item}.txt")
    try:
        return (path / rel).read_text(encoding="utf-8")
    except OSError:
        return None
