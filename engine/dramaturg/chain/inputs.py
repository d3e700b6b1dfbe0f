"""Run inputs: check and coerce values against the chain's declared input types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ChainError, InputError
from ..source import load_yaml, read_text
from ..spec import InputSpec


class InputValueError(ValueError):
    """A value does not fit an input's type."""


def coerce_value(spec: InputSpec, value: Any, *, from_text: bool = False) -> Any:
    """Coerce ``value`` to the input's type. ``from_text`` parses CLI strings."""
    t = spec.type
    if from_text and isinstance(value, str):
        value = _from_text(t, value)
    if t == "string":
        if not isinstance(value, str):
            raise InputValueError(f"expected a string, got {type(value).__name__}")
    elif t == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise InputValueError(f"expected an integer, got {value!r}")
    elif t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputValueError(f"expected a number, got {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            raise InputValueError(f"expected true or false, got {value!r}")
    elif t == "list":
        if not isinstance(value, list):
            raise InputValueError(f"expected a list, got {type(value).__name__}")
    elif t == "object" and not isinstance(value, dict):
        raise InputValueError(f"expected a mapping, got {type(value).__name__}")
    if spec.choices is not None and value not in spec.choices:
        raise InputValueError(f"{value!r} is not one of {', '.join(map(str, spec.choices))}")
    return value


def _from_text(t: str, text: str) -> Any:
    if t == "string":
        return text
    if t == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise InputValueError(f"expected an integer, got {text!r}") from None
    if t == "number":
        try:
            return float(text.strip())
        except ValueError:
            raise InputValueError(f"expected a number, got {text!r}") from None
    if t == "boolean":
        low = text.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise InputValueError(f"expected true or false, got {text!r}")
    try:
        return load_yaml(text, "the value").data  # bounded: no alias bombs, no deep nesting
    except ChainError as exc:
        problem = exc.problems[0].message if exc.problems else str(exc)
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InputValueError(
            f"expected a {t} in YAML or JSON form, got {shown!r} ({problem})"
        ) from None


def resolve_inputs(
    declared: Mapping[str, InputSpec],
    given: Mapping[str, Any],
    *,
    from_text: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Check ``given`` against ``declared``: unknown names, missing required, wrong types.

    Names in ``from_text`` came from the command line and are parsed from strings.
    All problems are reported in one InputError.
    """
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            known = ", ".join(declared) or "(none)"
            problems.append(f"unknown input '{name}' (the chain's inputs: {known})")
    for name, spec in declared.items():
        if name in given:
            try:
                out[name] = coerce_value(spec, given[name], from_text=name in from_text)
            except InputValueError as exc:
                problems.append(f"input '{name}': {exc}")
        elif "default" in spec.model_fields_set:
            out[name] = spec.default
        elif spec.is_required:
            desc = f" ({spec.description})" if spec.description else ""
            problems.append(f"missing required input '{name}'{desc}: pass --set {name}=...")
        else:
            out[name] = None
    if problems:
        raise InputError(
            "invalid inputs:\n  " + "\n  ".join(problems),
            hint="`dramaturg validate CHAIN` lists the chain's inputs",
        )
    return out


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x y"]`` -> ``{"a": "1", "b": "x y"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"expected NAME=VALUE, got {pair!r}", hint='e.g. --set logline="..."')
        out[name.strip()] = value
    return out


def read_inputs_file(path: Path) -> dict[str, Any]:
    """Inputs from a YAML or JSON file holding a mapping. Read as chain files are: at most
    MAX_BYTES, UTF-8, YAML without alias bombs or nesting deeper than MAX_DEPTH."""
    try:
        text = read_text(path)
        data = json.loads(text) if path.suffix == ".json" else load_yaml(text, str(path)).data
    except ChainError as exc:
        problems = "\n  ".join(str(p) for p in exc.problems)
        raise InputError(f"inputs file {path} cannot be used:\n  {problems}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"inputs file {path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError(f"inputs file {path} nests deeper than Python can read") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"inputs file {path} must hold a mapping of input names to values")
    return {str(k): v for k, v in data.items()}
