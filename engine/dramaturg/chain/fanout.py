"""The items a ``for_each`` step fans out over: a list, bounded by the step's ``max_items``.

The bound guards against runaway fan-outs (``for_each: range(100000)``, a model answering a list
of a million entries): one model call, one prompt file and one record per item would otherwise
run for hours and fill the disk. A step that really needs more items raises its ``max_items``.
:func:`output_shape` tells what a step's output is, so that validation can refuse a for_each
over a step that gives no list.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import jinja2

from ..spec import (
    CustomParse,
    JsonParse,
    RegexParse,
    SectionsParse,
    StepSpec,
    TextParse,
)


class FanOutError(ValueError):
    """A for_each value is not a list, or has more items than the step allows."""


def fan_out_items(value: Any, limit: int) -> list[Any]:
    """``value`` as a list of at most ``limit`` items; FanOutError otherwise. Only ``limit + 1``
    items are ever taken from an iterator, however long it is."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise FanOutError(f"gave a {type(value).__name__}, not a list")
    items = list(itertools.islice(value, limit + 1))
    if len(items) > limit:
        size = f"{len(value):,}" if hasattr(value, "__len__") else f"more than {limit:,}"
        raise FanOutError(f"gave {size} items; the step allows {limit:,} (max_items)")
    return items


def constant_fan_out_problem(env: jinja2.Environment, expr: str, limit: int) -> str | None:
    """For a for_each expression that reads no variable (``range(10**6)``, ``[1, 2]``): why its
    value cannot be fanned out over, or None when it can. It is evaluated in the sandbox, so a
    hostile expression is refused, not computed."""
    try:
        value = env.compile_expression(expr, undefined_to_none=False)()
        fan_out_items(value, limit)
    except FanOutError as exc:
        return f"for_each '{expr}' {exc}"
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        return f"for_each '{expr}' cannot be evaluated: {exc}"
    except (RecursionError, MemoryError):
        return f"for_each '{expr}' is too complex to evaluate"
    return None


def output_shape(step: StepSpec) -> str:
    """'list', 'mapping', 'text' or 'any': what a step's output is, as far as is known."""
    if step.for_each is not None:
        return "list"
    p = step.parse
    if step.kind == "image":
        return "mapping"
    if isinstance(p, TextParse):
        return "text"
    if isinstance(p, JsonParse):
        t = (p.static_schema() or {}).get("type")
        return {"array": "list", "object": "mapping", "string": "text"}.get(str(t), "any")
    if isinstance(p, (RegexParse, SectionsParse)):
        return "list" if p.multiple else "mapping"
    if isinstance(p, CustomParse):
        return "any"
    return "list"
