"""A run folder as it is on disk, with every write kept in memory: reads see the writes, the
folder itself is never changed. What the plan of a rerun works on
(:mod:`dramaturg.cowrite.plan`): the co-writing code runs on it unchanged (the first versions
of a run, a hypothetical edit, its stale marks), and nothing of it reaches the disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from .rundir import MAX_FILE, RunDir


class ScratchDir(RunDir):
    """A :class:`RunDir` whose writes and deletions stay in memory."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._written: dict[str, bytes] = {}
        self._removed: set[str] = set()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Nothing to hold: nothing is written (the folder is read as it is at each read)."""
        yield

    def remove_leftovers(self) -> int:
        return 0

    def read_bytes(self, rel: str, limit: int = MAX_FILE) -> bytes:
        self.path(rel)  # refuses names leaving the folder
        if rel in self._written:
            return self._written[rel]
        if rel in self._removed:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), rel)
        return super().read_bytes(rel, limit)

    def is_file(self, rel: str) -> bool:
        if rel in self._written:
            return True
        return rel not in self._removed and super().is_file(rel)

    def names(self, rel: str) -> list[str]:
        prefix = f"{rel}/" if rel else ""
        found = {n for n in super().names(rel) if f"{prefix}{n}" not in self._removed}
        for name in self._written:
            if name.startswith(prefix):
                found.add(name[len(prefix) :].split("/", maxsplit=1)[0])
        return sorted(found)

    def remove(self, rel: str) -> None:
        if self._written.pop(rel, None) is None and not super().is_file(rel):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), rel)
        self._removed.add(rel)

    def write_bytes(self, rel: str, data: bytes, *, durable: bool = True) -> Path:
        target = self.path(rel)
        self._written[rel] = bytes(data)
        self._removed.discard(rel)
        return target
