"""Answer schemas written as templates: rendered per call from the step's variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dramaturg import ChainError, FakeChatModel, load_chain

# each line gets a schema that only admits the speakers known for it
CHAIN = """
name: speakers
prompts: ../prompts
models:
  default: {provider: fake, seed: 3}
inputs:
  cast: {type: list, default: [Mara, Orin, Ida]}
steps:
  lines:
    for_each: cast
    as: speaker
    prompt: {text: "A line for {{ speaker }}"}
    parse:
      type: json
      schema: {file: line.yaml.j2}
"""

SCHEMA = """\
# the answer: who speaks (only the current speaker) and what they say
type: object
required: [character, line]
properties:
  character: {enum: {{ [speaker] | tojson }}}
  line: {type: string, minLength: 3}
"""


def write(project: Any, chain: str = CHAIN, schema: str = SCHEMA) -> Path:
    return project(chain, templates={"line.yaml.j2": schema})  # type: ignore[no-any-return]


def test_schema_rendered_per_item_reaches_the_model_and_the_parser(project, tmp_path):
    fake = FakeChatModel()
    result = load_chain(write(project)).run(models={"default": fake}, out=tmp_path)
    assert result.ok, result.steps["lines"].error
    sent = [c.parse["schema"] for c in sorted(fake.calls, key=lambda c: c.item or 0)]
    assert [s["properties"]["character"]["enum"] for s in sent] == [["Mara"], ["Orin"], ["Ida"]]
    # the fake answers with an instance of each rendered schema
    assert [r["character"] for r in result["lines"]] == ["Mara", "Orin", "Ida"]
    for answer, schema in zip(result["lines"], sent, strict=True):
        jsonschema.validate(answer, schema)


def test_an_answer_outside_the_rendered_schema_is_resampled(project, tmp_path):
    wrong = json.dumps({"character": "Orin", "line": "Not my line."})
    right = json.dumps({"character": "Mara", "line": "My line."})
    fake = FakeChatModel(responses={"lines/0": [wrong, right]})
    result = load_chain(write(project)).run(models={"default": fake}, out=tmp_path)
    assert result["lines"][0] == {"character": "Mara", "line": "My line."}
    assert [c.attempt for c in fake.calls if c.item == 0] == [0, 1]


def test_schema_template_variables_make_dependencies(project):
    chain = CHAIN.replace("as: speaker", "as: speaker\n    needs: []") + (
        "  names:\n    prompt: {text: names}\n    parse: lines\n"
    )
    schema = SCHEMA.replace("[speaker] | tojson", "names | tojson")
    loaded = load_chain(write(project, chain, schema))
    assert loaded.dependencies("lines") == ("names",)


def test_unknown_variable_in_a_schema_template_is_reported_at_its_line(project):
    with pytest.raises(ChainError) as err:
        load_chain(write(project, schema=SCHEMA.replace("[speaker]", "[speeker]")))
    (problem,) = err.value.problems
    assert problem.message == "template variable 'speeker' is not provided by any input or step"
    assert problem.location.file.endswith("line.yaml.j2")
    assert problem.location.line == 5
    assert problem.key == "steps.lines.parse.schema"


def test_a_schema_template_that_renders_no_schema_fails_the_step_clearly(project, tmp_path):
    path = write(project, schema="type: [unclosed\n")
    result = load_chain(path).run(models={"default": FakeChatModel()}, out=tmp_path)
    step = result.steps["lines"]
    assert step.status == "failed"
    assert "the schema template line.yaml.j2 did not give a JSON schema" in (step.error or "")
    assert "YAML syntax error" in (step.error or "")
