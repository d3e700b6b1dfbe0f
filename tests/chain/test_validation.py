"""Chain validation: every class of error is reported before anything runs, with file:line.

Each test loads a small chain written by the ``project`` fixture and checks what a user sees:
the ChainError, the problem's message, where it points (file and line of the chain file, or of
the template file for template errors), the key path and the hint.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dramaturg.api import load_chain
from dramaturg.chain import parsers
from dramaturg.cli import app
from dramaturg.errors import ChainError, Problem
from dramaturg.providers import get_registry

REPO = Path(__file__).resolve().parents[2]
Project = Callable[..., Path]

#: a chain header with a fake default model (no provider needs to be installed)
HEAD = """\
name: t
prompts: ../prompts
inputs:
  topic: {type: string}
  count: {type: integer, default: 3}
models:
  default: {provider: fake}
  writer: {provider: fake, temperature: 0.5}
"""


def chain(body: str) -> str:
    """HEAD followed by ``body`` (dedented)."""
    return HEAD + textwrap.dedent(body).lstrip("\n")


def problems_of(path: Path, **kwargs: object) -> list[Problem]:
    with pytest.raises(ChainError) as info:
        load_chain(path, **kwargs)  # type: ignore[arg-type]
    assert info.value.problems, "a ChainError must carry at least one problem"
    return info.value.problems


def only_problem(path: Path) -> Problem:
    found = problems_of(path)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """1-based number of the line holding the ``nth`` occurrence of ``needle``."""
    seen = 0
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not found {nth} time(s) in {path}")


def column_of(path: Path, needle: str) -> int:
    line = path.read_text(encoding="utf-8").splitlines()[line_of(path, needle) - 1]
    return line.index(needle) + 1


def same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def assert_at(problem: Problem, file: Path, needle: str, nth: int = 1) -> None:
    """The problem points at the line of ``file`` holding ``needle``."""
    assert same_file(problem.location.file, file), problem
    assert problem.location.line == line_of(file, needle, nth), problem


# -- the valid example ---------------------------------------------------------------------------
def test_shipped_hello_chain_is_valid() -> None:
    c = load_chain(REPO / "chains" / "hello.yaml")
    assert c.steps == ["title", "premises", "paragraphs"]
    assert c.dependencies("title") == ()
    assert c.dependencies("premises") == ("title",)
    assert set(c.dependencies("paragraphs")) == {"title", "premises"}
    assert set(c.inputs_used("premises")) == {"ideas", "topic"}


def test_minimal_valid_chain_in_a_project(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: a.j2
            model: writer
    """),
        {"a.j2": "About {{ topic }}, {{ count }} times."},
    )
    c = load_chain(path)
    assert c.steps == ["a"]
    assert c.inputs_used("a") == ("count", "topic")


# -- 1. unknown keys -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "bad", "key", "suggestion"),
    [
        (
            "descripton: x\nsteps:\n  a: {prompt: {text: hi}}\n",
            "descripton",
            "descripton",
            "description",
        ),
        (
            "steps:\n  a:\n    prompt: {text: hi}\n    for_eac: things\n",
            "for_eac",
            "steps.a.for_eac",
            "for_each",
        ),
        (
            "steps:\n  a:\n    prompt: {text: hi}\n    options: {max_token: 5}\n",
            "max_token",
            "steps.a.options.max_token",
            "max_tokens",
        ),
    ],
    ids=["top-level", "step", "step-options"],
)
def test_unknown_key_is_named_located_and_suggested(
    project: Project, body: str, bad: str, key: str, suggestion: str
) -> None:
    path = project(chain(body))
    p = only_problem(path)
    assert p.key == key
    assert p.message == f"unknown key '{bad}'"
    assert_at(p, path, f"{bad}:")
    assert p.location.column == column_of(path, f"{bad}:")
    assert p.hint == f"did you mean '{suggestion}'?"


def test_unknown_key_in_a_model(project: Project) -> None:
    path = project("""
        name: t
        models:
          writer:
            provider: fake
            temprature: 0.4
        steps:
          a: {prompt: {text: hi}, model: writer}
    """)
    p = only_problem(path)
    assert p.message == "unknown key 'temprature'"
    assert p.key == "models.writer.temprature"
    assert_at(p, path, "temprature:")
    assert "did you mean 'temperature'?" in p.hint


