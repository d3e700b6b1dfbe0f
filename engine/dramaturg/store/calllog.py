"""The run folder's call log: every answer the run folder received, with its call key.

``versions/calls.jsonl`` holds one JSON object per call (a plain step's call or a fan-out
item): its key (:mod:`dramaturg.run.callkeys`), step, item, parsed output, raw text, tries and
usage. Images are kept once each, by content, in ``versions/blobs/``. The log is only appended
to (a line is flushed, not fsynced; a torn last line is skipped when read), so it remembers
answers that later reruns, edits or checkouts replaced: a rerun takes every call whose key is
unchanged from it, with or without the step cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from ..errors import RunStorageError
from . import runfiles
from .records import CallRecord
from .rundir import RunDir

LOG = "versions/calls.jsonl"
BLOBS = "versions/blobs"
#: the largest call log read (every answer of every rerun); a larger one is damaged
MAX_LOG = 256 * 1024 * 1024
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


@dataclass
class LoggedCall:
    """One answer of the log."""

    key: str
    step: str
    item: int | None
    output: Any
    raw: str | None = None
    attempts: int = 1
    usage: dict[str, int] = field(default_factory=dict)
    #: image steps: the image's blob name in ``versions/blobs/``
    image: str | None = None
    time: float = 0.0

    def record(self, rundir: RunDir) -> CallRecord | None:
        """As a call record (with the image's bytes); None when its image is missing."""
        image = None
        if self.image is not None:
            image = read_blob(rundir, self.image)
            if image is None:
                return None
        return CallRecord(
            self.output, raw=self.raw, attempts=self.attempts, usage=dict(self.usage), image=image
        )


def put_blob(rundir: RunDir, data: bytes, suffix: str) -> str:
    """Keep ``data`` once in ``versions/blobs/``; returns its name (sha256 + suffix)."""
    name = hashlib.sha256(data).hexdigest() + suffix
    if not rundir.is_file(f"{BLOBS}/{name}"):
        rundir.write_bytes(f"{BLOBS}/{name}", data, durable=False)
    return name


def read_blob(rundir: RunDir, name: str) -> bytes | None:
    try:
        data = rundir.read_bytes(f"{BLOBS}/{name}")
    except (OSError, RunStorageError):  # missing, damaged, or a name leaving the folder
        return None
    return data if hashlib.sha256(data).hexdigest() == name.split(".", maxsplit=1)[0] else None


def image_suffix(output: Any) -> str:
    path = output.get("image") if isinstance(output, dict) else None
    return PurePosixPath(path).suffix if isinstance(path, str) else ".bin"


class CallLog:
    """Appends the calls of one run (or rerun) to its folder's log. Raises OSError."""

    def __init__(self, rundir: RunDir) -> None:
        self.rundir = rundir
        self._file: IO[str] | None = None

    def append(self, key: str, step: str, item: int | None, record: CallRecord) -> None:
        entry: dict[str, Any] = {"key": key, "step": step, "item": item, "output": record.output}
        if record.raw is not None:
            entry["raw"] = record.raw
        entry |= {"attempts": record.attempts, "usage": record.usage, "time": time.time()}
        if record.image is not None:
            entry["image"] = put_blob(self.rundir, record.image, image_suffix(record.output))
        if self._file is None:  # never through a link, nor into a linked folder
            self._file = runfiles.open_append(self.rundir.root, LOG, _CLOEXEC)
        self._file.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_log(rundir: RunDir) -> list[LoggedCall]:
    """Every answer of a run folder's log, oldest first (unreadable lines skipped)."""
    try:
        text = rundir.read_text(LOG, MAX_LOG)
    except OSError:
        return []
    calls = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
            item, image, raw = data.get("item"), data.get("image"), data.get("raw")
            if not (_optional(item, int) and _optional(image, str) and _optional(raw, str)):
                continue  # a line changed by hand: not an answer of ours
            calls.append(
                LoggedCall(
                    key=str(data["key"]),
                    step=str(data["step"]),
                    item=item,
                    output=data["output"],
                    raw=raw,
                    attempts=int(data.get("attempts") or 1),
                    usage=dict(data.get("usage") or {}),
                    image=image,
                    time=float(data.get("time") or 0.0),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue
    return calls


def _optional(value: Any, kind: type) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))
