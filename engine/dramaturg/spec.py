"""The chain file schema (pydantic). Pure data: no I/O, no templates, no models.

A chain file is YAML::

    name: hello
    prompts: ../prompts/hello          # folders holding the step templates
    inputs:
      topic: {type: string, required: true}
    models:
      writer: {provider: local, temperature: 0.8, max_tokens: 200}
    steps:
      title:
        prompt: title.j2               # a file in a prompt folder ({text: "..."} for inline)
        model: writer
      ideas:
        prompt: {text: "Three ideas about {{ topic }} titled {{ title }}"}
        parse: lines
      expand:
        for_each: ideas                # one call per item of a list from upstream
        as: idea
        prompt: {text: "Expand: {{ idea }}"}
    outputs: [title, expand]
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from .spec_parts import (
    BUILTIN_PARSERS,
    CustomParse,
    JsonParse,
    LinesParse,
    LoopGuard,
    ParseSpec,
    PromptRef,
    RegexParse,
    SchemaSpec,
    SectionsParse,
    TextParse,
)
from .spec_parts import Strict as _Strict

__all__ = [
    "BUILTIN_PARSERS",
    "IDENT",
    "RESERVED_NAMES",
    "ChainSpec",
    "CustomParse",
    "ExportSpec",
    "GenerationOptions",
    "InputName",
    "InputSpec",
    "InputType",
    "JsonParse",
    "LinesParse",
    "LoopGuard",
    "ModelName",
    "ModelSpec",
    "ParseSpec",
    "PromptRef",
    "RegexParse",
    "SchemaSpec",
    "SectionsParse",
    "StepId",
    "StepSpec",
    "TextParse",
    "json_schema",
]

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
StepId = Annotated[str, StringConstraints(pattern=IDENT, max_length=64)]
InputName = Annotated[str, StringConstraints(pattern=IDENT, max_length=64)]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", max_length=64)]

#: Names a step id, input or ``as`` variable may not take (Jinja globals and per-item variables).
RESERVED_NAMES = frozenset(
    {
        "index",
        "loop",
        "range",
        "dict",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "self",
        "inputs",
        "steps",
    }
)

InputType = Literal["string", "integer", "number", "boolean", "list", "object"]


class InputSpec(_Strict):
    """A run input, set with ``--set name=value`` or ``--inputs file``."""

    type: InputType = "string"
    description: str = ""
    default: Any = None
    required: bool | None = Field(None, description="Defaults to true when no default is given.")
    choices: list[Any] | None = Field(None, description="Allowed values.")

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return self.required
        return "default" not in self.model_fields_set


class GenerationOptions(_Strict):
    """Sampling and generation options; set on a model and overridden per step."""

    temperature: float | None = Field(None, ge=0, le=5)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | Annotated[str, StringConstraints(pattern=r"^\$[A-Za-z_][A-Za-z0-9_]*$")] | None = (
        Field(None, description="A number, or $name to take it from an integer input.")
    )
    stop: list[str] | None = Field(None, description="Stop sequences (a string or a list).")
    repeat_penalty: float | None = Field(None, ge=0)
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    timeout: float | None = Field(None, gt=0, description="Seconds per model call.")
    # image options
    width: int | None = Field(None, ge=16, le=8192)
    height: int | None = Field(None, ge=16, le=8192)
    aspect_ratio: str | None = Field(None, pattern=r"^\d+:\d+$")
    negative_prompt: str | None = None
    style_preset: str | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Provider-specific options.")

    @property
    def seed_number(self) -> int | None:
        """The seed once resolved for a run (``$input`` references are resolved by then)."""
        return self.seed if isinstance(self.seed, int) else None

    @model_validator(mode="before")
    @classmethod
    def _stop_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("stop"), str):
            data = {**data, "stop": [data["stop"]]}
        return data


class ModelSpec(GenerationOptions):
    """A named model configuration. Shorthand: ``writer: "cohere:command-a-03-2025"``."""

    provider: str = Field(description="Provider name, e.g. local, cohere, langchain, fake.")
    model: str | None = Field(None, description="Model name; the provider's default when empty.")
    concurrency: int | None = Field(
        None, ge=1, description="Calls in flight to this model at most."
    )
    retries: int | None = Field(
        None, ge=0, le=20, description="Extra tries after a transient error (rate limit, 5xx)."
    )
    rate_limit: float | None = Field(
        None, gt=0, description="Requests per second at most to this model."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            provider, _, model = data.partition(":")
            return {"provider": provider, "model": model or None}
        return data

    def options(self) -> GenerationOptions:
        return GenerationOptions.model_validate(
            self.model_dump(
                exclude={"provider", "model", "concurrency", "retries", "rate_limit"},
                exclude_unset=True,
            )
        )

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider


class StepSpec(_Strict):
    """One prompt step."""

    description: str = ""
    kind: Literal["text", "image"] = "text"
    prompt: PromptRef = Field(description="A template file name, or {file: ...} / {text: ...}.")
    system: PromptRef | None = Field(None, description="System prompt: inline text or {file: ...}.")
    model: ModelName | None = Field(None, description="A name from 'models' (default: 'default').")
    needs: list[StepId] = Field(default_factory=list, description="Extra dependencies.")
    for_each: str | None = Field(
        None,
        description="Fan-out: an expression giving a list, e.g. 'plot' or "
        "\"plot | map(attribute='place') | unique | list\".",
    )
    as_: StepId = Field("item", alias="as", description="The item's variable name in for_each.")
    max_items: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="for_each: the most items the step may fan out over; more fail the step "
        "(a guard against runaway fan-outs).",
    )
    parse: ParseSpec = Field(default_factory=TextParse)
    options: GenerationOptions = Field(default_factory=GenerationOptions)
    attempts: int = Field(3, ge=1, le=10, description="Tries when output fails to parse.")
    cache: Literal["default", "recompute", "disable"] = Field(
        "default",
        description="The step cache: default (reuse a cached result of the same call), "
        "recompute (always call the model and replace the cached result) or disable (neither "
        "read nor write it).",
    )
    continue_: PromptRef | None = Field(
        None,
        alias="continue",
        description="What `dramaturg continue` asks, after the step's answer, to extend it: "
        "inline text or {file: ...}, rendered with the step's variables (default: to go on in "
        "the same format without repeating).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("prompt"), str):
            data["prompt"] = {"file": data["prompt"]}
        for key in ("system", "continue"):
            if isinstance(data.get(key), str):
                data[key] = {"text": data[key]}
        parse = data.get("parse")
        if isinstance(parse, str):
            data["parse"] = (
                {"type": parse} if parse in BUILTIN_PARSERS else {"type": "custom", "name": parse}
            )
        elif isinstance(parse, dict) and "name" not in parse:
            kind = parse.get("type")
            if isinstance(kind, str) and kind not in (*BUILTIN_PARSERS, "custom"):
                # {type: dramatron.scenes, schema: ...} names a custom parser
                data["parse"] = {**parse, "type": "custom", "name": kind}
        return data


class ExportSpec(_Strict):
    """An exporter run after the chain, e.g. ``{type: screenplay, options: {...}}``."""

    type: str = Field(description="A registered exporter (see `dramaturg exporters`).")
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data


class ChainSpec(_Strict):
    """A chain: inputs, models, and a DAG of steps."""

    version: Literal[1] = 1
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
    description: str = ""
    prompts: list[str] = Field(
        default_factory=list,
        description="Template folders, relative to the chain file (first match wins).",
    )
    inputs: dict[InputName, InputSpec] = Field(default_factory=dict)
    models: dict[ModelName, ModelSpec] = Field(default_factory=dict)
    steps: dict[StepId, StepSpec] = Field(min_length=1)
    outputs: list[StepId] | None = Field(
        None, description="Steps forming the result (default: all)."
    )
    exports: list[ExportSpec] = Field(
        default_factory=list, description="Exporters run after a successful run."
    )

    @model_validator(mode="before")
    @classmethod
    def _prompts_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("prompts"), str):
            data = {**data, "prompts": [data["prompts"]]}
        return data

    def output_steps(self) -> list[str]:
        return list(self.outputs) if self.outputs is not None else list(self.steps)


def json_schema() -> dict[str, Any]:
    """The chain file format as JSON Schema (for editor autocompletion).

    Pydantic describes the full forms; the shorthands the loader also accepts are added here:
    ``prompts: dir``, ``prompt: file.j2``, ``system: "text"``, ``parse: lines``,
    ``stop: "###"`` and ``writer: "provider:model"``.
    """
    schema = ChainSpec.model_json_schema(by_alias=True)
    defs = schema["$defs"]

    def either(prop: dict[str, Any], alt: dict[str, Any]) -> dict[str, Any]:
        keep: dict[str, Any] = {
            k: prop.pop(k) for k in ("description", "title", "default") if k in prop
        }
        return {**keep, "anyOf": [alt, prop]}

    props = schema["properties"]
    props["prompts"] = either(props["prompts"], {"type": "string"})
    step = defs["StepSpec"]["properties"]
    step["prompt"] = either(step["prompt"], {"type": "string", "description": "a template file"})
    for key in ("system", "continue"):
        step[key] = either(step[key], {"type": "string", "description": "inline text"})
    step["parse"] = either(
        step["parse"],
        {"type": "string", "description": "text, lines, json, or a registered parser name"},
    )
    for name in ("GenerationOptions", "ModelSpec"):
        stop = defs[name]["properties"]["stop"]
        defs[name]["properties"]["stop"] = either(stop, {"type": "string"})
    defs["ModelSpec"] = {
        "anyOf": [
            {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_.-]+(:.*)?$",
                "description": "provider or provider:model",
            },
            defs["ModelSpec"],
        ]
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Dramaturg chain"
    return schema