def test_unknown_key_without_near_miss_says_remove(project: Project) -> None:
    path = project(chain("steps:\n  a:\n    prompt: {text: hi}\n    zzzqqq: 1\n"))
    p = only_problem(path)
    assert p.key == "steps.a.zzzqqq"
    assert "did you mean" not in p.hint
    assert "remove" in p.hint


# -- 2. wrong types ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "key", "value", "words"),
    [
        ("attempts: many", "steps.a.attempts", "many", "integer"),
        ("attempts: 0", "steps.a.attempts", "0", "greater than or equal to 1"),
        ("options: {temperature: hot}", "steps.a.options.temperature", "hot", "number"),
        ("needs: other", "steps.a.needs", "other", "list"),
    ],
    ids=["attempts-many", "attempts-zero", "temperature-hot", "needs-string"],
)
def test_wrong_type_in_a_step(
    project: Project, setting: str, key: str, value: str, words: str
) -> None:
    path = project(
        chain(
            f"steps:\n  a:\n    prompt: {{text: hi}}\n    {setting}\n"
            "  other: {prompt: {text: hi}}\n"
        )
    )
    p = only_problem(path)
    assert p.key == key
    assert words in p.message
    assert_at(p, path, setting)
    # the column points at the offending value, not at its key
    assert p.location.column == column_of(path, setting) + setting.index(value)


def test_wrong_type_in_a_model(project: Project) -> None:
    path = project("""
        name: t
        models:
          default: {provider: fake}
          hot_writer:
            provider: fake
            temperature: hot
        steps:
          a: {prompt: {text: hi}, model: hot_writer}
    """)
    p = only_problem(path)
    assert p.key == "models.hot_writer.temperature"
    assert "number" in p.message
    assert_at(p, path, "temperature: hot")
    assert p.location.column == column_of(path, "temperature: hot") + len("temperature: ")


def test_steps_as_a_list_is_a_type_error(project: Project) -> None:
    path = project("""
        name: t
        steps:
          - title
          - ideas
    """)
    p = only_problem(path)
    assert p.key == "steps"
    assert "dictionary" in p.message
    assert_at(p, path, "- title")


def test_missing_required_keys(project: Project) -> None:
    path = project("description: no name, no steps\n")
    found = problems_of(path)
    assert {p.message for p in found} == {
        "missing required key 'name'",
        "missing required key 'steps'",
    }


# -- 3. YAML level -------------------------------------------------------------------------------
def test_yaml_syntax_error_has_line_and_column(project: Project) -> None:
    path = project("""
        name: t
        steps:
          a:
            prompt: x.j2: oops
    """)
    p = only_problem(path)
    assert p.message.startswith("YAML syntax error")
    assert "mapping values are not allowed" in p.message
    assert_at(p, path, "x.j2: oops")
    assert p.location.column == column_of(path, ": oops")
    assert "indentation" in p.hint


