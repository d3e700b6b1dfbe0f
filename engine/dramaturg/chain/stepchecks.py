"""The checks of a step's ``for_each`` and ``parse`` settings, part of checking a chain
(:mod:`dramaturg.chain.validate`)."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import regex

from ..spec import (
    CustomParse,
    InputSpec,
    JsonParse,
    RegexParse,
    SectionsParse,
    StepSpec,
    TextParse,
)
from . import patterns
from .fanout import constant_fan_out_problem, output_shape
from .parsers import custom_parsers, schema_problem
from .problems import Ctx, unknown
from .templates import Templates

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_for_each(
    ctx: Ctx,
    step: StepSpec,
    base: tuple[Any, ...],
    templates: Templates,
    inputs: dict[str, InputSpec],
    known_steps: set[str],
    steps: dict[str, StepSpec],
) -> tuple[list[str], list[str]]:
    """Check a fan-out step's ``for_each``; return the steps and inputs it reads."""
    expr = step.for_each or ""
    path = (*base, "for_each")
    try:
        found = templates.analyse("{{ " + expr + " }}", ctx.source.file, compile_check=False)
        names = {u.name for u in found.uses}
        for message, _ in found.unsafe:
            ctx.add(path, message, hint="for_each runs in the templates' sandbox", value=True)
    except jinja2.TemplateSyntaxError as exc:
        ctx.add(
            path,
            f"for_each is not a valid expression: {exc.message}",
            hint="e.g. for_each: plot  or  for_each: \"plot | map(attribute='place') | list\"",
            value=True,
        )
        return [], []
    if not names and (problem := constant_fan_out_problem(templates.env, expr, step.max_items)):
        hint = "fan out over a smaller list, or raise the step's max_items if that is intended"
        ctx.add(path, problem, hint=hint, value=True)
    deps, used = [], []
    for n in sorted(names):
        if n in inputs:
            used.append(n)
        elif n == base[1]:
            ctx.add(path, f"step '{n}' iterates over its own output", value=True)
        elif n in known_steps:
            deps.append(n)
        else:
            unknown(ctx, path, "step or input", n, sorted([*inputs, *known_steps]))
    # a bare name can be checked for being a list now; expressions are checked at run time
    if IDENT.match(expr.strip()):
        name = expr.strip()
        if name in inputs and inputs[name].type != "list":
            ctx.add(
                path,
                f"for_each over input '{name}' of type {inputs[name].type}, not a list",
                hint="declare the input with type: list",
                value=True,
            )
        elif name in steps and output_shape(steps[name]) not in ("list", "any"):
            ctx.add(
                path,
                f"for_each over step '{name}', whose output is a "
                f"{output_shape(steps[name])}, not a list",
                hint="give that step a list parser (lines, sections with multiple: true, "
                "regex with multiple: true, or json with an array schema)",
                value=True,
            )
    return deps, used


def check_parse(ctx: Ctx, step: StepSpec, base: tuple[Any, ...]) -> None:
    """Check a step's parser settings: patterns, schemas, fields, the parser's name."""
    p, path = step.parse, (*base, "parse")
    if step.kind == "image" and not isinstance(p, TextParse):
        ctx.add(path, "image steps do not parse output", hint="remove 'parse'")
    if isinstance(p, RegexParse):
        try:
            compiled = patterns.compiled(p.pattern, tuple(p.flags))
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            ctx.add((*path, "pattern"), f"invalid regular expression: {exc}", value=True)
        else:
            if not compiled.groupindex:
                ctx.add(
                    (*path, "pattern"),
                    "the pattern has no named groups",
                    hint="name what you want to keep: (?P<name>...)",
                    value=True,
                )
    elif (
        isinstance(p, (JsonParse, CustomParse))
        and (static := p.static_schema()) is not None
        and (problem := schema_problem(static)) is not None
    ):
        ctx.add((*path, "schema"), f"invalid JSON schema: {problem}", value=True)
    if isinstance(p, SectionsParse):
        keys = p.labels()
        if not keys:
            ctx.add((*path, "fields"), "'fields' is empty", value=True)
        for k in p.required or []:
            if k not in keys:
                unknown(ctx, (*path, "required"), "field", k, list(keys))
    elif isinstance(p, CustomParse) and p.name not in custom_parsers():
        known = custom_parsers().names()
        ctx.add(
            path,
            f"no parser named '{p.name}' is registered",
            hint="built-in: text, lines, json, regex, sections; register others with "
            "dramaturg.register_parser()" + (f"; registered: {', '.join(known)}" if known else ""),
            value=True,
        )
