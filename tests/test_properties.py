"""Property-based tests (hypothesis): whatever a chain file holds, validation accepts it or
refuses it with a ChainError whose every problem has a location; it never fails with another
exception. A chain validation accepts runs on the fake models to an end (done or failed), never
to an internal error.

Random YAML documents, random text, and near-valid chains (a valid skeleton whose names,
templates, expressions, parsers and options are drawn from valid and invalid values) are tried.
The examples are derandomized (the same on every machine and run) and moderate in number;
``DRAMATURG_HYPOTHESIS_EXAMPLES`` raises it for a deeper search.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from dramaturg import load_chain
from dramaturg.errors import ChainError

EXAMPLES = int(os.environ.get("DRAMATURG_HYPOTHESIS_EXAMPLES", "120"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # nothing written in the working tree
)


def check(text: str | bytes, templates: dict[str, str] | None = None) -> Any:
    """Load ``text`` as a chain file in a fresh project; the Chain, or None if refused."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "chains").mkdir()
        (root / "prompts").mkdir()
        for name, source in (templates or {}).items():
            (root / "prompts" / name).write_text(source, encoding="utf-8")
        path = root / "chains" / "c.yaml"
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        try:
            chain = load_chain(path)
        except ChainError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.location.file, problem
                assert problem.location.line is None or problem.location.line >= 1, problem
                assert problem.message, problem
            return None
        return run_on_fakes(chain)


def run_on_fakes(chain: Any) -> Any:
    """A valid chain runs to an end on the fakes: no internal error."""
    inputs = {
        name: {"string": "x", "integer": 2, "number": 1.5, "boolean": True}.get(spec.type, [])
        if spec.type != "object"
        else {}
        for name, spec in chain.spec.inputs.items()
        if spec.is_required
    }
    try:
        result = chain.run(inputs, out=None, dry_run=True, backoff=0)
    except ChainError:
        raise
    except Exception as exc:  # inputs the generator could not satisfy (choices...)
        from dramaturg.errors import DramaturgError

        assert isinstance(exc, DramaturgError), repr(exc)
        return chain
    assert result.status in ("done", "failed")
    for sid, step in result.steps.items():
        assert not (step.error or "").startswith("internal error"), (sid, step.error)
    return chain


# -- any YAML, any text --------------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
keys = st.text(max_size=12) | st.integers() | st.booleans()
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@SETTINGS
@given(documents)
def test_any_yaml_document_is_accepted_or_refused_with_a_chain_error(doc: Any) -> None:
    check(yaml.safe_dump(doc, allow_unicode=True))


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_are_accepted_or_refused_with_a_chain_error(data: str | bytes) -> None:
    check(data)