def test_duplicate_key_points_at_the_second_one(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: one}
          b:
            prompt: {text: two}
          a:
            prompt: {text: three}
    """)
    )
    p = only_problem(path)
    assert p.message == "duplicate key 'a'"
    assert_at(p, path, "  a:", nth=2)
    assert "once" in p.hint


def test_merge_keys_may_override_but_literal_duplicates_are_refused(project: Project) -> None:
    valid = project("""
        name: t
        models:
          base: &base {provider: fake, temperature: 0.2}
          hot:
            <<: *base
            temperature: 0.9
        steps:
          a: {prompt: {text: hi}, model: hot}
    """)
    c = load_chain(valid)
    assert c.spec.models["hot"].temperature == 0.9
    assert c.spec.models["hot"].provider == "fake"
    assert c.spec.models["base"].temperature == 0.2

    dup = project(
        """
        name: t
        models:
          base: &base {provider: fake}
          hot:
            <<: *base
            temperature: 0.9
            temperature: 0.8
        steps:
          a: {prompt: {text: hi}, model: hot}
    """,
        name="dup",
    )
    p = only_problem(dup)
    assert p.message == "duplicate key 'temperature'"
    assert_at(p, dup, "temperature: 0.8")


def test_non_utf8_bytes_are_reported_with_their_line(project: Project) -> None:
    path = project(chain("steps:\n  a: {prompt: {text: hi}}\n"))
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(1, b"description: caf\xe9 latt\xe9\n")
    path.write_bytes(b"".join(lines))
    p = only_problem(path)
    assert "not valid UTF-8" in p.message
    assert "0xe9" in p.message
    assert p.location.line == 2
    assert p.location.column == len("description: caf") + 1
    assert "UTF-8" in p.hint


def test_billion_laughs_is_refused_quickly(project: Project) -> None:
    bomb = ['lol: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        bomb.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    path = project("name: t\n" + "\n".join(bomb) + "\nsteps: {a: {prompt: {text: hi}}}\n")
    start = time.perf_counter()
    p = only_problem(path)
    assert time.perf_counter() - start < 5
    assert "expands to more than" in p.message
    assert "aliases" in p.hint
    assert same_file(p.location.file, path)


def test_excessive_nesting_is_refused(project: Project) -> None:
    path = project("name: t\ndescription: " + "[" * 80 + "]" * 80 + "\nsteps: {}\n")
    p = only_problem(path)
    assert "nesting deeper" in p.message
    assert p.location.line == 2


@pytest.mark.parametrize(
    "text",
    ["- a\n- b\n", "just a sentence\n", "", "# only a comment\n"],
    ids=["list", "scalar", "empty", "comment-only"],
)
def test_document_that_is_not_a_mapping(project: Project, text: str) -> None:
    path = project(text)
    p = only_problem(path)
    assert "must be a mapping" in p.message
    assert p.location.line == 1
    assert same_file(p.location.file, path)


# -- 4. templates --------------------------------------------------------------------------------
def test_missing_template_file_lists_the_folders_searched(project: Project, tmp_path: Path) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: nowhere.j2
    """),
        {"other.j2": "x"},
    )
    p = only_problem(path)
    assert p.message == "template 'nowhere.j2' not found"
    assert p.key == "steps.a.prompt.file"
    assert_at(p, path, "prompt: nowhere.j2")
    assert p.hint.startswith("looked in: ")
    folders = [Path(f) for f in p.hint.removeprefix("looked in: ").split(", ")]
    assert any(same_file(f, tmp_path / "prompts") for f in folders)


def test_missing_template_also_searches_override_folders(project: Project, tmp_path: Path) -> None:
    path = project(chain("steps:\n  a:\n    prompt: extra.j2\n"))
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    p = problems_of(path, templates=[overrides])[0]
    assert str(overrides) in p.hint
    (overrides / "extra.j2").write_text("{{ topic }}", encoding="utf-8")
    assert load_chain(path, templates=[overrides]).inputs_used("a") == ("topic",)


def test_template_syntax_error_points_into_the_template_file(
    project: Project, tmp_path: Path
) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: broken.j2
    """),
        {"broken.j2": "first line {{ topic }}\nsecond line\nthird {{ topic | }}\nfourth\n"},
    )
    p = only_problem(path)
    template = tmp_path / "prompts" / "broken.j2"
    assert p.message.startswith("template syntax error")
    assert p.key == "steps.a.prompt"
    assert same_file(p.location.file, template)
    assert p.location.line == 3
    assert "{{ }}" in p.hint


@pytest.mark.parametrize(
    "body",
    [
        """
        steps:
          a:
            prompt:
              text: |
                Line one about {{ topic }}
                Line two {% if %}
                Line three
        """,
        """
        steps:
          a:
            prompt: {text: hi}
            system: |
              You are helpful.
              Line two {% if %}
        """,
        """
        steps:
          a:
            prompt: {text: "Line two {% if %}"}
        """,
    ],
    ids=["prompt-block", "system-block", "prompt-flow"],
)
def test_inline_template_syntax_error_points_into_the_chain_file(
    project: Project, body: str
) -> None:
    path = project(chain(body))
    p = only_problem(path)
    assert p.message.startswith("template syntax error")
    assert p.key in ("steps.a.prompt", "steps.a.system")
    assert_at(p, path, "Line two {% if %}")


# -- 5. models and providers ---------------------------------------------------------------------
def test_step_referring_to_an_unknown_model(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: hi}
            model: writr
    """)
    )
    p = only_problem(path)
    assert p.message == "unknown model 'writr'"
    assert p.key == "steps.a.model"
    assert_at(p, path, "model: writr")
    assert p.hint == "did you mean 'writer'?"


