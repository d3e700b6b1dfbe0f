"""Checking an edited output: it must be what the step's parser makes of it.

The edited value goes through the step's parser as a model's answer would, written as the
parser reads it (:func:`answer_text`: text as is, lines one per line, labelled sections, JSON for
json and custom parsers; a regex parser's output is checked for its shape). What the parser
returns is what is kept (it may normalise, e.g. place names). When it refuses the value, or
drops part of it (an incomplete record), the error names the line of the edited YAML where the
problem is, as far as it can be told.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..chain.parsers import parse
from ..errors import ChainError, InputError, ParseError
from ..source import Source, load_yaml
from ..spec import (
    CustomParse,
    LinesParse,
    RegexParse,
    SectionsParse,
    StepSpec,
)

_SCHEMA_PATH = re.compile(r" at (\S+?):")
HINT = "fix it and save again (an empty file cancels)"


def read_edit(text: str, source: str, as_text: bool) -> tuple[Any, Source | None]:
    """The value an edited file holds: its text, or the YAML it holds (with positions)."""
    if as_text:
        return text, None
    try:
        src = load_yaml(text, source)
    except ChainError as exc:
        problem = exc.problems[0]
        raise InputError(f"{problem.location}: {problem.message}", hint=problem.hint) from None
    return src.data, src


def edited_as_text(spec: StepSpec, value: Any) -> bool:
    """Whether a value is edited as plain text (text outputs; a ``lines`` step's list, one entry
    per line) rather than as YAML."""
    if isinstance(value, str):
        return True
    lines = isinstance(value, list) and all(isinstance(v, str) and "\n" not in v for v in value)
    return isinstance(spec.parse, LinesParse) and lines


def editable(spec: StepSpec, value: Any) -> str:
    """A value as its user edits it (see :func:`edited_as_text`)."""
    from ..store.versions import as_text

    if edited_as_text(spec, value) and isinstance(value, list):
        return "".join(f"{v}\n" for v in value)
    return as_text(value)


def parser_name(spec: StepSpec) -> str:
    return spec.parse.name if isinstance(spec.parse, CustomParse) else spec.parse.type


def check_value(
    spec: StepSpec,
    value: Any,
    *,
    where: str,
    source: Source | None = None,
    schema: dict[str, Any] | None = None,
    path: tuple[str | int, ...] = (),
) -> Any:
    """What the step's parser makes of ``value``; InputError when it refuses it or drops part
    of it. ``where`` names the edit (step and item); ``source`` locates YAML problems, ``path``
    being where ``value`` is in it."""
    try:
        parsed = _parse(spec, value, schema)
    except ParseError as exc:
        at = _locate(spec, value, schema, source, exc, path)
        raise InputError(
            f"{at}{where}: the step's parser ({parser_name(spec)}) refused the edit: {exc.message}",
            hint=HINT,
        ) from None
    if isinstance(value, list) and isinstance(parsed, list) and len(parsed) < len(value):
        dropped = next((i for i, v in enumerate(value) if not _keeps(spec, v, schema)), len(parsed))
        at = _at(source, (*path, dropped))
        raise InputError(
            f"{at}{where}: the step's parser ({parser_name(spec)}) would drop entry {dropped + 1} "
            f"of {len(value)} (an incomplete or unreadable record)",
            hint="give it every field the other entries have, or delete it; " + HINT,
        )
    return parsed


def _parse(spec: StepSpec, value: Any, schema: dict[str, Any] | None) -> Any:
    if isinstance(spec.parse, RegexParse):
        return _regex_shape(spec.parse, value)
    text = answer_text(spec, value)
    # as on a step's last try: parsers that are strict on early tries are lenient there
    return parse(spec.parse, text, attempt=spec.attempts - 1, attempts=spec.attempts, schema=schema)


def answer_text(spec: StepSpec, value: Any) -> str:
    """``value`` written as the step's parser reads a model's answer: text as is, lines one
    per line, sections as labelled records, anything else (json, custom parsers) as JSON."""
    if isinstance(value, str):
        return value
    p = spec.parse
    if isinstance(p, LinesParse) and isinstance(value, list):
        return "\n".join(str(v).replace("\n", " ") for v in value)
    if isinstance(p, SectionsParse):
        labels = p.labels()
        records = value if isinstance(value, list) else [value]
        if all(isinstance(r, dict) and set(r) <= set(labels) for r in records):
            return "\n\n".join(
                "\n".join(f"{labels[k]}: {v}" for k, v in r.items()) for r in records
            )
    return json.dumps(value, ensure_ascii=False)


def _regex_shape(p: RegexParse, value: Any) -> Any:
    """A regex parser cannot read its output back: the value must have its shape (a mapping of
    its named groups, or a list of them with ``multiple``)."""
    groups = set(re.compile(p.pattern).groupindex)
    records = value if p.multiple and isinstance(value, list) else [value]
    for r in records:
        if not isinstance(r, dict) or set(r) != groups:
            shape = "a list of mappings" if p.multiple else "a mapping"
            raise ParseError(f"expected {shape} with the keys {', '.join(sorted(groups))}")
        if not all(v is None or isinstance(v, str) for v in r.values()):
            raise ParseError("every value must be text")
    return value


def _keeps(spec: StepSpec, entry: Any, schema: dict[str, Any] | None) -> bool:
    try:
        return bool(_parse(spec, [entry], schema))
    except ParseError:
        return False


def _at(source: Source | None, path: tuple[str | int, ...]) -> str:
    return f"{source.locate(path, prefer_value=True)}: " if source is not None else ""


def _locate(
    spec: StepSpec,
    value: Any,
    schema: dict[str, Any] | None,
    source: Source | None,
    exc: ParseError,
    path: tuple[str | int, ...],
) -> str:
    """``file:line:col: `` of the problem, as far as it can be told."""
    if source is None:
        return ""
    m = _SCHEMA_PATH.search(exc.message)  # "JSON does not match the step's schema at a/0/b:"
    if m and m.group(1) != "(root)":
        parts = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("/"))
        return _at(source, (*path, *parts))
    if isinstance(value, list):  # the first entry the parser refuses on its own
        for i, entry in enumerate(value):
            if not _keeps(spec, entry, schema):
                return _at(source, (*path, i))
    return _at(source, path)
