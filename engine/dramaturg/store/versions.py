"""Every version of every step of a run, kept in its folder under ``versions/``::

    versions/index.json              step -> its latest and its current version number
    versions/steps/<step>/<n>.json   one version of a step
    versions/blobs/<sha256>.<ext>    images, once each (shared with the call log)
    versions/calls.jsonl             the call log (:mod:`dramaturg.store.calllog`)

A version is a snapshot of a step: its whole output (a fan-out step's list) and, per call (``*``
for a plain step's, the index of each fan-out item), the key of the call the output came from,
the seed a rerun gave it, whether it is pinned (chosen by an edit, a continue or by hand: reruns
keep it) and the model's raw text. Kinds: ``NEW`` (the first output), ``RERUN``, ``EDIT``,
``CONTINUE``. The current version is the one the run's ``steps/`` files hold.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError, RunStorageError
from .rundir import RunDir

NEW, RERUN, EDIT, CONTINUE = "NEW", "RERUN", "EDIT", "CONTINUE"
KINDS = (NEW, RERUN, EDIT, CONTINUE)
#: the call of a plain step (fan-out items are named by their index)
WHOLE = "*"
INDEX = "versions/index.json"


def call_id(item: int | None) -> str:
    return WHOLE if item is None else str(item)


@dataclass
class CallState:
    """One call of a version (a plain step's, or a fan-out item's)."""

    #: the key of the call its output came from (pinned: the call it replaced)
    key: str | None = None
    #: the seed a rerun gave this call (None: the model's)
    seed: int | None = None
    #: chosen by an edit, a continue or by hand: a rerun keeps it
    pinned: bool = False
    raw: str | None = None
    #: an image's blob name in versions/blobs/
    image: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallState:
        """Raises TypeError for what a run folder changed by hand holds instead."""
        return cls(
            key=_optional(data.get("key"), str),
            seed=_optional(data.get("seed"), int),
            pinned=bool(data.get("pinned")),
            raw=_optional(data.get("raw"), str),
            image=_optional(data.get("image"), str),
        )


def _optional(value: Any, kind: type) -> Any:
    """``value`` if it is None or a ``kind`` (not a bool for int); else TypeError (a version
    file changed by hand)."""
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")


def _when(value: Any) -> float:
    """A time a version was made; ValueError for one no clock shows (1e300, a word)."""
    when = float(value)
    if not 0 <= when < 1e11:  # year 5138: beyond, time.localtime overflows
        raise ValueError(f"not a time: {value!r}")
    return when


def _calls(value: Any) -> dict[str, CallState]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(s, dict) for s in value.values()):
        raise TypeError("calls must map call ids to mappings")
    return {str(c): CallState.from_json(s) for c, s in value.items()}


@dataclass
class Version:
    """One version of a step's output."""

    step: str
    version: int
    #: NEW, RERUN, EDIT or CONTINUE
    kind: str
    #: when it was made (epoch seconds)
    time: float
    output: Any
    #: the fan-out item an edit or continue changed (None: the step, or several items)
    item: int | None = None
    note: str = ""
    #: the version it was made from
    based_on: int | None = None
    #: the seed of the calls it made anew (rerun, continue)
    seed: int | None = None
    calls: dict[str, CallState] = field(default_factory=dict)
    #: the model calls it took (rerun, continue): tokens and calls
    usage: dict[str, int] = field(default_factory=dict)
    #: the run's current version of the step (not stored: set when read)
    current: bool = False

    @property
    def pinned(self) -> list[int | None]:
        """The calls a rerun keeps as they are (None: the plain step's)."""
        return [None if c == WHOLE else int(c) for c, s in self.calls.items() if s.pinned]

    def value(self, item: int | None = None) -> Any:
        """The output, or one fan-out item's (None when there is no such item)."""
        if item is None:
            return self.output
        if isinstance(self.output, list) and 0 <= item < len(self.output):
            return self.output[item]
        return None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("current")
        data["calls"] = {c: s.as_json() for c, s in self.calls.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Version:
        return cls(
            step=str(data["step"]),
            version=int(data["version"]),
            kind=str(data["kind"]),
            time=_when(data["time"]),
            output=data.get("output"),
            item=_optional(data.get("item"), int),
            note=str(data.get("note") or ""),
            based_on=_optional(data.get("based_on"), int),
            seed=_optional(data.get("seed"), int),
            calls=_calls(data.get("calls")),
            usage=dict(data.get("usage") or {}),
        )


class VersionStore:
    """The versions kept in one run folder."""

    def __init__(self, rundir: RunDir) -> None:
        self.rundir = rundir

    def _index(self) -> dict[str, dict[str, int]]:
        try:
            data = self.rundir.read_json(INDEX)
        except (OSError, ValueError):
            return {}
        steps = data.get("steps") if isinstance(data, dict) else None
        if not isinstance(steps, dict):
            return {}
        # an entry changed by hand (not numbers) counts as none: its versions are not found
        return {
            step: entry
            for step, entry in steps.items()
            if isinstance(entry, dict)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in entry.values())
        }

    def _write_index(self, steps: dict[str, dict[str, int]]) -> None:
        self.rundir.write_json(INDEX, {"steps": steps})

    @staticmethod
    def _file(step: str, n: int) -> str:
        return f"versions/steps/{step}/{n}.json"

    def latest(self, step: str) -> int:
        return int(self._index().get(step, {}).get("latest", 0))

    def current(self, step: str) -> int | None:
        n = self._index().get(step, {}).get("current")
        return int(n) if n else None

    def get(self, step: str, n: int) -> Version:
        rel = self._file(step, n)
        try:
            version = Version.from_json(self.rundir.read_json(rel))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RunStorageError):
            if self.rundir.is_file(rel):  # there, but not as a version of ours
                raise InputError(
                    f"version {n} of step '{step}' in {self.rundir.root} is damaged ({rel})",
                    hint="it was changed by hand or by another program; restore it from a copy "
                    "of the run folder",
                ) from None
        else:
            version.current = version.version == self.current(step)
            return version
        known = self.latest(step)
        raise InputError(
            f"step '{step}' has no version {n} in {self.rundir.root}",
            hint=f"its versions run from 1 to {known}: see `dramaturg history "
            f"{self.rundir.root} {step}`"
            if known
            else "it has no versions yet (the step has not finished)",
        )

    def current_version(self, step: str) -> Version | None:
        n = self.current(step)
        return self.get(step, n) if n else None

    def all(self, step: str) -> list[Version]:
        """Every version of a step, oldest first (a version whose file is missing is skipped)."""
        out = []
        for n in range(1, self.latest(step) + 1):
            try:
                out.append(self.get(step, n))
            except InputError:
                continue
        return out

    def add(self, version: Version) -> Version:
        """Keep a new version (numbered after the latest) and make it the current one."""
        index = self._index()
        entry = index.setdefault(version.step, {})
        version.version = int(entry.get("latest", 0)) + 1
        self.rundir.write_json(self._file(version.step, version.version), version.as_json())
        entry["latest"] = entry["current"] = version.version
        self._write_index(index)
        version.current = True
        return version

    def set_current(self, step: str, n: int) -> None:
        index = self._index()
        index.setdefault(step, {})["current"] = n
        self._write_index(index)


def as_text(value: Any) -> str:
    """A value as its user reads and edits it: text as is, anything else as YAML."""
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    import yaml

    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=100)


def diff(before: Any, after: Any, before_name: str, after_name: str) -> list[str]:
    """The unified diff of two values, as text (see :func:`as_text`)."""
    return list(
        difflib.unified_diff(
            as_text(before).splitlines(),
            as_text(after).splitlines(),
            before_name,
            after_name,
            lineterm="",
        )
    )