def test_unknown_model_without_near_miss_lists_known_models(project: Project) -> None:
    path = project(chain("steps:\n  a:\n    prompt: {text: hi}\n    model: zzz\n"))
    p = only_problem(path)
    assert "default" in p.hint
    assert "writer" in p.hint


@pytest.mark.parametrize("provider", ["openai", "'openai:gpt-x'"])
def test_unknown_provider_lists_known_providers(project: Project, provider: str) -> None:
    spec = f"{{provider: {provider}}}" if ":" not in provider else provider
    path = project(f"""
name: t
models:
  writer: {spec}
steps:
  a: {{prompt: {{text: hi}}, model: writer}}
""")
    p = only_problem(path)
    assert p.message == "unknown provider 'openai'"
    assert p.key == "models.writer.provider"
    assert_at(p, path, "writer:")
    names = get_registry().names()
    assert names, "the registry should know at least one provider"
    assert all(n in p.hint for n in names), p.hint


def test_unknown_provider_near_miss(project: Project) -> None:
    path = project(
        "name: t\nmodels:\n  w: {provider: fak}\nsteps:\n  a: {prompt: {text: hi}, model: w}\n"
    )
    assert only_problem(path).hint == "did you mean 'fake'?"


# -- 6. references to steps ----------------------------------------------------------------------
def test_needs_naming_a_missing_step(project: Project) -> None:
    path = project(
        chain("""
        steps:
          summary:
            prompt: {text: hi}
          final:
            prompt: {text: hi}
            needs: [summary, sumary_2, summry]
    """)
    )
    found = problems_of(path)
    assert [p.key for p in found] == ["steps.final.needs.1", "steps.final.needs.2"]
    p = found[1]
    assert p.message == "unknown step 'summry'"
    assert_at(p, path, "needs: [summary")
    assert p.location.column == column_of(path, "summry")
    assert p.hint == "did you mean 'summary'?"


def test_outputs_naming_a_missing_step(project: Project) -> None:
    path = project(
        chain("""
        steps:
          title: {prompt: {text: hi}}
          body: {prompt: {text: hi}}
        outputs:
          - title
          - bodyy
    """)
    )
    p = only_problem(path)
    assert p.message == "unknown step 'bodyy'"
    assert p.key == "outputs.1"
    assert_at(p, path, "- bodyy")
    assert p.hint == "did you mean 'body'?"


# -- 7. template variables nobody provides -------------------------------------------------------
def test_unknown_variable_in_a_template_file(project: Project, tmp_path: Path) -> None:
    path = project(
        chain("steps:\n  a:\n    prompt: a.j2\n"),
        {
            "a.j2": "Intro line.\nWrite about {{ topik }}.\nAgain {{ topik }} and {{ zzzqqq }}.\n",
        },
    )
    found = problems_of(path)
    assert len(found) == 2
    near, far = found
    template = tmp_path / "prompts" / "a.j2"
    assert near.message == "template variable 'topik' is not provided by any input or step"
    assert near.key == "steps.a.prompt"
    assert same_file(near.location.file, template)
    assert near.location.line == 2  # the first use, not the second
    assert near.hint == "did you mean 'topic'?"
    assert "zzzqqq" in far.message
    assert far.location.line == 3
    assert "inputs" in far.hint


def test_unknown_variable_in_an_inline_block_points_at_the_chain_line(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt:
              text: |
                Hello.
                About {{ topik }}.
    """)
    )
    p = only_problem(path)
    assert "'topik'" in p.message
    assert_at(p, path, "About {{ topik }}")
    assert p.hint == "did you mean 'topic'?"


def test_unknown_variable_in_a_system_prompt_has_the_system_key(
    project: Project, tmp_path: Path
) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: "{{ topic }}"}
            system: {file: sys.j2}
    """),
        {"sys.j2": "One.\n{{ persona }}\n"},
    )
    p = only_problem(path)
    assert "'persona'" in p.message
    assert p.key == "steps.a.system"
    assert same_file(p.location.file, tmp_path / "prompts" / "sys.j2")
    assert p.location.line == 2


def test_unknown_variable_in_an_included_template(project: Project, tmp_path: Path) -> None:
    path = project(
        chain("steps:\n  a:\n    prompt: main.j2\n"),
        {
            "main.j2": "{{ topic }}\n{% include 'parts/footer.j2' %}\n",
            "parts/footer.j2": "-- \n\nSigned {{ author }}\n",
        },
    )
    p = only_problem(path)
    assert "'author'" in p.message
    assert same_file(p.location.file, tmp_path / "prompts" / "parts" / "footer.j2")
    assert p.location.line == 3


