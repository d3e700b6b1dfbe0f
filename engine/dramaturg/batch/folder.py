"""A batch's folder on disk::

    outputs/batch-<time>-<chain>-<hash>/
      batch.json      the chain and the data (names, digests), the mapping, the settings
      rows.jsonl      one line a finished row: appended, fsynced; the last line of a row wins
      runs/<row-id>/  each row's ordinary run folder (runs show, resume, edit, rerun work on it)
      summary.csv     one line a row: status, title or first output, calls, tokens, cost, time
      summary.html    the same, with links to each row's screenplay and report

The folder is written by one process (the driver), under a lock like a run folder's. A line
torn by a crash is skipped when the rows are read back: that row runs (or resumes) again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from .._version import __version__
from ..errors import InputError, RunStorageError
from ..safeio import reason
from ..store import runfiles
from ..store.rundir import RunDir

BATCH_FILE = "batch.json"
ROWS_FILE = "rows.jsonl"
RUNS = "runs"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


@dataclass
class RowRecord:
    """What ``rows.jsonl`` holds of a finished (or failed, or stopped) row."""

    index: int
    id: str
    digest: str
    status: str
    run: str | None = None
    calls: int = 0
    tokens: int = 0
    cost: float | None = None
    wall: float | None = None
    error: str | None = None
    at: float = 0.0


class BatchFolder:
    """One batch's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rundir = RunDir(root)
        self._rows: IO[str] | None = None

    @classmethod
    def create(cls, out: Path, chain: str, digest: str) -> BatchFolder:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        made = RunDir.create(out, f"batch-{stamp}-{chain}-{digest[:6]}")
        return cls(made.root)

    @classmethod
    def open(cls, root: Path) -> BatchFolder:
        """An existing batch folder; InputError when ``root`` is not one."""
        if not (root / BATCH_FILE).is_file():
            raise InputError(
                f"{root} is not a batch folder (no {BATCH_FILE})",
                hint="give a folder made by `dramaturg batch CHAIN --data ...`",
            )
        folder = cls(root)
        folder.rundir.refuse_strange()
        return folder

    # -- batch.json ------------------------------------------------------------------------
    def write_info(self, info: dict[str, Any]) -> None:
        self.rundir.write_json(BATCH_FILE, {"dramaturg": __version__, "kind": "batch", **info})

    def info(self) -> dict[str, Any]:
        try:
            data = self.rundir.read_json(BATCH_FILE)
        except (OSError, ValueError) as exc:
            why = reason(exc) if isinstance(exc, OSError) else f"not valid JSON ({exc})"
            raise InputError(f"cannot read {self.root / BATCH_FILE}: {why}") from None
        if not isinstance(data, dict) or data.get("kind") != "batch":
            raise InputError(f"{self.root / BATCH_FILE} is not a batch description")
        return data

    # -- rows.jsonl ------------------------------------------------------------------------
    def append(self, record: RowRecord) -> None:
        """Add a row's line and make it durable before going on."""
        try:
            if self._rows is None:
                torn = self._ends_torn()
                self._rows = runfiles.open_append(self.root, ROWS_FILE, _CLOEXEC)
                if torn:  # a line a crash cut: the next one starts on a line of its own
                    self._rows.write("\n")
            self._rows.write(json.dumps(asdict(record), ensure_ascii=False, default=str) + "\n")
            self._rows.flush()
            os.fsync(self._rows.fileno())
        except OSError as exc:
            raise RunStorageError(
                f"cannot write {self.root / ROWS_FILE}: {reason(exc)}",
                hint="check free disk space; `dramaturg batch resume` goes on from the rows kept",
            ) from None

    def _ends_torn(self) -> bool:
        try:
            data = self.rundir.read_bytes(ROWS_FILE, limit=256 * 1024 * 1024)
        except OSError:
            return False
        return bool(data) and not data.endswith(b"\n")

    def records(self) -> dict[int, RowRecord]:
        """The last line of each row (lines that do not read, a crash's torn one, skipped)."""
        out: dict[int, RowRecord] = {}
        try:
            text = self.rundir.read_text(ROWS_FILE, limit=256 * 1024 * 1024)
        except OSError:
            return out
        names = set(RowRecord.__dataclass_fields__)
        for line in text.splitlines():
            try:
                data = json.loads(line)
                record = RowRecord(**{k: v for k, v in data.items() if k in names})
            except (ValueError, TypeError):
                continue
            if isinstance(record.index, int) and isinstance(record.status, str):
                out[record.index] = record
        return out

    def close(self) -> None:
        if self._rows is not None:
            with contextlib.suppress(OSError):
                self._rows.close()
            self._rows = None

    # -- the rows' run folders -------------------------------------------------------------
    def run_root(self, row_id: str) -> Path:
        return self.root / RUNS / row_id

    def new_run(self, row_id: str) -> RunDir:
        """The row's run folder, made now (empty: a row that never started leaves none)."""
        root = self.run_root(row_id)
        try:
            (self.root / RUNS).mkdir(exist_ok=True)
            root.mkdir(exist_ok=True)
        except OSError as exc:
            raise RunStorageError(f"cannot make {root}: {reason(exc)}") from None
        return RunDir(root)

    def started(self, row_id: str) -> bool:
        """The row's run folder holds a run (it started; it may have been killed)."""
        return (self.run_root(row_id) / "manifest.json").is_file()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self.rundir.lock():
            yield


@dataclass(frozen=True)
class BatchInfo:
    """One line of ``runs list`` for a batch folder."""

    path: Path
    chain: str
    rows: int
    counts: dict[str, int]
    started: float


def list_batches(out: Path) -> list[BatchInfo]:
    """The batch folders in ``out``, newest first (unreadable ones left out)."""
    found: list[BatchInfo] = []
    try:
        folders = [p for p in out.iterdir() if p.is_dir() and (p / BATCH_FILE).is_file()]
    except OSError:
        return []
    for path in folders:
        with contextlib.suppress(InputError, OSError):
            folder = BatchFolder(path)
            info = folder.info()
            counts: dict[str, int] = {}
            for record in folder.records().values():
                counts[record.status] = counts.get(record.status, 0) + 1
            chain = info.get("chain")
            name = str(chain.get("name", "?")) if isinstance(chain, dict) else "?"
            rows = info.get("rows")
            found.append(
                BatchInfo(
                    path, name, rows if isinstance(rows, int) else 0, counts, path.stat().st_mtime
                )
            )
    return sorted(found, key=lambda b: (b.started, b.path.name), reverse=True)
