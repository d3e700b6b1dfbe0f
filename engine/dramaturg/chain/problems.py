"""Collecting chain problems: the context they are added to, pydantic's errors mapped to file
positions and hints, and the salvage of valid entries so that the semantic checks can run on
them even when other parts of the file are invalid."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Location, Problem
from ..source import Source
from ..spec import (
    ChainSpec,
    CustomParse,
    GenerationOptions,
    InputSpec,
    JsonParse,
    ModelSpec,
    PromptRef,
    RegexParse,
    SectionsParse,
    StepSpec,
)

_ALL_FIELDS = sorted(
    {
        f.alias or name
        for model in (
            ChainSpec,
            StepSpec,
            ModelSpec,
            InputSpec,
            PromptRef,
            GenerationOptions,
            JsonParse,
            RegexParse,
            SectionsParse,
            CustomParse,
        )
        for name, f in model.model_fields.items()
    }
)


@dataclass
class Ctx:
    source: Source
    path: Path
    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        path: tuple[Any, ...],
        message: str,
        hint: str = "",
        location: Location | None = None,
        value: bool = False,
    ) -> None:
        key = ".".join(str(p) for p in path)
        where = location or self.source.locate(path, prefer_value=value)
        self.problems.append(Problem(message, where, key=key, hint=hint))


# -- schema errors ---------------------------------------------------------------------------
def pydantic_problems(ctx: Ctx, exc: ValidationError, data: Any) -> None:
    for err in exc.errors(include_url=False):
        path: list[Any] = []
        node = data
        for part in err["loc"]:
            present = (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and part < len(node)
            )
            if present:
                path.append(part)
                node = node[part]
            elif err["type"] == "extra_forbidden" and part == err["loc"][-1]:
                path.append(part)
        etype, msg, hint = err["type"], err["msg"], ""
        if etype == "extra_forbidden":
            bad = str(path[-1]) if path else "?"
            msg = f"unknown key '{bad}'"
            close = difflib.get_close_matches(bad, _ALL_FIELDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "remove it; see `dramaturg schema`"
        elif etype == "missing":
            msg = f"missing required key '{err['loc'][-1]}'"
        elif etype == "string_pattern_mismatch":
            msg = f"invalid name {err.get('input')!r}"
            hint = "use letters, digits and underscores, starting with a letter"
        elif etype == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif etype.endswith(("_type", "_parsing")) and "input" in err:
            got = repr(err["input"])
            msg = f"{msg}, got {got if len(got) <= 60 else got[:57] + '...'}"
            if err["loc"] in (("steps",), ("models",), ("inputs",)):
                hint = f"'{err['loc'][0]}' is a mapping of names to settings (see chains/)"
        elif etype == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag", err.get("input"))
            msg = f"unknown parser type {tag!r}"
            hint = "use text, lines, json, regex, sections or a registered custom parser"
        # a bad mapping key (loc ends with '[key]') is at the key, not at its value
        on_key = etype == "extra_forbidden" or err["loc"][-1:] == ("[key]",)
        ctx.add(tuple(path), msg, hint=hint, value=not on_key)


@dataclass
class Parts:
    inputs: dict[str, InputSpec]
    models: dict[str, ModelSpec]
    steps: dict[str, StepSpec]
    prompts: list[str]
    broken_inputs: set[str]
    broken_models: set[str]
    broken_steps: set[str]


def salvage(data: dict[str, Any]) -> Parts:
    """Validate each entry on its own, so semantic checks still run on the valid ones."""

    def each(key: str, model: type[BaseModel]) -> tuple[dict[str, Any], set[str]]:
        good: dict[str, Any] = {}
        bad: set[str] = set()
        section = data.get(key)
        if not isinstance(section, dict):
            return good, bad
        for name, value in section.items():
            try:
                good[str(name)] = model.model_validate(value)
            except ValidationError:
                bad.add(str(name))
        return good, bad

    inputs, bi = each("inputs", InputSpec)
    models, bm = each("models", ModelSpec)
    steps, bs = each("steps", StepSpec)
    prompts = data.get("prompts", [])
    prompts = [prompts] if isinstance(prompts, str) else prompts
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        prompts = []
    return Parts(inputs, models, steps, prompts, bi, bm, bs)


def unknown(
    ctx: Ctx,
    path: tuple[Any, ...],
    what: str,
    name: str,
    known: list[str],
    location: Location | None = None,
) -> None:
    close = difflib.get_close_matches(name, known, n=1)
    plural = what.replace(" or ", "s or ") + "s"
    hint = (
        f"did you mean '{close[0]}'?"
        if close
        else (f"known {plural}: {', '.join(known)}" if known else f"no {plural} are declared")
    )
    ctx.add(path, f"unknown {what} '{name}'", hint=hint, location=location, value=True)