def test_template_local_names_are_not_missing_variables(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt:
              text: |
                {% set n = count %}
                {% for i in range(n) %}{{ loop.index }}. {{ i }} {{ topic }}{% endfor %}
    """)
    )
    assert load_chain(path).inputs_used("a") == ("count", "topic")


def test_per_item_variables_only_exist_in_for_each_steps(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: "{{ item }} {{ index }}"}
    """)
    )
    assert {p.message.split("'")[1] for p in problems_of(path)} == {"item", "index"}


# -- 8. cycles -----------------------------------------------------------------------------------
def test_two_step_cycle_shows_the_path(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: "{{ b }}"}
          b:
            prompt: {text: "{{ a }}"}
    """)
    )
    p = only_problem(path)
    assert p.message == "dependency cycle: a -> b -> a"
    assert p.key == "steps.a"
    assert_at(p, path, "  a:")


def test_three_step_cycle_through_inferred_and_explicit_dependencies(project: Project) -> None:
    path = project(
        chain("""
        steps:
          first:
            prompt: {text: "{{ third }}"}
          second:
            prompt: {text: "no variables"}
            needs: [first]
          third:
            prompt: third.j2
          bystander:
            prompt: {text: "{{ first }}"}
    """),
        {"third.j2": "{{ second }}"},
    )
    p = only_problem(path)
    assert p.message == "dependency cycle: first -> second -> third -> first"
    assert "bystander" not in p.message
    assert_at(p, path, "  first:")


def test_step_reading_or_needing_itself(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: "again {{ a }}"}
          b:
            prompt: {text: hi}
            needs: [b]
    """)
    )
    by_key = {p.key: p for p in problems_of(path)}
    assert by_key["steps.a.prompt"].message == "step 'a' reads its own output"
    assert_at(by_key["steps.a.prompt"], path, "again {{ a }}")
    assert by_key["steps.b.needs.0"].message == "step 'b' needs itself"


# -- 9. for_each ---------------------------------------------------------------------------------
def test_for_each_over_a_text_step(project: Project) -> None:
    path = project(
        chain("""
        steps:
          ideas:
            prompt: {text: "ideas about {{ topic }}"}
          expand:
            for_each: ideas
            prompt: {text: "{{ item }}"}
    """)
    )
    p = only_problem(path)
    assert "step 'ideas'" in p.message
    assert "text, not a list" in p.message
    assert p.key == "steps.expand.for_each"
    assert_at(p, path, "for_each: ideas")
    assert "lines" in p.hint


def test_for_each_over_a_list_step_is_fine(project: Project) -> None:
    path = project(
        chain("""
        steps:
          ideas:
            prompt: {text: "ideas about {{ topic }}"}
            parse: lines
          expand:
            for_each: ideas
            as: idea
            prompt: {text: "{{ idea }} ({{ index }})"}
    """)
    )
    assert load_chain(path).dependencies("expand") == ("ideas",)


def test_for_each_over_an_input_that_is_not_a_list(project: Project) -> None:
    path = project(
        chain("""
        steps:
          expand:
            for_each: topic
            prompt: {text: "{{ item }}"}
    """)
    )
    p = only_problem(path)
    assert p.message == "for_each over input 'topic' of type string, not a list"
    assert p.key == "steps.expand.for_each"
    assert_at(p, path, "for_each: topic")
    assert "type: list" in p.hint


def test_invalid_for_each_expression(project: Project) -> None:
    path = project(
        chain("""
        steps:
          ideas: {prompt: {text: hi}, parse: lines}
          expand:
            for_each: "ideas | map("
            prompt: {text: "{{ item }}"}
    """)
    )
    p = only_problem(path)
    assert p.message.startswith("for_each is not a valid expression")
    assert p.key == "steps.expand.for_each"
    assert_at(p, path, "for_each:")


def test_for_each_over_an_unknown_name(project: Project) -> None:
    path = project(
        chain("""
        steps:
          ideas: {prompt: {text: hi}, parse: lines}
          expand:
            for_each: idaes
            prompt: {text: "{{ item }}"}
    """)
    )
    p = only_problem(path)
    assert p.message == "unknown step or input 'idaes'"
    assert p.hint == "did you mean 'ideas'?"


