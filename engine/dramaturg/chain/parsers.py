"""Turn raw model text into data. Built-in parsers plus ones registered from Python.

A parser is ``fn(text, options) -> value``; it raises :class:`ParseError` when the text does not
fit. Register your own with :func:`register_parser` (or an entry point in the group
``dramaturg.parsers``) and use it in a chain as ``parse: name`` or
``parse: {type: custom, name: name, options: {...}}``.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import ParseError
from ..plugins import Plugins
from ..spec import (
    CustomParse,
    JsonParse,
    LinesParse,
    ParseSpec,
    RegexParse,
    SectionsParse,
    TextParse,
)
from . import patterns
from .answers import clean_value

#: ``fn(text, options)``, optionally with keyword parameters ``attempt`` and ``attempts``
ParserFn = Callable[..., Any]
_CUSTOM = Plugins("dramaturg.parsers", "parser")

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)]|\(\d+\))\s+")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


def register_parser(name: str, fn: ParserFn) -> None:
    """Register a custom parser usable as ``parse: name`` in chain files."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", name):
        raise ValueError(f"invalid parser name {name!r}")
    _CUSTOM.register(name, fn)


def _wants_attempts(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "attempt" in params and "attempts" in params


def custom_parsers() -> Plugins:
    """Registered custom parsers (``name in custom_parsers()``, ``.get(name)``, ``.names()``)."""
    return _CUSTOM


def parse(
    spec: ParseSpec,
    text: str,
    *,
    attempt: int = 0,
    attempts: int = 1,
    schema: dict[str, Any] | None = None,
) -> Any:
    """Parse ``text`` according to ``spec``, then make the value safe to keep
    (:func:`dramaturg.chain.answers.clean_value`: no control characters, no lone surrogates, no
    nesting deeper than chain files allow).

    ``schema`` is the step's schema as rendered for this call, when it is a template.

    A custom parser that declares keyword parameters ``attempt`` and ``attempts`` receives them
    (0-based try number and the step's total), e.g. to be strict on early tries and lenient on
    the last one.
    """
    value = _parse(spec, text, attempt=attempt, attempts=attempts, schema=schema)
    return clean_value(value)


def _parse(
    spec: ParseSpec,
    text: str,
    *,
    attempt: int = 0,
    attempts: int = 1,
    schema: dict[str, Any] | None = None,
) -> Any:
    if isinstance(spec, (TextParse, LinesParse)) and not text.strip():
        raise ParseError("the answer is empty", hint="check the prompt and the model's max_tokens")
    if isinstance(spec, TextParse):
        return text.strip()
    if isinstance(spec, LinesParse):
        return parse_lines(text, strip_bullets=spec.strip_bullets)
    if isinstance(spec, JsonParse):
        return parse_json(text, schema if schema is not None else spec.static_schema())
    if isinstance(spec, RegexParse):
        return parse_regex(text, spec)
    if isinstance(spec, SectionsParse):
        return parse_sections(text, spec)
    if isinstance(spec, CustomParse):
        fn = custom_parsers().get(spec.name)
        if fn is None:
            raise ParseError(
                f"no parser named {spec.name!r} is registered",
                hint="register it with dramaturg.register_parser(name, fn)",
            )
        try:
            if _wants_attempts(fn):
                return fn(text, dict(spec.options), attempt=attempt, attempts=attempts)
            return fn(text, dict(spec.options))
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(f"parser {spec.name!r} failed: {exc}") from exc
    raise ParseError(f"unknown parser {spec!r}")


def parse_lines(text: str, *, strip_bullets: bool = True) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = (_BULLET.sub("", raw) if strip_bullets else raw).strip()
        if line:
            out.append(line)
    return out


def _json_candidates(text: str) -> list[str]:
    cands = [m.group(1) for m in _FENCE.finditer(text)]
    stripped = text.strip()
    cands.append(stripped)
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if 0 <= start < end:
            cands.append(stripped[start : end + 1])
    return cands


def parse_json(text: str, schema: dict[str, Any] | None = None) -> Any:
    last: Exception | None = None
    for cand in _json_candidates(text):
        try:
            value = clean_value(json.loads(cand))  # the schema checks what will be kept
        except json.JSONDecodeError as exc:
            last = exc
            continue
        except RecursionError:  # nested deeper than Python's parser goes: not an answer
            last = ValueError("it nests too deeply")
            continue
        if schema is not None:
            import jsonschema

            try:
                jsonschema.validate(value, schema, cls=_validator())
            except ParseError:  # a pattern that took too long
                raise
            except jsonschema.ValidationError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                raise ParseError(
                    f"JSON does not match the step's schema at {where}: {exc.message}"
                ) from None
            except (RecursionError, Exception) as exc:  # an unresolvable or recursive $ref
                raise ParseError(
                    f"the step's schema cannot check the answer: {type(exc).__name__}: {exc}",
                    hint="fix the schema's $refs (only '#/...' references, not recursive ones)",
                ) from None
        return value
    raise ParseError(
        f"output is not JSON ({last})" if last else "output is empty",
        hint="ask for JSON only in the prompt, or give the step a schema so "
        "models that support it are constrained",
    )


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot be a step's answer schema, or None: it is not a valid JSON Schema,
    or a ``$ref`` points to another document (schemas are never fetched from anywhere)."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return exc.message
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and not str(value).startswith("#"):
                    return (
                        f"{key} '{value}' points outside the schema; only '#/...' references "
                        "are supported (nothing is fetched)"
                    )
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return None


@functools.cache
def _validator() -> Any:
    """JSON Schema 2020-12, its ``pattern`` and ``patternProperties`` run with a time bound."""
    import jsonschema
    from jsonschema import validators

    def pattern(validator: Any, pat: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not patterns.search(pat, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pat!r}")

    def pattern_properties(validator: Any, props: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        for pat, subschema in props.items():
            for key, value in instance.items():
                if patterns.search(pat, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=pat)

    extend: Any = validators.extend  # untyped in jsonschema's stubs
    return extend(
        jsonschema.Draft202012Validator,
        {"pattern": pattern, "patternProperties": pattern_properties},
    )


def parse_regex(text: str, spec: RegexParse) -> Any:
    flags = tuple(spec.flags)
    if spec.multiple:
        return [m.groupdict() for m in patterns.finditer(spec.pattern, text, flags)]
    m = patterns.search(spec.pattern, text, flags)
    if m is None:
        raise ParseError(f"output does not match the pattern {spec.pattern!r}")
    return m.groupdict()


def parse_sections(text: str, spec: SectionsParse) -> Any:
    labels = spec.labels()
    by_label = {re.sub(r"\s+", " ", v.strip().lower()): k for k, v in labels.items()}
    alternation = "|".join(re.escape(v.strip()) for v in labels.values())
    # "Place: x", "**Place:** x", "- place - x", "PLACE: x"
    head = re.compile(
        rf"^[\s*#>-]*(?:\*\*)?({alternation})(?:\*\*)?\s*[:\-\u2013]\s*(?:\*\*)?\s*(.*)$",
        re.IGNORECASE,
    )
    first_key = next(iter(labels))
    required = spec.required if spec.required is not None else list(labels)
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        m = head.match(line)
        if m:
            key = by_label[re.sub(r"\s+", " ", m.group(1).strip().lower())]
            if key in current and (spec.multiple or key == first_key):
                records.append(current)
                current = {}
            current[key] = m.group(2).strip()
        elif key is not None and line.strip():
            current[key] = (current[key] + " " + line.strip()).strip()
    if current:
        records.append(current)
    complete = [r for r in records if all(r.get(k) for k in required)]
    if spec.multiple:
        if not complete:
            raise ParseError(
                f"no complete record with fields {', '.join(labels.values())}",
                hint="each record needs a line starting with each label and a colon",
            )
        return complete
    if not complete:
        missing = [labels[k] for k in required if not (records and records[0].get(k))]
        raise ParseError(f"missing field(s): {', '.join(missing)}")
    return complete[0]
