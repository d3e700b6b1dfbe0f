"""A run's folder on disk: ``outputs/<run-id>/``. Every write is atomic (temp file + rename).

Layout::

    manifest.json              chain, inputs, models (no secrets), per-step status and usage
    steps/<step>.json          a step's output (fan-out: the list of item outputs)
    steps/<step>/<i>.json      one fan-out item
    steps/<step>[/<i>].png     images
    prompts/<step>[/<i>].txt   the exact prompts sent
    chain.yaml, templates/     the chain file and its templates as run (for resume and exports)

A finished fan-out item's record is renamed into place (not fsynced): a killed process, even by
SIGKILL, leaves it whole or absent, and ``dramaturg resume`` keeps every whole one.

Run folders get shared: what they hold is untrusted. Paths inside are walked without following
symbolic links (:mod:`dramaturg.store.runfiles`), so nothing is written outside the folder; every
read is bounded (:data:`MAX_FILE`) and takes regular files only; a folder holding links, FIFOs or
devices is refused before a command starts (:meth:`RunDir.refuse_strange`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError, RunStorageError
from . import runfiles

#: a fresh file, never through a symlink, not inherited by child processes
_WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_TRUNC
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
#: the largest file read from a run folder (a record, a prompt, an image); larger is damaged
MAX_FILE = 64 * 1024 * 1024
#: written while a rerun runs, removed when it has recorded its versions
PENDING = "versions/rerun.json"


def make_run_id(chain_name: str, chain_hash: str, inputs: dict[str, Any]) -> str:
    """``20261122-143005-dramatron-3fa9c2``: time, chain name and a short hash."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    blob = json.dumps(
        [chain_hash, inputs, time.time_ns(), secrets.token_hex(4)], sort_keys=True, default=str
    )
    return f"{stamp}-{chain_name}-{hashlib.sha256(blob.encode()).hexdigest()[:6]}"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


