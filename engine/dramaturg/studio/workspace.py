"""The runs a studio serves: every run folder in one output folder (or one run), found by the
run's folder name only, and the files of a run it may send: those its manifest lists.

Nothing here takes a path from a request: a run is named by its id, which must be the name of
a run folder directly in the output folder; a file by a name the run's manifest lists (its
exports, its report) or that its outputs name (a portrait, an illustration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store.history import RunInfo, list_runs, run_info
from ..store.readback import read_manifest

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
#: the files of a run folder a studio sends besides its exports and images
_SHOWN = ("report.html",)


class NotFound(LookupError):
    """No such run, or no such file of it (answered 404)."""


@dataclass(frozen=True)
class Workspace:
    """``out``: the folder of runs; ``chains``: the chain files a new run may use."""

    out: Path
    chains: tuple[Path, ...] = ()

    @classmethod
    def at(cls, target: Path, chains: tuple[Path, ...] = ()) -> tuple[Workspace, str | None]:
        """The workspace of ``target`` (an output folder, or a run folder: then its parent, and
        the run's id to open first)."""
        if (target / "manifest.json").is_file():
            return cls(target.resolve().parent, chains), target.resolve().name
        if target.exists() and not target.is_dir():
            raise InputError(f"{target} is not a folder", hint="give an output folder or a run")
        return cls(target.resolve(), chains), None

    def runs(self) -> list[RunInfo]:
        return list_runs(self.out)

    def run_path(self, run_id: str) -> Path:
        """The folder of the run ``run_id``; NotFound unless it is a run folder in ``out``."""
        if not _RUN_ID.match(run_id):
            raise NotFound(run_id)
        path = self.out / run_id
        if path.is_symlink() or not (path / "manifest.json").is_file():
            raise NotFound(run_id)
        if path.resolve().parent != self.out.resolve():
            raise NotFound(run_id)
        return path

    def info(self, run_id: str) -> RunInfo:
        path = self.run_path(run_id)
        try:
            return run_info(path, read_manifest(path, check=False))
        except InputError as exc:
            raise NotFound(run_id) from exc

    def file(self, run_id: str, name: str) -> Path:
        """A file of the run the studio may send; NotFound for any other name."""
        path = self.run_path(run_id)
        if name not in shown_files(path):
            raise NotFound(name)
        found = path / name
        if found.is_symlink() or not found.is_file():
            raise NotFound(name)
        if not found.resolve().is_relative_to(path.resolve()):
            raise NotFound(name)
        return found


def shown_files(run: Path) -> set[str]:
    """The names (relative to the run folder) of the files a studio may send of ``run``."""
    try:
        manifest = read_manifest(run, check=False)
    except InputError:
        return set()
    names = {f for files in manifest.exports.values() for f in files}
    names |= {n for n in _SHOWN if (run / n).is_file()}
    for sid, entry in manifest.steps.items():
        if entry.kind == "image" and entry.status == "done":
            names |= set(_images(run, sid))
    return names


def _images(run: Path, sid: str) -> list[str]:
    """The image files a finished image step's output names."""
    import json

    try:
        record = json.loads((run / "steps" / f"{sid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    output: Any = record.get("output") if isinstance(record, dict) else None
    values = output if isinstance(output, list) else [output]
    return [
        v["image"]
        for v in values
        if isinstance(v, dict)
        and isinstance(v.get("image"), str)
        and v["image"].startswith("steps/")
    ]