def test_for_each_over_its_own_step(project: Project) -> None:
    path = project(
        chain("""
        steps:
          expand:
            for_each: expand
            prompt: {text: "{{ item }}"}
    """)
    )
    p = only_problem(path)
    assert p.message == "step 'expand' iterates over its own output"
    assert p.key == "steps.expand.for_each"
    assert "did you mean" not in p.hint


# -- 10. parsers ---------------------------------------------------------------------------------
def test_invalid_regex_pattern(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: hi}
            parse: {type: regex, pattern: "(?P<name>[a-z"}
    """)
    )
    p = only_problem(path)
    assert p.message.startswith("invalid regular expression")
    assert p.key == "steps.a.parse.pattern"
    assert_at(p, path, "pattern:")


def test_regex_pattern_without_named_groups(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: hi}
            parse:
              type: regex
              pattern: '(\\w+): (\\w+)'
    """)
    )
    p = only_problem(path)
    assert p.message == "the pattern has no named groups"
    assert p.key == "steps.a.parse.pattern"
    assert_at(p, path, "pattern: ")
    assert "(?P<name>" in p.hint


def test_invalid_json_schema(project: Project) -> None:
    path = project(
        chain("""
        steps:
          a:
            prompt: {text: hi}
            parse:
              type: json
              schema: {type: arrray}
    """)
    )
    p = only_problem(path)
    assert p.message.startswith("invalid JSON schema")
    assert p.key == "steps.a.parse.schema"
    assert_at(p, path, "schema:")


