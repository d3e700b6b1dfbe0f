"""The building blocks of the chain file schema (:mod:`dramaturg.spec`): the strict base model,
template references, and a step's ``parse`` settings with their loop guard. Pure data."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


class Strict(BaseModel):
    """A schema model that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PromptRef(Strict):
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


class LoopGuard(Strict):
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


class _Parse(Strict):
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