# -- near-valid chains ---------------------------------------------------------------------------
IDS = [
    "a",
    "b",
    "c",
    "topic",
    "count",
    "item",
    "index",
    "loop",
    "self",
    "a-b",
    "../x",
    "1a",
    "",
    "ä",
]
step_ids = st.sampled_from(["a", "b", "c", "d"]) | st.sampled_from(IDS)
FRAGMENTS = [
    "{{ a }}",
    "{{ b }}",
    "{{ c | join(', ') }}",
    "{{ topic }}",
    "{{ count * 2 }}",
    "{{ item }}",
    "{{ index }}",
    "{{ missing }}",
    "{% for x in a %}{{ x }}{% endfor %}",
    "{% if topic %}yes{% endif %}",
    "{% include 'part.j2' %}",
    "{% include 'nope.j2' %}",
    "{% include '../c.yaml' %}",
    "{{ ''.__class__ }}",
    "{{ a.__len__ }}",
    "{{ 9 ** 99999 }}",
    "{{ 'x' * count }}",
    "{{ range(count) | list }}",
    "{{ lipsum(1) }}",
    "{%",
    "}}",
    "{{ a[0] }}",
    "{{ a.b.c }}",
    "{{ a | tojson }}",
    "text",
    "\n",
]
templates = st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join)
expressions = st.sampled_from(
    ["a", "b", "c", "topic", "items", "range(3)", "range(10**6)", "a | list", "[1, 2]", "a +",
     "count", "'abc'", "{'k': 1}", "plot | map(attribute='place') | list", "missing"]
)  # fmt: skip
parses = st.sampled_from(
    [
        "text",
        "lines",
        "json",
        {"type": "json", "schema": {"type": "array", "items": {"type": "string"}}},
        {"type": "json", "schema": {"type": "object", "properties": {"t": {"type": "string"}}}},
        {"type": "json", "schema": {"type": "nonsense"}},
        {"type": "json", "schema": {"$ref": "#"}},
        {"type": "json", "schema": {"text": "type: array\nitems: {type: {{ topic | tojson }}}"}},
        {"type": "regex", "pattern": "(?P<x>\\w+)", "multiple": True},
        {"type": "regex", "pattern": "(unclosed"},
        {"type": "sections", "fields": ["Place", "Beat"], "multiple": True},
        {"type": "sections", "fields": []},
        "unknown_parser",
        {"type": 3},
        None,
    ]
)
values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2), st.text(max_size=5)
)
options = st.fixed_dictionaries(
    {},
    optional={
        "temperature": values,
        "max_tokens": values,
        "seed": values | st.just("$count") | st.just("$topic"),
        "stop": values | st.lists(st.text(max_size=3), max_size=2),
        "attempts": values,
    },
)


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    step: dict[str, Any] = {}
    prompt = draw(st.sampled_from(["text", "file", "raw", "missing"]))
    if prompt == "text":
        step["prompt"] = {"text": draw(templates)}
    elif prompt == "file":
        step["prompt"] = draw(st.sampled_from(["p.j2", "part.j2", "nope.j2", "../x.j2"]))
    elif prompt == "raw":
        step["prompt"] = draw(values)
    if draw(st.booleans()):
        step["for_each"] = draw(expressions)
        if draw(st.booleans()):
            step["as"] = draw(step_ids)
        if draw(st.booleans()):
            step["max_items"] = draw(st.integers(-1, 200_000))
    if draw(st.booleans()):
        step["parse"] = draw(parses)
    if draw(st.booleans()):
        step["needs"] = draw(st.lists(step_ids, max_size=2))
    if draw(st.booleans()):
        step["kind"] = draw(st.sampled_from(["text", "image", "video"]))
    if draw(st.booleans()):
        step["model"] = draw(st.sampled_from(["default", "writer", "ghost"]))
    if draw(st.booleans()):
        step["options"] = draw(options)
    if draw(st.booleans()):
        step["system"] = draw(templates)
    return step


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    chain: dict[str, Any] = {"name": draw(st.sampled_from(["t", "t-1", "", "../x", "ok.name"]))}
    if draw(st.booleans()):
        chain["prompts"] = draw(st.sampled_from(["../prompts", ["../prompts"], "/etc", 3]))
    chain["inputs"] = draw(
        st.dictionaries(
            st.sampled_from(["topic", "count", "items", "a", "index"]),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["string", "integer", "list", "boolean", "blob"])},
                optional={"default": values | st.lists(values, max_size=3)},
            ),
            max_size=3,
        )
    )
    chain["models"] = draw(
        st.dictionaries(
            st.sampled_from(["default", "writer", "images"]),
            st.sampled_from(["fake", "flaky", "nope", "fake:m"])
            | st.fixed_dictionaries(
                {"provider": st.sampled_from(["fake", "flaky", "nope"])},
                optional={
                    "temperature": values,
                    "seed": values | st.just("$count"),
                    "retries": values,
                    "concurrency": values,
                    "extra": st.dictionaries(st.sampled_from(["latency", "failure_rate"]), values),
                },
            ),
            max_size=3,
        )
    )
    chain["steps"] = draw(st.dictionaries(step_ids, steps(), min_size=1, max_size=4))
    if draw(st.booleans()):
        chain["outputs"] = draw(st.lists(step_ids, max_size=3))
    return chain


@SETTINGS
@given(chains(), templates, templates)
def test_near_valid_chains_are_accepted_or_refused_with_a_chain_error(
    chain: dict[str, Any], p: str, part: str
) -> None:
    text = yaml.safe_dump(chain, allow_unicode=True, sort_keys=False)
    check(text, {"p.j2": p, "part.j2": part})


def test_the_generator_reaches_valid_chains_too() -> None:
    """The property above is not vacuous: near-valid chains include valid ones, which run."""

    def valid(chain: dict[str, Any]) -> bool:
        text = yaml.safe_dump(chain, allow_unicode=True, sort_keys=False)
        return check(text, {"p.j2": "{{ topic }}", "part.j2": ""}) is not None

    found = find(
        chains(), valid, settings=settings(max_examples=2000, derandomize=True, database=None)
    )
    assert found["steps"]