def test_unregistered_custom_parser(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "steps:\n  a:\n    prompt: {text: hi}\n    parse: shout\n"
    path = project(chain(body))
    p = only_problem(path)
    assert p.message == "no parser named 'shout' is registered"
    assert p.key == "steps.a.parse"
    assert_at(p, path, "parse: shout")
    assert "register_parser" in p.hint
    # once registered, the same chain is valid
    monkeypatch.setitem(parsers.custom_parsers(), "shout", lambda text, options: text.upper())
    assert load_chain(path).steps == ["a"]


def test_unknown_parser_type(project: Project) -> None:
    path = project(chain("steps:\n  a:\n    prompt: {text: hi}\n    parse: {type: xml}\n"))
    p = only_problem(path)
    assert p.message == "no parser named 'xml' is registered"
    assert p.key == "steps.a.parse"
    assert "regex" in p.hint


def test_custom_parser_schema_must_be_a_valid_json_schema(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(
        chain(
            "steps:\n  a:\n    prompt: {text: hi}\n"
            "    parse: {type: shout, schema: {type: object, required: 3}}\n"
        )
    )
    monkeypatch.setitem(parsers.custom_parsers(), "shout", lambda text, options: text.upper())
    p = only_problem(path)
    assert p.message.startswith("invalid JSON schema")
    assert p.key == "steps.a.parse.schema"


# -- 11. names and confinement -------------------------------------------------------------------
@pytest.mark.parametrize("folder", ["/etc", "../../..", "[../prompts, /etc]"])
def test_prompt_folder_outside_the_project(project: Project, folder: str) -> None:
    path = project(
        f"name: t\nprompts: {folder}\nmodels: {{default: {{provider: fake}}}}\n"
        "steps:\n  a: {prompt: {text: hi}}\n"
    )
    p = only_problem(path)
    assert "is outside the chain's project folder" in p.message
    assert p.key.startswith("prompts")
    assert_at(p, path, "prompts:")
    assert "--templates" in p.hint


def test_prompt_folder_that_does_not_exist(project: Project) -> None:
    path = project(
        chain("steps:\n  a: {prompt: {text: hi}}\n").replace(
            "prompts: ../prompts", "prompts: [../prompts, ../promtps]"
        )
    )
    p = only_problem(path)
    assert "'../promtps' does not exist" in p.message
    assert p.key == "prompts.1"


@pytest.mark.parametrize("target", ["../x.j2", "../../x.j2", "../chains/test.yaml"])
def test_include_escaping_the_prompt_folder_is_not_found(
    project: Project, tmp_path: Path, target: str
) -> None:
    (tmp_path / "x.j2").write_text("secret {{ topic }}", encoding="utf-8")  # exists outside
    path = project(
        chain("steps:\n  a:\n    prompt: a.j2\n"), {"a.j2": f"Hi\n{{% include '{target}' %}}\n"}
    )
    p = only_problem(path)
    assert p.message == f"template '{target}' not found"
    assert p.key.startswith("steps.a.prompt")


def test_prompt_file_escaping_the_prompt_folder_is_not_found(
    project: Project, tmp_path: Path
) -> None:
    (tmp_path / "x.j2").write_text("secret", encoding="utf-8")
    path = project(chain("steps:\n  a:\n    prompt: ../x.j2\n"))
    p = only_problem(path)
    assert p.message == "template '../x.j2' not found"
    assert_at(p, path, "prompt: ../x.j2")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_leaving_the_prompt_folder_is_not_found(project: Project, tmp_path: Path) -> None:
    outside = tmp_path / "outside.j2"
    outside.write_text("{{ topic }}", encoding="utf-8")
    path = project(chain("steps:\n  a:\n    prompt: link.j2\n"))
    (tmp_path / "prompts" / "link.j2").symlink_to(outside)
    p = only_problem(path)
    assert p.message == "template 'link.j2' not found"


def test_reserved_and_invalid_step_ids(project: Project) -> None:
    path = project(
        chain("""
        steps:
          loop:
            prompt: {text: hi}
          ../x:
            prompt: {text: hi}
          ok:
            prompt: {text: hi}
    """)
    )
    by_key = {p.key: p for p in problems_of(path)}
    assert set(by_key) == {"steps.loop", "steps.../x"}
    reserved = by_key["steps.loop"]
    assert reserved.message == "'loop' is a reserved name"
    assert_at(reserved, path, "  loop:")
    invalid = by_key["steps.../x"]
    assert invalid.message == "invalid name '../x'"
    assert_at(invalid, path, "../x:")  # the key itself, not the line below
    assert "letters" in invalid.hint


def test_step_named_like_an_input(project: Project) -> None:
    path = project(chain("steps:\n  topic:\n    prompt: {text: hi}\n"))
    p = only_problem(path)
    assert p.message == "step 'topic' has the same name as an input"
    assert p.key == "steps.topic"
    assert_at(p, path, "  topic:", nth=2)


@pytest.mark.parametrize(
    ("decl", "words"),
    [
        ("{type: integer, default: three}", "expected an integer, got 'three'"),
        ("{type: boolean, default: 1}", "expected true or false"),
        ("{type: list, default: abc}", "expected a list"),
        ("{type: string, default: z, choices: [x, y]}", "'z' is not one of x, y"),
    ],
    ids=["integer", "boolean", "list", "choices"],
)
def test_input_default_of_the_wrong_type(project: Project, decl: str, words: str) -> None:
    path = project(
        f"name: t\ninputs:\n  n: {decl}\nmodels: {{default: {{provider: fake}}}}\n"
        "steps:\n  a: {prompt: {text: '{{ n }}'}}\n"
    )
    p = only_problem(path)
    assert p.message.startswith("default does not fit")
    assert words in p.message
    assert p.key == "inputs.n.default"
    assert p.location.line == 3


def test_reserved_input_name(project: Project) -> None:
    path = project(
        "name: t\ninputs:\n  index: {type: string}\n"
        "models: {default: {provider: fake}}\nsteps:\n  a: {prompt: {text: hi}}\n"
    )
    p = only_problem(path)
    assert p.message == "'index' is a reserved name"
    assert p.key == "inputs.index"


# -- 12. every problem at once -------------------------------------------------------------------
def test_all_problems_are_reported_in_one_error(project: Project, tmp_path: Path) -> None:
    path = project(
        chain("""
        steps:
          one:
            prompt: {text: hi}
            atempts: 2
          two:
            prompt: missing.j2
          three:
            prompt: three.j2
          four:
            prompt: {text: "{{ one }}"}
            model: nobody
    """),
        {"three.j2": "Fine line.\nUses {{ nothing_here }}.\n"},
    )
    with pytest.raises(ChainError) as info:
        load_chain(path)
    err = info.value
    found = {p.key: p for p in err.problems}
    assert set(found) == {
        "steps.one.atempts",
        "steps.two.prompt.file",
        "steps.three.prompt",
        "steps.four.model",
    }
    assert found["steps.one.atempts"].hint == "did you mean 'attempts'?"
    assert_at(found["steps.one.atempts"], path, "atempts:")
    assert found["steps.two.prompt.file"].message == "template 'missing.j2' not found"
    assert_at(found["steps.two.prompt.file"], path, "missing.j2")
    assert "nothing_here" in found["steps.three.prompt"].message
    assert same_file(found["steps.three.prompt"].location.file, tmp_path / "prompts" / "three.j2")
    assert found["steps.three.prompt"].location.line == 2
    assert found["steps.four.model"].message == "unknown model 'nobody'"
    # the error's text lists every problem as file:line
    text = str(err)
    assert text.startswith("4 problems in chain")
    for p in err.problems:
        assert f"{p.location}: {p.message} [{p.key}]" in text


# -- 13. nothing runs when validation fails ------------------------------------------------------
BROKEN = """
name: t
models:
  default: {provider: fake}
steps:
  a:
    prompt: {text: "hi {{ topic }}"}
    atempts: 2
"""


def test_cli_run_refuses_an_invalid_chain_before_running(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    path = project(BROKEN)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--out", str(out)])
    assert result.exit_code == 2
    flat = "".join(result.output.split())  # a narrow console may wrap long paths
    assert f"{path}:{line_of(path, 'atempts')}:5:unknownkey'atempts'".replace(" ", "") in flat
    assert "didyoumean'attempts'" in flat
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_run_of_the_fixed_chain_does_create_a_run_folder(
    project: Project, tmp_path: Path
) -> None:
    # the control for the test above: the same chain, fixed, produces a run folder
    out = tmp_path / "runs"
    path = project(BROKEN.replace("    atempts: 2\n", "").replace("{{ topic }}", "there"))
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_dir() and any(out.iterdir())


def test_cli_validate_prints_every_problem(project: Project) -> None:
    path = project(BROKEN.replace("model", "modle", 1))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    flat = "".join(result.output.split())
    assert "2problems" in flat
    assert f"{path}:{line_of(path, 'modle')}:1:unknownkey'modles'".replace(" ", "") in flat
    assert f"{path}:{line_of(path, 'atempts')}:5:".replace(" ", "") in flat
    assert flat.count("hint:") == 2
    assert "Traceback" not in result.output


def test_cli_prints_each_problem_on_one_line(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    path = project(BROKEN, name="a_chain_with_a_rather_long_name_so_the_location_exceeds_80")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    expected = f"{path}:{line_of(path, 'atempts')}:5: unknown key 'atempts' [steps.a.atempts]"
    assert expected in result.output.splitlines()[1]


def test_cli_validate_accepts_the_hello_chain() -> None:
    result = CliRunner().invoke(app, ["validate", str(REPO / "chains" / "hello.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid chain 'hello'" in result.output
    assert "premises <- title" in result.output


# -- 14. dependency inference --------------------------------------------------------------------
def test_dependencies_are_inferred_from_templates(project: Project) -> None:
    path = project(
        chain("""
        steps:
          title:
            prompt: {text: "A title about {{ topic }}"}
          outline:
            prompt: outline.j2
            parse: lines
          notes:
            prompt: {text: "Standalone notes, {{ count }} of them"}
          summary:
            prompt: {text: "Summarise."}
            needs: [outline]
          scenes:
            for_each: outline
            as: beat
            prompt: {text: "{{ beat }} for {{ title }}"}
    """),
        {
            "outline.j2": "{% include 'partials/header.j2' %}\nOutline {{ count }} beats.\n",
            "partials/header.j2": "Title: {{ title }}\nTopic: {{ topic }}\n",
        },
    )
    c = load_chain(path)
    assert c.dependencies("title") == ()
    assert c.inputs_used("title") == ("topic",)
    # the variables of an included template count
    assert c.dependencies("outline") == ("title",)
    assert c.inputs_used("outline") == ("count", "topic")
    # inputs are not dependencies
    assert c.dependencies("notes") == ()
    assert c.inputs_used("notes") == ("count",)
    # needs adds an explicit dependency
    assert c.dependencies("summary") == ("outline",)
    # for_each source and template reads, in declaration order
    assert c.dependencies("scenes") == ("title", "outline")
    edges = set(c.graph.edges)
    assert edges == {
        ("title", "outline"),
        ("outline", "summary"),
        ("title", "scenes"),
        ("outline", "scenes"),
    }
