"""Where a run keeps what it makes, as the runner sees it: a run folder on disk
(:class:`~dramaturg.store.rundir.RunDir`) or, for a run given no folder, memory
(:class:`MemoryStore`).

The runner writes every record, prompt, image and manifest through :class:`RunStore` whatever
keeps them; only what needs files a person opens (exports, ``report.html``, the call log a
rerun reads) asks whether the store is ``persistent``.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import RunStorageError
from .rundir import parse_json, to_json


class RunStore(Protocol):
    """What a run writes into and reads back while it runs."""

    @property
    def id(self) -> str:
        """The run's id (the folder's name; ``in-memory`` for a run without one)."""
        ...

    @property
    def root(self) -> Path | None:
        """The folder, or None for a store that keeps nothing on disk."""
        ...

    @property
    def failed(self) -> RunStorageError | None:
        """The first write that failed (a full disk, say): the runner calls no model after it."""
        ...

    @property
    def persistent(self) -> bool:
        """The store is a folder that outlives the run (exports and the report go there)."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...

    def remove_leftovers(self) -> int: ...

    def write_bytes(self, rel: str, data: bytes, *, durable: bool = True) -> object: ...

    def write_text(self, rel: str, text: str, *, durable: bool = True) -> object: ...

    def write_prompt(self, rel: str, text: str) -> object: ...

    def write_record(self, rel: str, data: Any) -> object: ...

    def write_json(self, rel: str, data: Any, *, durable: bool = True) -> object: ...

    def read_json(self, rel: str) -> Any: ...

    def where(self, rel: str) -> str | None:
        """Where a message may tell a person to look for the file (None: nowhere to look)."""
        ...


@dataclass(frozen=True)
class _Json:
    data: Any


class MemoryStore:
    """A run's files kept in memory: a run given no folder (``Chain.run(..., out=None)``).

    Paths are checked as a folder's would be (relative, inside), so a run behaves the same with
    and without a folder; nothing is written to disk. JSON is kept as the object written and
    serialised only when read as bytes: a run in memory pays for no encoding it never uses."""

    persistent = False

    def __init__(self) -> None:
        self.id = "in-memory"
        self.root: Path | None = None
        self.failed: RunStorageError | None = None
        #: name -> the bytes or text written, or the object written as JSON
        self._files: dict[str, bytes | str | _Json] = {}

    @staticmethod
    def _rel(rel: str) -> str:
        norm = posixpath.normpath(rel)
        if rel.startswith("/") or norm == ".." or norm.startswith("../"):
            raise RunStorageError(f"{rel!r} is outside the run")
        return norm

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield  # one process holds what it keeps in its own memory

    def remove_leftovers(self) -> int:
        return 0

    @property
    def files(self) -> list[str]:
        """The names of the files the run wrote."""
        return sorted(self._files)

    def _put(self, rel: str, value: bytes | str | _Json) -> str:
        name = self._rel(rel)
        self._files[name] = value
        return name

    def write_bytes(self, rel: str, data: bytes, *, durable: bool = True) -> str:
        return self._put(rel, bytes(data))

    def write_text(self, rel: str, text: str, *, durable: bool = True) -> str:
        return self._put(rel, text)

    def write_prompt(self, rel: str, text: str) -> str:
        return self._put(rel, text)

    def write_record(self, rel: str, data: Any) -> str:
        return self._put(rel, _Json(data))

    def write_json(self, rel: str, data: Any, *, durable: bool = True) -> str:
        return self._put(rel, _Json(data))

    def read_bytes(self, rel: str) -> bytes:
        try:
            value = self._files[self._rel(rel)]
        except KeyError:
            raise FileNotFoundError(rel) from None
        if isinstance(value, _Json):
            return to_json(value.data).encode("utf-8")
        return value.encode("utf-8") if isinstance(value, str) else value

    def read_json(self, rel: str) -> Any:
        return parse_json(self.read_bytes(rel))

    def where(self, rel: str) -> str | None:
        return None
