"""A run's ``manifest.json`` checked as it is read back.

Run folders get shared, and a manifest may have been edited by hand: ``"started": "x"``,
``"steps": []``, a step's ``usage`` a string, a step named ``../x``. Every command reads the
manifest first; what each part must be is checked here once, so that a damaged manifest is one
clear message (:class:`~dramaturg.errors.InputError`, naming the key) rather than a crash deep
inside a command. Keys this module does not know are left alone (newer versions may add some).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InputError

#: a problem with a value ("must be a number"), or None
Check = Callable[[Any], "str | None"]
_STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: the latest time a run may have started or ended (year 5138: beyond, clocks overflow)
MAX_TIME = 1e11
#: the largest count (tokens, calls, items) a manifest may hold
MAX_COUNT = 10**15


class _Problem(Exception):
    def __init__(self, keys: list[Any], problem: str) -> None:
        super().__init__(f"'{_path(keys)}' {problem}")
        self.keys, self.problem = keys, problem


def _path(keys: list[Any]) -> str:
    """``steps.title.usage``; ``steps["../x"]`` and ``outputs[0]`` for keys that are no names."""
    out = ""
    for key in keys:
        if isinstance(key, str) and _STEP_ID.match(key):
            out += f".{key}" if out else key
        else:
            out += f"[{json.dumps(key)}]"
    return out


def _inside(key: Any, check: Check, value: Any) -> None:
    """Run ``check`` on the value at ``key``; a problem names the path down to it."""
    try:
        problem = check(value)
    except _Problem as exc:
        raise _Problem([key, *exc.keys], exc.problem) from None
    if problem is not None:
        raise _Problem([key], problem)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _string(v: Any) -> str | None:
    return None if isinstance(v, str) else "must be a string"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _time(v: Any) -> str | None:
    ok = _is_num(v) and 0 <= v < MAX_TIME
    return None if ok else "must be a time (seconds since 1970)"


def _count(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT
    return None if ok else "must be a whole number, 0 or more"


def _int(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and abs(v) <= MAX_COUNT
    return None if ok else "must be a whole number"


def _money(v: Any) -> str | None:
    return None if _is_num(v) else "must be a number"


def _opt(check: Check) -> Check:
    def run(v: Any) -> str | None:
        return None if v is None else check(v)

    return run


def _mapping(fields: Mapping[str, Check] | None = None, *, values: Check | None = None) -> Check:
    """A mapping whose known ``fields`` are checked (or every value, with ``values``)."""

    def run(v: Any) -> str | None:
        if not isinstance(v, dict):
            return "must be a mapping"
        for key, value in v.items():
            check = values if values is not None else (fields or {}).get(key)
            if check is not None:
                _inside(key, check, value)
        return None

    return run


def _list(item: Check) -> Check:
    def run(v: Any) -> str | None:
        if not isinstance(v, list):
            return "must be a list"
        for i, value in enumerate(v):
            _inside(i, item, value)
        return None

    return run


def _step_ids(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "must be a mapping of step names"
    for key, entry in v.items():
        if not _STEP_ID.match(key):
            raise _Problem([key], "is not a step name (letters, digits and _)")
        _inside(key, _STEP, entry)
    return None


def _pinned(v: Any) -> str | None:
    if isinstance(v, bool):
        return None
    return _list(_opt(_count))(v)


_USAGE = _mapping(
    {"input_tokens": _count, "output_tokens": _count, "total_tokens": _count, "calls": _count}
)


def _usage(v: Any) -> str | None:
    if isinstance(v, dict) and not set(v) <= {
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "calls",
    }:
        return "must count input_tokens, output_tokens, total_tokens and calls only"
    return _USAGE(v)


_STEP = _mapping(
    {
        "status": _string,
        "kind": _string,
        "model": _opt(_string),
        "model_ref": _opt(_string),
        "needs": _list(_string),
        "started": _opt(_time),
        "ended": _opt(_time),
        "began": _opt(_time),
        "attempts": _count,
        "usage": _usage,
        "cached": _count,
        "resumed": _count,
        "cost": _opt(_money),
        "length": _count,
        "repairs": _count,
        "items": _mapping({"total": _opt(_count), "done": _opt(_count), "failed": _opt(_count)}),
        "output": _opt(_string),
        "version": _count,
        "error": _opt(_mapping({"type": _opt(_string), "message": _opt(_string)})),
        "skipped_because": _opt(_string),
        "stale": _mapping({"because": _list(_string), "pinned": _pinned}),
    }
)
_MANIFEST = _mapping(
    {
        "dramaturg": _string,
        "manifest_version": _count,
        "run_id": _opt(_string),
        "status": _string,
        "chain": _mapping(
            {
                "name": _string,
                "file": _opt(_string),
                "hash": _opt(_string),
                "path": _opt(_string),
            }
        ),
        "started": _opt(_time),
        "ended": _opt(_time),
        "inputs": _mapping(),
        "models": _mapping(values=_mapping()),
        "settings": _mapping(
            {
                "concurrency": _opt(_count),
                "dry_run": _opt(_bool),
                "seed": _opt(_int),
                "cache": _opt(_string),
            }
        ),
        "outputs": _list(_string),
        "usage": _usage,
        "cost": _mapping(
            {
                "currency": _string,
                "total": _opt(_money),
                "complete": _bool,
                "unpriced": _list(_string),
                "prices": _mapping(
                    {"files": _list(_string), "checked": _string, "problems": _list(_string)}
                ),
            }
        ),
        "by_model": _mapping(
            values=_mapping(
                {
                    "input_tokens": _count,
                    "output_tokens": _count,
                    "total_tokens": _count,
                    "calls": _count,
                    "images": _count,
                    "cost": _opt(_money),
                    "steps": _list(_string),
                }
            )
        ),
        "steps": _step_ids,
        "exports": _mapping(values=_list(_string)),
        "export_errors": _list(_string),
        "resumed": _list(_mapping()),
        "reruns": _list(_mapping()),
    }
)


def check_manifest(data: Any, where: str) -> dict[str, Any]:
    """``data`` if it is a manifest every command can read; InputError naming the first key
    that is not as Dramaturg writes it."""
    try:
        problem = _MANIFEST(data)
    except _Problem as exc:
        problem = str(exc)
    if problem is None:
        assert isinstance(data, dict)
        return data
    raise InputError(
        f"{where} is damaged: {problem}",
        hint="it was changed by hand or by another program; restore it from a copy of the run "
        "folder",
    )
