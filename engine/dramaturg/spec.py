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

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


class PromptRef(_Strict):
    """A template: ``{file: name.j2}`` (in a prompt folder) or ``{text: "..."}`` (inline)."""

    file: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptRef:
        if (self.file is None) == (self.text is None):
            raise ValueError("give exactly one of 'file' or 'text'")
        return self


#: a JSON Schema, or a template ({file: x.yaml.j2} / {text: ...}) rendering one as YAML or JSON
#: with the step's variables (per fan-out item), e.g. to allow only the known characters' names
SchemaSpec = PromptRef | dict[str, Any]
_SCHEMA_DOC = (
    "JSON Schema of the answer: a mapping, or a template ({file: ...} or {text: ...}) that "
    "renders one (YAML or JSON) from the step's variables. Models that support structured "
    "output are constrained to it (the embedded model through a grammar; Cohere as far as its "
    "schema subset allows) and the fake models answer with an instance of it."
)


class LoopGuard(_Strict):
    """The loop guard of a step's answers (``parse: {..., loops: true}`` or these settings).

    An answer is split into units: the lines of a text, the entries of a list, the records of a
    list of records (the text of their ``fields``). A unit of ``min_words`` or more words that
    repeats another unit of the same answer, or of an earlier item of the same fan-out (case,
    punctuation and spacing aside; ``similarity`` allows near repeats), or that copies
    ``copy_words`` consecutive words of the prompt or of the outputs of the steps the step reads,
    makes the answer be sampled again with the
    next seed, up to ``resamples`` times. The best sample is kept, and what still repeats in it
    is dropped. Every repair is recorded in the step's record and shown in the report.
    """

    fields: list[str] | None = Field(
        None,
        description="The fields of a record checked (default: every string of min_words words).",
    )
    min_words: int = Field(4, ge=1, description="Shorter units are never checked ('Yes.').")
    within: bool = Field(True, description="A unit may not repeat another unit of the answer.")
    across_items: bool = Field(
        True, description="A fan-out item may not repeat a unit of an earlier item."
    )
    similarity: float = Field(
        0.85, gt=0, le=1, description="Word-level likeness that counts as a repeat (1: exact)."
    )
    copy_words: int = Field(
        8,
        ge=0,
        description="This many consecutive words of the prompt, or of the outputs of the steps "
        "the step reads, are a copy (0: off).",
    )
    resamples: int = Field(2, ge=0, le=10, description="New samples before dropping repeats.")


def _loops(value: Any) -> Any:
    """``loops: true`` is the default guard, ``false`` none."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


class _Parse(_Strict):
    loops: LoopGuard | None = Field(
        None, description="The loop guard: true, or its settings (default: off)."
    )

    @field_validator("loops", mode="before")
    @classmethod
    def _loops_shorthand(cls, value: Any) -> Any:
        return _loops(value)


class TextParse(_Parse):
    """The output is the stripped text."""

    type: Literal["text"] = "text"


class LinesParse(_Parse):
    """The output is the list of non-empty lines (bullets and numbering removed)."""

    type: Literal["lines"]
    strip_bullets: bool = True


class JsonParse(_Parse):
    """The output is JSON (code fences and surrounding prose ignored), optionally schema-checked."""

    type: Literal["json"]
    schema_: SchemaSpec | None = Field(
        None,
        alias="schema",
        union_mode="left_to_right",
        description=_SCHEMA_DOC,
    )

    def static_schema(self) -> dict[str, Any] | None:
        return self.schema_ if isinstance(self.schema_, dict) else None


class RegexParse(_Parse):
    """Named groups of a regular expression: one match (a mapping) or all (a list)."""

    type: Literal["regex"]
    pattern: str
    multiple: bool = False
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = Field(default_factory=list)


class SectionsParse(_Parse):
    """Labelled fields such as ``Place:`` / ``Plot element:`` / ``Beat:``.

    ``fields`` is a list of labels (keys become snake_case: ``plot_element``) or a mapping
    key -> label. With ``multiple``, a new record starts whenever the first field appears again;
    records missing a required field are dropped.
    """

    type: Literal["sections"]
    fields: list[str] | dict[str, str]
    multiple: bool = False
    required: list[str] | None = Field(
        None, description="Keys that must be present (all by default)."
    )

    def labels(self) -> dict[str, str]:
        if isinstance(self.fields, dict):
            return dict(self.fields)
        return {re.sub(r"\W+", "_", f.strip().lower()).strip("_"): f for f in self.fields}


class CustomParse(_Parse):
    """A parser registered from Python with ``dramaturg.register_parser(name, fn)``."""

    type: Literal["custom"]
    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    schema_: SchemaSpec | None = Field(
        None,
        alias="schema",
        union_mode="left_to_right",
        description=_SCHEMA_DOC,
    )

    def static_schema(self) -> dict[str, Any] | None:
        return self.schema_ if isinstance(self.schema_, dict) else None


ParseSpec = Annotated[
    TextParse | LinesParse | JsonParse | RegexParse | SectionsParse | CustomParse,
    Field(discriminator="type"),
]
BUILTIN_PARSERS = ("text", "lines", "json", "regex", "sections")


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
