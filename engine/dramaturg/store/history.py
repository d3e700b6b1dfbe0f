"""The runs in an output folder: one line of facts per run, newest first, and finding a run by
its folder, its id or the start of its id."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, RunStorageError
from .manifest import Manifest
from .readback import read_manifest
from .rundir import RunDir

#: the step whose output length is shown as the number of scenes (Dramatron's plot)
SCENES_STEP = "plot"


@dataclass
class RunInfo:
    """What ``dramaturg runs list`` shows of one run."""

    path: Path
    id: str
    chain: str
    status: str
    started: float | None
    ended: float | None
    #: the logline, else the first input
    subject: str
    scenes: int | None
    tokens: int
    cost: float | None
    cost_complete: bool
    currency: str

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


def _subject(inputs: dict[str, Any]) -> str:
    if "logline" in inputs:
        return str(inputs["logline"])
    for value in inputs.values():
        if isinstance(value, str):
            return value
    return ", ".join(f"{k}={v}" for k, v in inputs.items())


def _scenes(path: Path, manifest: Manifest) -> int | None:
    entry = manifest.steps.get(SCENES_STEP)
    if entry is None or entry.status != "done":
        return None
    if entry.length is not None:
        return entry.length
    try:  # a run made before the manifest recorded lengths
        output = RunDir(path).read_json(RunDir.step_file(SCENES_STEP))["output"]
    except (OSError, ValueError, KeyError, TypeError, RunStorageError):
        return None
    return len(output) if isinstance(output, list) else None


def still_running(path: Path) -> bool:
    """Another process holds the run folder (a run or a resume under way)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def run_info(path: Path, manifest: Manifest) -> RunInfo:
    status = manifest.status
    if status == "running" and not still_running(path):
        status = "stopped"  # killed: `dramaturg resume` finishes it
    return RunInfo(
        path=path,
        id=manifest.run_id or path.name,
        chain=manifest.chain.name,
        status=status,
        started=manifest.started,
        ended=manifest.ended,
        subject=_subject(manifest.inputs),
        scenes=_scenes(path, manifest),
        tokens=manifest.usage.total_tokens,
        cost=manifest.cost.total,
        cost_complete=manifest.cost.complete,
        currency=manifest.cost.currency,
    )


def list_runs(out: Path) -> list[RunInfo]:
    """Every run folder in ``out`` (those with a readable manifest), newest first."""
    runs = []
    try:
        folders = [p for p in out.iterdir() if p.is_dir()]
    except OSError:
        return []
    for path in folders:
        with contextlib.suppress(InputError):
            runs.append(run_info(path, read_manifest(path, check=False)))
    runs.sort(key=lambda r: (r.started or 0.0, r.id), reverse=True)
    return runs


def find_run(ref: str | Path, out: Path) -> Path:
    """A run folder from a path, a run id in ``out``, part of one (its hash), or ``last``."""
    path = Path(ref)
    if (path / "manifest.json").is_file():
        return path
    name = str(ref)
    if name in ("last", "latest"):
        runs = list_runs(out)
        if not runs:
            raise InputError(f"no runs in {out}", hint="run a chain first, or give --out")
        return runs[0].path
    if (out / name / "manifest.json").is_file():
        return out / name
    try:
        matches = sorted(
            p for p in out.iterdir() if name in p.name and (p / "manifest.json").is_file()
        )
    except OSError:
        matches = []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(
            f"'{name}' matches {len(matches)} runs in {out}",
            hint="give more of the id: " + ", ".join(p.name for p in matches[:4]),
        )
    raise InputError(
        f"no run '{name}' (not a run folder, nor a run id in {out})",
        hint="`dramaturg runs list` shows the runs; pass --out for another folder",
    )
