"""The step cache on disk: an SQLite index and content-addressed blob files.

Layout of the cache folder (``$DRAMATURG_CACHE_DIR``, else ``$XDG_CACHE_HOME/dramaturg``, else
``~/.cache/dramaturg``)::

    index.sqlite          key -> step, the value's blob, attachments' blobs (WAL mode)
    blobs/ab/<sha256>     every value (canonical JSON) and attachment (image bytes), once

A blob is written to a temporary file and renamed into place before its row is inserted, so a
crash leaves at worst an unreferenced blob. A blob is named by the sha256 of its bytes and
checked against it when read: a row whose blob is missing or damaged is a miss, never an error.
Several processes may read and write one cache at once (SQLite serialises the index writes).
The store knows nothing of steps or models: keys and values come from :mod:`dramaturg.run.memo`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import RunStorageError

INDEX = "index.sqlite"
BLOBS = "blobs"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    value TEXT NOT NULL,
    attachments TEXT NOT NULL,
    created REAL NOT NULL
)
"""
_HINT = "choose another folder with --cache-dir (or DRAMATURG_CACHE_DIR), or run with --no-cache"


def default_cache_dir() -> Path:
    """``$DRAMATURG_CACHE_DIR``, else ``$XDG_CACHE_HOME/dramaturg``, else ``~/.cache/dramaturg``."""
    env = os.environ.get("DRAMATURG_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "dramaturg"


def cache_dir_for(cache: bool | str | os.PathLike[str] | None) -> Path | None:
    """The folder a run's ``cache=`` setting means: None/True the default, False none."""
    if cache is None or cache is True:
        return default_cache_dir()
    if cache is False:
        return None
    return Path(cache).expanduser()


@dataclass
class Entry:
    """A cached value and its attachments (e.g. an image's bytes)."""

    value: dict[str, Any]
    attachments: dict[str, bytes] = field(default_factory=dict)


class CacheStore(Protocol):
    """What a run's calls read and write stored answers through: a :class:`StepCache` folder,
    or a proxy of one that another process holds (a batch on Ray)."""

    @property
    def root(self) -> Path:
        """Where the entries are (for messages)."""
        ...

    def get(self, key: str) -> Entry | None: ...

    def put(
        self,
        key: str,
        step: str,
        value: Mapping[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    entries: int
    blobs: int
    size: int


class StepCache:
    """One cache folder. Open it with :meth:`open`; close it when done."""

    def __init__(self, root: Path, db: sqlite3.Connection) -> None:
        self.root = root
        self._db = db
        self._dirs: set[Path] = set()  # blob folders known to exist

    @classmethod
    def open(cls, root: Path) -> StepCache:
        """Open (creating if needed) the cache in ``root``. Raises RunStorageError."""
        db = None
        try:
            (root / BLOBS).mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(root / INDEX, timeout=30, isolation_level=None)
            _set_up(db)
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise RunStorageError(
                f"cannot open the step cache in {root}: {reason}", hint=_HINT
            ) from None
        return cls(root, db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StepCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- blobs -------------------------------------------------------------------------------
    def _blob_path(self, digest: str) -> Path:
        return self.root / BLOBS / digest[:2] / digest

    def _write_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self._blob_path(digest)
        with contextlib.suppress(OSError):
            if target.stat().st_size == len(data):
                return digest  # stored once, whoever stored it
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{digest[:8]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return digest

    def _read_blob(self, digest: str) -> bytes | None:
        try:
            data = self._blob_path(digest).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == digest else None

    # -- entries -----------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        """The entry for ``key``; None when there is none or its blobs are missing or damaged."""
        row = self._db.execute(
            "SELECT value, attachments FROM entries WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        raw = self._read_blob(row[0])
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            names = json.loads(row[1])
        except ValueError:
            return None
        attachments = {}
        for name, digest in names.items():
            data = self._read_blob(digest)
            if data is None:
                return None
            attachments[name] = data
        return Entry(value, attachments) if isinstance(value, dict) else None

    def put(
        self,
        key: str,
        step: str,
        value: Mapping[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> None:
        """Store (or replace) an entry. Raises OSError or sqlite3.Error."""
        data = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
        digest = self._write_blob(data)
        names = {n: self._write_blob(b) for n, b in (attachments or {}).items()}
        self._db.execute(
            "INSERT OR REPLACE INTO entries (key, step, value, attachments, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, step, digest, json.dumps(names, sort_keys=True), time.time()),
        )

    # -- maintenance -------------------------------------------------------------------------
    def _blob_files(self) -> Iterator[Path]:
        blobs = self.root / BLOBS
        if blobs.is_dir():
            for sub in blobs.iterdir():
                if sub.is_dir():
                    yield from (p for p in sub.iterdir() if p.is_file())

    def info(self) -> CacheInfo:
        entries = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        count = size = 0
        for p in self._blob_files():
            if not p.name.endswith(".tmp"):
                count += 1
                size += p.stat().st_size
        for name in (INDEX, f"{INDEX}-wal", f"{INDEX}-shm"):
            with contextlib.suppress(OSError):
                size += (self.root / name).stat().st_size
        return CacheInfo(self.root, int(entries), count, size)

    def clear(self) -> int:
        """Delete every entry and blob; returns how many entries there were."""
        n = int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        self._db.execute("DELETE FROM entries")
        for p in list(self._blob_files()):
            with contextlib.suppress(OSError):
                p.unlink()
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("VACUUM")
        return n


def _set_up(db: sqlite3.Connection, *, deadline: float = 30.0) -> None:
    """Switch a fresh index to WAL mode and create its table, retrying while locked.

    Two processes opening a new cache at once race to switch it to WAL; the switch needs an
    exclusive lock for which SQLite's busy timeout does not wait, so the loser sees "database
    is locked" at once. Retried with a short back-off until ``deadline`` seconds have passed.
    """
    give_up = time.monotonic() + deadline
    delay = 0.01
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > give_up:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def cache_info(root: Path) -> CacheInfo:
    """What a cache folder holds (an absent cache holds nothing; nothing is created)."""
    if not (root / INDEX).exists():
        return CacheInfo(root, 0, 0, 0)
    try:
        with StepCache.open(root) as cache:
            return cache.info()
    except sqlite3.Error as exc:
        raise RunStorageError(f"cannot read the step cache in {root}: {exc}", hint=_HINT) from None
