"""Check a chain completely before anything runs; report every problem at once with file:line.

Schema problems come from pydantic; then the meaning is checked: prompt folders, templates
(existence, syntax, the variables they read), references to steps, inputs and models, providers,
``for_each`` sources, parser settings, outputs and cycles.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import jinja2
from pydantic import ValidationError

from ..errors import ChainError, Location
from ..providers import get_registry
from ..source import Source
from ..spec import (
    RESERVED_NAMES,
    ChainSpec,
    InputSpec,
    PromptRef,
)
from . import graph as graphs
from .checked import (  # noqa: F401  (re-exported: the checked chain's home before)
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TEXT_MODEL,
    IMPLICIT_MODELS,
    PER_ITEM_VARIABLES,
    Checked,
    StepPlan,
    model_name_for,
    resolved_models,
)
from .problems import (
    Ctx,
    Parts,
    pydantic_problems,
    salvage,
    unknown,
)
from .stepchecks import check_for_each, check_parse
from .templates import Templates

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def prompt_dirs_for(chain_path: Path, prompts: list[str], extra: list[Path]) -> list[Path]:
    base = chain_path.parent
    own = [(base / p) for p in prompts] or [base]
    return [*extra, *own]


def check(source: Source, chain_path: Path, template_dirs: list[Path] | None = None) -> Checked:
    """Validate a parsed chain file. Raises ChainError listing every problem."""
    ctx = Ctx(source, chain_path)
    data = source.data
    if not isinstance(data, dict):
        ctx.add(
            (),
            "a chain file must be a mapping with at least 'name' and 'steps'",
            hint="see `dramaturg schema` or chains/ for examples",
        )
        raise ChainError(ctx.problems, path=source.file)
    spec: ChainSpec | None = None
    try:
        spec = ChainSpec.model_validate(data)
    except ValidationError as exc:
        pydantic_problems(ctx, exc, data)
    parts = (
        salvage(data)
        if spec is None
        else Parts(spec.inputs, spec.models, spec.steps, spec.prompts, set(), set(), set())
    )
    templates, dirs = _check_prompt_dirs(ctx, parts.prompts, template_dirs or [])
    plans = _check_steps(ctx, parts, templates)
    offsets = {
        (sid, key): (
            source.value_line(("steps", sid, key, "text"))
            or source.value_line(("steps", sid, key))
            or 1
        )
        - 1
        for sid in parts.steps
        for key in ("prompt", "system", "continue")
    }
    for sid in parts.steps:
        where = ("steps", sid, "parse", "schema")
        offsets[(sid, "schema")] = (
            source.value_line((*where, "text")) or source.value_line(where) or 1
        ) - 1
    if spec is not None and spec.outputs:
        for i, out in enumerate(spec.outputs):
            if out not in parts.steps:
                unknown(ctx, ("outputs", i), "step", out, list(parts.steps))
    if spec is not None:
        from .exporters import exporters

        for i, exp in enumerate(spec.exports):
            if exp.type not in exporters():
                unknown(ctx, ("exports", i), "exporter", exp.type, exporters().names())
    _check_cycles(ctx, plans)
    if ctx.problems or spec is None:
        raise ChainError(ctx.problems, path=source.file)
    return Checked(spec, plans, templates, dirs, offsets, override_dirs=list(template_dirs or []))


# -- prompt folders and templates ------------------------------------------------------------
def _check_prompt_dirs(
    ctx: Ctx, prompts: list[str], extra: list[Path]
) -> tuple[Templates, list[Path]]:
    root = ctx.path.resolve().parent.parent
    for i, p in enumerate(prompts):
        where = (
            ("prompts", i)
            if "prompts" in ctx.source.data and isinstance(ctx.source.data["prompts"], list)
            else ("prompts",)
        )
        target = (ctx.path.parent / p).resolve()
        if Path(p).is_absolute() or not (target == root or root in target.parents):
            ctx.add(
                where,
                f"prompt folder '{p}' is outside the chain's project folder",
                hint=f"keep templates under {root}; pass other folders with --templates",
                value=True,
            )
        elif not target.is_dir():
            ctx.add(where, f"prompt folder '{p}' does not exist ({target})", value=True)
    dirs = prompt_dirs_for(ctx.path, prompts, extra)
    return Templates(dirs), dirs


def _template_vars(
    ctx: Ctx, templates: Templates, ref: PromptRef, path: tuple[Any, ...]
) -> tuple[dict[str, Location], list[str]] | None:
    """Variables read by a template, with their location; None when it cannot be analysed."""
    try:
        if ref.file is not None:
            text, filename = templates.source(ref.file)
            offset = 0
            files = [filename]
        else:
            text, filename = ref.text or "", ctx.source.file
            first = ctx.source.value_line((*path, "text")) or ctx.source.value_line(path) or 1
            offset = first - 1
            files = []
        found = templates.analyse(text, filename, offset, inline=ref.file is None)
        for message, where in found.unsafe:
            ctx.add(
                path,
                message,
                hint="templates run in a sandbox that refuses these; read the data's own keys",
                location=where,
            )
        return {u.name: u.location for u in found.uses}, files + found.files
    except jinja2.TemplateNotFound as exc:
        folders = ", ".join(str(p) for p in templates.search_paths)
        ctx.add(
            (*path, "file") if ref.file is not None else path,
            f"template '{exc.name}' not found",
            hint=f"looked in: {folders}",
            value=True,
        )
    except jinja2.TemplateSyntaxError as exc:
        line = (exc.lineno or 1) + (
            offset if ref.file is None and exc.filename in (ctx.source.file, None) else 0
        )
        loc = Location(exc.filename or ctx.source.file, line)
        ctx.add(
            path,
            f"template syntax error: {exc.message}",
            hint="check the {{ }} and {% %} tags on this line",
            location=loc,
        )
    return None


def _check_steps(ctx: Ctx, parts: Parts, templates: Templates) -> dict[str, StepPlan]:
    inputs, steps = parts.inputs, parts.steps
    known_steps = set(steps) | parts.broken_steps
    models = resolved_models(parts.models)
    registry = get_registry()
    plans: dict[str, StepPlan] = {}
    order = {sid: i for i, sid in enumerate(steps)}

    for name, spec in inputs.items():
        _check_input(ctx, name, spec)
        if name in RESERVED_NAMES:
            ctx.add(("inputs", name), f"'{name}' is a reserved name", hint="rename the input")

    def check_seed(path: tuple[Any, ...], seed: object) -> None:
        if isinstance(seed, str):
            ref = seed[1:]
            if ref not in inputs:
                unknown(ctx, path, "input", ref, sorted(inputs))
            elif inputs[ref].type != "integer":
                ctx.add(
                    path,
                    f"seed {seed} names input '{ref}' of type {inputs[ref].type}",
                    hint="declare the input with type: integer",
                    value=True,
                )

    for sid, st in steps.items():
        check_seed(("steps", sid, "options", "seed"), st.options.seed)
    for name, m in parts.models.items():
        check_seed(("models", name, "seed"), m.seed)
        if m.provider not in registry:
            unknown(ctx, ("models", name, "provider"), "provider", m.provider, registry.names())

    for sid, step in steps.items():
        base = ("steps", sid)
        if sid in RESERVED_NAMES:
            ctx.add(base, f"'{sid}' is a reserved name", hint="rename the step")
        if sid in inputs:
            ctx.add(
                base,
                f"step '{sid}' has the same name as an input",
                hint="templates could not tell them apart: rename one",
            )
        # model
        mname = model_name_for(step)
        model = models.get(mname)
        if model is None:
            if mname not in parts.broken_models:
                unknown(ctx, (*base, "model"), "model", mname, list(parts.models))
        elif model.provider in registry:
            provider = registry.get(model.provider)
            if step.kind not in provider.kinds:
                ctx.add(
                    (*base, "kind") if step.model is None else (*base, "model"),
                    f"model '{mname}' ({model.provider}) has no {step.kind} models",
                    hint=f"provider '{model.provider}' offers: {', '.join(provider.kinds)}",
                    value=True,
                )
        elif mname in IMPLICIT_MODELS and mname not in parts.models:
            ctx.add(
                base,
                f"no '{mname}' model is declared and the default provider "
                f"'{model.provider}' is not available",
                hint=f"declare models.{mname} in the chain (e.g. provider: fake)",
            )
        # per-item variables
        local_vars: set[str] = set()
        if step.for_each is not None:
            local_vars = {step.as_, *PER_ITEM_VARIABLES}
            if step.as_ in known_steps or step.as_ in inputs or step.as_ in RESERVED_NAMES:
                ctx.add(
                    (*base, "as"),
                    f"'as: {step.as_}' hides a step or input of that name",
                    hint="choose another item name",
                    value=True,
                )
        elif "as" in (ctx.source.data.get("steps", {}).get(sid) or {}):
            ctx.add((*base, "as"), "'as' is only used with for_each")
        # templates
        reads: dict[str, tuple[Location, str]] = {}  # variable -> (first use, "prompt"|"system")
        files: list[str] = []
        refs: list[tuple[str, PromptRef, tuple[Any, ...]]] = [
            ("prompt", step.prompt, (*base, "prompt"))
        ]
        if step.system:
            refs.append(("system", step.system, (*base, "system")))
        schema = getattr(step.parse, "schema_", None)
        if isinstance(schema, PromptRef):
            refs.append(("schema", schema, (*base, "parse", "schema")))
        for key, ref, where in refs:
            got = _template_vars(ctx, templates, ref, where)
            if got:
                for n, loc in got[0].items():
                    reads.setdefault(n, (loc, key))
                files += got[1]
        deps: list[str] = []
        used_inputs: list[str] = []
        where_of = {key: where for key, _, where in refs}
        for var, (loc, key) in reads.items():
            if var in local_vars:
                continue
            if var in inputs or var in parts.broken_inputs:
                used_inputs.append(var)
            elif var == sid:
                ctx.add(where_of[key], f"step '{sid}' reads its own output", location=loc)
            elif var in known_steps:
                deps.append(var)
            else:
                close = difflib.get_close_matches(var, [*inputs, *known_steps, *local_vars], n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else ("declare it under 'inputs', or add a step with that id")
                )
                ctx.add(
                    where_of[key],
                    f"template variable '{var}' is not provided by any input or step",
                    hint=hint,
                    location=loc,
                )
        # fan-out source
        if step.for_each is not None:
            fe = check_for_each(ctx, step, base, templates, inputs, known_steps, steps)
            deps += [d for d in fe[0] if d not in deps]
            used_inputs += [i for i in fe[1] if i not in used_inputs]
        # explicit needs
        for i, need in enumerate(step.needs):
            if need == sid:
                ctx.add((*base, "needs", i), f"step '{sid}' needs itself", value=True)
            elif need not in known_steps:
                unknown(ctx, (*base, "needs", i), "step", need, list(steps))
            elif need not in deps:
                deps.append(need)
        check_parse(ctx, step, base)
        if step.continue_ is not None:
            _check_continue(ctx, templates, step.continue_, base, {*local_vars, *inputs, *deps})
        ordered = sorted({d for d in deps if d in order}, key=order.__getitem__)
        plans[sid] = StepPlan(
            sid, tuple(ordered), tuple(sorted(set(used_inputs))), tuple(dict.fromkeys(files)), mname
        )
    return plans


def _check_continue(
    ctx: Ctx, templates: Templates, ref: PromptRef, base: tuple[Any, ...], known: set[str]
) -> None:
    """A continue prompt reads what its step's prompt can (it is not in the step's cache key)."""
    path = (*base, "continue")
    got = _template_vars(ctx, templates, ref, path)
    for name, loc in got[0].items() if got else ():
        if name not in known:
            problem = f"the continue prompt reads '{name}', which its step does not read"
            hint = "it may read the inputs, the steps the step's prompt reads and its item"
            ctx.add(path, problem, hint=hint, location=loc)


def _check_input(ctx: Ctx, name: str, spec: InputSpec) -> None:
    from .inputs import InputValueError, coerce_value

    if "default" in spec.model_fields_set and spec.default is not None:
        try:
            coerce_value(spec, spec.default)
        except InputValueError as exc:
            ctx.add(("inputs", name, "default"), f"default does not fit: {exc}", value=True)


def _check_cycles(ctx: Ctx, plans: dict[str, StepPlan]) -> None:
    g = graphs.build_graph({s: p.deps for s, p in plans.items()})
    for cycle in graphs.find_cycles(g):
        ctx.add(
            ("steps", cycle[0]),
            "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
            hint="a step cannot depend, directly or through others, on itself",
        )
