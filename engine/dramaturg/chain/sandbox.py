"""The Jinja2 sandbox prompts are rendered in: no Python internals, and bounded work.

Jinja's own sandbox refuses unsafe attributes (``__class__``, ``__globals__``...) when a template
runs. On top of it, this environment bounds what a hostile template can make the engine do:

* operators that multiply sizes (``*``, ``**``, ``+``, ``%``, ``~``), the padding filters
  (``center``, ``indent``, ``format``...), ``str.format`` widths and ``lipsum`` refuse results
  larger than :data:`MAX_SIZE` characters or items;
* ``range`` is limited to :data:`MAX_RANGE_TOTAL` items in one rendering (nested loops too);
* constant expressions are not folded while a template is compiled or analysed, so checking a
  chain never computes ``9**999999999`` or ``'a' * 10**12``.

:func:`unsafe_uses` finds the attribute reads the sandbox would refuse before anything runs, so
validation reports them with the template's line.
"""

from __future__ import annotations

import contextvars
import io
import math
import re
import string
from collections.abc import Callable, Iterator
from functools import wraps
from types import CodeType
from typing import Any

from jinja2 import Environment, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_FUNCTION_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    UNSAFE_METHOD_ATTRIBUTES,
    SandboxedEnvironment,
)
from jinja2.utils import generate_lorem_ipsum

#: the largest string or list (characters or items) one template operation may build
MAX_SIZE = 10_000_000
#: the largest width or precision in a format string or padding filter
MAX_WIDTH = 10_000
#: the items ``range`` may produce in one rendering, all calls together
MAX_RANGE_TOTAL = 1_000_000
#: the largest power: about this many bits in the result
MAX_POWER_BITS = 100_000

_UNSAFE_NAMES = (
    UNSAFE_FUNCTION_ATTRIBUTES
    | UNSAFE_METHOD_ATTRIBUTES
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
    | {"mro"}
)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_range_used: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "dramaturg_range_used", default=None
)


class TemplateLimitError(SecurityError):
    """A template tried to build something larger than the sandbox allows."""


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


def _check_size(n: int, what: str) -> None:
    if n > MAX_SIZE:
        raise TemplateLimitError(
            f"{what} would hold {n:,} characters or items (limit {MAX_SIZE:,})"
        )


def _check_width(n: Any, what: str) -> None:
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) > MAX_WIDTH:
        raise TemplateLimitError(f"{what} {n:,} is too large (limit {MAX_WIDTH:,})")


def check_percent_format(text: str) -> None:
    """Refuse ``%``-format widths and precisions over MAX_WIDTH (and ``*`` ones)."""
    for m in _PERCENT.finditer(text):
        for part in m.groups():
            if part == "*":
                raise TemplateLimitError("'*' widths are not allowed in format strings")
            if part is not None:
                _check_width(int(part), "a format width")