class RunDir:
    """The folder of one run. Relative paths given to it may not leave it."""

    #: a folder outlives its run (a :class:`~dramaturg.store.storage.RunStore`)
    persistent = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.id = root.name
        #: the first write that failed (a full disk, say): the runner calls no model after it
        self.failed: RunStorageError | None = None

    @classmethod
    def create(cls, out_root: Path, run_id: str) -> RunDir:
        try:
            out_root.mkdir(parents=True, exist_ok=True)
            root = out_root / run_id
            n = 1
            while True:
                try:
                    root.mkdir()
                    break
                except FileExistsError:
                    n += 1
                    root = out_root / f"{run_id}-{n}"
        except OSError as exc:  # nothing ran: a bad --out, like a bad argument (exit code 2)
            why = (
                "it or a folder above it is a file"
                if isinstance(exc, (FileExistsError, NotADirectoryError))
                else exc.strerror
            )
            raise InputError(
                f"cannot create the run folder in {out_root}: {why}",
                hint="choose another folder with --out, or fix its permissions",
            ) from None
        return cls(root)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for this process while it runs (a run or a resume). The kernel drops
        the lock when the process ends, however it ends (SIGKILL too)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            yield
            return
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError as exc:
            raise RunStorageError(
                f"cannot open the run folder {self.root}: {exc.strerror}"
            ) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError(
                    f"the run folder {self.root} is in use by another dramaturg process",
                    hint="wait for that run (or resume) to end, or stop it, then resume again",
                ) from None
            yield
        finally:
            os.close(fd)

    def remove_leftovers(self) -> int:
        """Delete the temporary files a killed process left behind (never a finished file)."""
        removed = 0
        for p in self.root.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                p.unlink()
                removed += 1
        return removed

    # -- paths -------------------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        parts = rel.split("/")
        if not parts or any(not _SAFE.match(p) or p in (".", "..") for p in parts):
            raise RunStorageError(f"refusing to write outside the run folder: {rel!r}")
        return self.root.joinpath(*parts)

    @staticmethod
    def step_file(step: str, item: int | None = None, ext: str = "json") -> str:
        return f"steps/{step}.{ext}" if item is None else f"steps/{step}/{item}.{ext}"

    @staticmethod
    def prompt_file(step: str, item: int | None = None) -> str:
        return f"prompts/{step}.txt" if item is None else f"prompts/{step}/{item}.txt"

    def _rel(self, rel: str) -> str:
        self.path(rel)  # refuses names leaving the folder
        return rel

    def refuse_strange(self) -> None:
        """InputError when the folder holds what Dramaturg never writes into one: a symbolic
        link (commands would follow it out of the folder), a FIFO, a device or a socket."""
        found = runfiles.strange_entries(self.root)
        if found:
            rel, what = found[0]
            more = f" (and {len(found) - 1} more entries like it)" if len(found) > 1 else ""
            raise InputError(
                f"the run folder {self.root} was changed: {rel} in it is {what}{more}; a run "
                "folder holds only folders and regular files, and dramaturg follows no link "
                "out of one",
                hint=f"replace {rel} with a copy of what it should hold, or delete it, then try "
                "again; nothing was changed",
            )

    # -- bounded reads -----------------------------------------------------------------------
    def read_bytes(self, rel: str, limit: int = MAX_FILE) -> bytes:
        """A regular file of the folder (links not followed, at most ``limit`` bytes). Raises
        OSError (``safeio.FileRefused`` for a link, a FIFO, a device or a file too large)."""
        return runfiles.read(self.root, self._rel(rel), limit)

    def read_text(self, rel: str, limit: int = MAX_FILE) -> str:
        """A text file of the folder, undecodable bytes replaced. Raises OSError."""
        return self.read_bytes(rel, limit).decode("utf-8", errors="replace")

    def read_json(self, rel: str) -> Any:
        """A JSON file of the folder. Raises OSError, or ValueError for what is not JSON."""
        return parse_json(self.read_bytes(rel))

    def is_file(self, rel: str) -> bool:
        """A regular file of the folder is at ``rel`` (not a link, not through one)."""
        try:
            return runfiles.is_file(self.root, self._rel(rel))
        except RunStorageError:
            return False

    def names(self, rel: str) -> list[str]:
        """The names in a folder of the folder ([] when missing, or a link)."""
        return runfiles.names(self.root, self._rel(rel))

    def where(self, rel: str) -> str:
        """The file's path, for messages."""
        return str(self.root / rel)

    def remove(self, rel: str) -> None:
        """Delete a file of the folder (never through a link). Raises OSError."""
        runfiles.unlink(self.root, self._rel(rel))

    # -- atomic writes -----------------------------------------------------------------------
    def write_bytes(self, rel: str, data: bytes, *, durable: bool = True) -> Path:
        """Write atomically. ``durable`` also fsyncs (survives a power cut, not only a crash).
        The folders on the way are made if missing, never followed if they are links."""
        target = self.path(rel)
        # unique to this process and thread (the run folder is locked to one process)
        tmp = f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            runfiles.write(self.root, rel, data, tmp, durable=durable, flags=_WRITE_FLAGS)
        except OSError as exc:
            started = (self.root / "manifest.json").is_file()
            why = str(exc) if isinstance(exc, runfiles.LinkRefused) else exc.strerror
            error = RunStorageError(
                f"cannot write {target}: {why}",
                hint="check free disk space and permissions; finished steps are kept"
                + (f", and `dramaturg resume {self.root}` finishes the run" if started else ""),
            )
            self.failed = self.failed or error
            raise error from None
        return target

    def write_text(self, rel: str, text: str, *, durable: bool = True) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"), durable=durable)

    def write_prompt(self, rel: str, text: str) -> Path:
        """A rendered prompt: atomic, not fsynced (a rerun renders it again)."""
        return self.write_bytes(rel, text.encode("utf-8"), durable=False)

    def write_record(self, rel: str, data: Any) -> Path:
        """A fan-out item's record: atomic, not fsynced (the step's own file, fsynced, holds
        every item too)."""
        return self.write_json(rel, data, durable=False)

    def write_json(self, rel: str, data: Any, *, durable: bool = True) -> Path:
        return self.write_text(rel, to_json(data), durable=durable)


def parse_json(data: bytes) -> Any:
    """JSON from a run folder's file. Raises ValueError (nesting too deep for Python too)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("the JSON nests too deeply to be read") from None