def check_brace_format(text: str) -> None:
    """Refuse ``str.format`` widths over MAX_WIDTH and nested (computed) format specs."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises its own error
    for _, _, spec, _ in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("computed widths ('{:{}}') are not allowed in format strings")
        for number in re.findall(r"\d+", spec):
            _check_width(int(number), "a format width")


def _binop_limits(operator: str, left: Any, right: Any) -> None:
    if operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            bits = right * math.log2(abs(left))
            if bits > MAX_POWER_BITS:
                raise TemplateLimitError(f"{left} ** {right} is too large to compute")
    elif operator == "*":
        for seq, n in ((left, right), (right, left)):
            size = _sized(seq)
            if size is not None and isinstance(n, int):
                _check_size(size * n, "a repeated string or list")
    elif operator == "+":
        a, b = _sized(left), _sized(right)
        if a is not None and b is not None:
            _check_size(a + b, "a joined string or list")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left)


def _guard(fn: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    """A filter that runs ``check(*args, **kwargs)`` (its own arguments) first."""

    @wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return fn(*args, **kwargs)

    return guarded


def _value_and_options(args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """A filter's value and its options, past the environment or context that filters marked
    pass_environment (and friends) receive first."""
    rest = list(args)
    while rest and isinstance(rest[0], (Environment, EvalContext, Context)):
        rest.pop(0)
    return (rest[0] if rest else None), tuple(rest[1:])


def _check_padding(*args: Any, **kwargs: Any) -> None:
    for option in (*_value_and_options(args)[1], *kwargs.values()):
        _check_width(option, "a width")


def _check_format_filter(*args: Any, **kwargs: Any) -> None:
    text = _value_and_options(args)[0]
    if isinstance(text, str):
        check_percent_format(text)


def _check_replace(*args: Any, **kwargs: Any) -> None:
    value, options = _value_and_options(args)
    old = options[0] if options else kwargs.get("old")
    new = options[1] if len(options) > 1 else kwargs.get("new")
    if isinstance(value, str) and old == "" and isinstance(new, str):
        _check_size(len(value) * (len(new) + 1), "a replaced string")


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    used = _range_used.get()
    if used is not None:
        used[0] += len(rng)
        if used[0] > MAX_RANGE_TOTAL:
            raise TemplateLimitError(
                f"range() gave more than {MAX_RANGE_TOTAL:,} items in one template"
            )
    elif len(rng) > MAX_RANGE_TOTAL:
        raise TemplateLimitError(f"range({len(rng):,} items) is too large")
    return rng


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _check_width(n * max, "lipsum's size")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _bounded_concat(values: tuple[Any, ...]) -> str:
    out = "".join(map(str, values))
    _check_size(len(out), "a joined string")
    return out


class _CodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join (Jinja's own join is not interceptable)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _TrackingGenerator(_CodeGenerator):
    """Generates the code and, in the same pass, records the variables a template reads from
    its context (what ``jinja2.meta.find_undeclared_variables`` computes in a pass of its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.undeclared: set[str] = set()

    def enter_frame(self, frame: Frame) -> None:
        super().enter_frame(frame)
        for action, param in frame.symbols.loads.values():
            if action == "resolve" and param not in self.environment.globals:
                self.undeclared.add(param)


def compile_tracking(
    env: SandboxedEnvironment, ast: nodes.Template, filename: str | None
) -> tuple[CodeType, set[str]]:
    """(code, variables read) of a parsed template, compiled once; ``filename`` None names the
    code ``<template>``, as ``Environment.from_string`` does."""
    stream = io.StringIO()
    gen = _TrackingGenerator(env, None, filename, stream, False, env.optimized)
    gen.visit(ast)
    return compile(stream.getvalue(), filename or "<template>", "exec"), gen.undeclared


class BoundedSandbox(SandboxedEnvironment):
    """A SandboxedEnvironment whose templates cannot build huge values or fold constants."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        for name in ("center", "indent", "batch", "slice"):
            self.filters[name] = _guard(self.filters[name], _check_padding)
        self.filters["format"] = _guard(self.filters["format"], _check_format_filter)
        self.filters["replace"] = _guard(self.filters["replace"], _check_replace)

    def bounded_concat(self, values: tuple[Any, ...]) -> str:
        return _bounded_concat(values)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _binop_limits(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        check_brace_format(value.__self__)
        return wrapped


def render_budget() -> contextvars.Token[list[int] | None]:
    """Start counting ``range`` items for one rendering; pass the token to :func:`end_budget`."""
    return _range_used.set([0])


def end_budget(token: contextvars.Token[list[int] | None]) -> None:
    _range_used.reset(token)


# -- static checks -------------------------------------------------------------------------------
def _format_reaches_internals(text: str) -> bool:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
    except ValueError:
        return False
    return any(re.search(r"(\.|\[)\s*_", f) or re.search(r"\.(mro|gi_|cr_|ag_)", f) for f in fields)


def unsafe_uses(ast: nodes.Template) -> Iterator[tuple[str, int]]:
    """(message, line) for each read of a Python internal the sandbox refuses at render time:
    attributes or keys starting with '_', function and frame internals, format strings reaching
    them."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            arg = node.args[0]
            name = arg.value if isinstance(arg, nodes.Const) else None
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "format"
            and isinstance(node.node.node, nodes.Const)
            and isinstance(node.node.node.value, str)
            and _format_reaches_internals(node.node.node.value)
        ):
            text = node.node.node.value
            yield f"template formats {text!r}, which reads a Python internal", int(node.lineno)
            continue
        if isinstance(name, str) and (name.startswith("_") or name in _UNSAFE_NAMES):
            yield f"template reads '{name}', a Python internal", int(node.lineno)
