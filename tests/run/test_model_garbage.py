"""Model output garbage: empty answers, JSON that does not parse or nests without end, answers
100 times longer than asked, control characters, a model that never writes its stop marker.
Every parser, built-in or Dramatron's, either reads a usable answer or the step resamples within
its ``attempts`` and then fails cleanly, naming the file where every raw answer is saved. No
control character reaches a file or the terminal; no garbage takes long to reject.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from dramaturg import FakeChatModel, load_chain
from dramaturg.cli import app
from dramaturg.run.limits import text_of

LONG = " ".join(f"word{i % 50}" for i in range(2000))  # max_tokens is 20: 100 times longer
GARBAGE = {
    "empty": "",
    "whitespace": " \n\t \n",
    "truncated json": '{"scenes": [{"place": "Harbour", "plot_element": "Exposition", "beat": "Ma',
    "nested json": '{"a": ' * 5000,
    "brace storm": '{"a": "[' * 20000,
    "100x longer": LONG,
    "control characters": "\x00\x1b[2J\x1b]0;pwned\x07Mara \x1b[31mwaits\x1b[0m\x08\x7f",
    "no stop marker": "TITLE: The Storm Jar\nExample 2.\nTITLE: Another\n" * 200,
}
PARSERS: dict[str, Any] = {
    "text": "text",
    "lines": "lines",
    "json": "json",
    "json schema": {"type": "json", "schema": {"type": "object", "required": ["title"]}},
    "sections": {"type": "sections", "fields": ["Place", "Beat"], "multiple": True},
    "regex": {"type": "regex", "pattern": "(?P<title>[A-Z][a-z]+ [A-Z][a-z]+)"},
    "dramatron.title": "dramatron.title",
    "dramatron.characters": "dramatron.characters",
    "dramatron.scenes": "dramatron.scenes",
    "dramatron.place": "dramatron.place",
    "dramatron.dialogue": "dramatron.dialogue",
}


def chain_text(parse: Any) -> str:
    return (
        "name: garbage\nmodels:\n  default: {provider: fake, seed: 10, max_tokens: 20, "
        "stop: ['**END**']}\nsteps:\n"
        f"  a: {{prompt: {{text: 'Answer'}}, attempts: 3, parse: {json.dumps(parse)}}}\n"
        "  b: {prompt: {text: 'After {{ a }}'}}\n"
    )


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_garbage_is_read_or_resampled_then_fails_cleanly(project, tmp_path, parser, garbage):
    path = project(chain_text(PARSERS[parser]))
    fake = FakeChatModel(responses={"a": GARBAGE[garbage], "b": "fine"})
    result = load_chain(path).run({}, models={"default": fake}, out=tmp_path, cache=False)
    step = result.steps["a"]
    saved = json.loads((result.run_dir / "steps" / "a.json").read_text())
    cleaned = text_of(GARBAGE[garbage])
    if garbage in ("empty", "whitespace"):
        assert step.status == "failed", "no parser may accept an empty answer"
    if step.status == "done":  # a usable answer (at the latest on the last attempt, where
        # Dramatron's parsers keep what they can): kept, without control characters
        assert len(fake.calls_for("a")) == step.attempts <= 3
        assert saved["output"] == step.output
        assert not any(c in json.dumps(step.output) for c in ("\\u001b", "\\u0000", "\\u0007"))
        assert result.steps["b"].status == "done"
        return
    # resampled within the step's attempts, then failed with every raw answer saved
    assert step.status == "failed" and saved["status"] == "failed"
    assert [c.attempt for c in fake.calls_for("a")] == [0, 1, 2]
    assert [c.seed for c in fake.calls_for("a")] == [10, 11, 12]
    raw = result.run_dir / "steps" / "a.raw.txt"
    assert "could not be parsed after 3 attempt(s): " in (step.error or "")
    assert f"raw output saved in {raw}" in (step.error or "")
    assert raw.read_text() == "\n\n=== next attempt ===\n\n".join([cleaned] * 3)
    assert result.steps["b"].status == "skipped"


def test_garbage_then_a_good_answer_succeeds_within_the_attempts(project, tmp_path):
    path = project(chain_text({"type": "json", "schema": {"type": "object", "required": ["t"]}}))
    answers = [GARBAGE["truncated json"], GARBAGE["nested json"], '{"t": "The Storm Jar"}']
    fake = FakeChatModel(responses={"a": answers, "b": "fine"})
    result = load_chain(path).run({}, models={"default": fake}, out=tmp_path, cache=False)
    assert result.ok and result["a"] == {"t": "The Storm Jar"}
    assert result.steps["a"].attempts == 3
    assert [c.seed for c in fake.calls_for("a")] == [10, 11, 12]
    assert not (result.run_dir / "steps" / "a.raw.txt").exists()


def test_no_control_character_reaches_the_terminal_or_a_file(project, tmp_path):
    answer = '"\\e[2J\\e]0;pwned\\a Mara\\e[31m waits"'  # YAML escapes: ESC, BEL
    text = chain_text("text").replace(
        "provider: fake,", f"provider: fake, extra: {{responses: {{a: {answer}, b: ok}}}},"
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(project(text)), "--out", str(out), "--no-cache"])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    (run_dir,) = out.iterdir()
    for f in (run_dir / "steps").rglob("*"):  # (the manifest quotes the chain's own script)
        if f.is_file():
            data = f.read_text()
            assert "\x1b" not in data and "\x07" not in data, f
            assert "\\u001b" not in data and "\\u0007" not in data, f
    assert json.loads((run_dir / "steps" / "a.json").read_text())["output"] == (
        "[2J]0;pwned Mara[31m waits"
    )


@pytest.mark.parametrize("parser", ["dramatron.characters", "dramatron.dialogue", "json"])
def test_a_megabyte_of_brackets_is_rejected_quickly(parser):
    """The JSON salvage tries a bounded number of starts: garbage full of brackets costs time
    linear in its length (it was quadratic: minutes for a megabyte)."""
    from dramaturg.chain.parsers import parse
    from dramaturg.spec import StepSpec

    spec = StepSpec.model_validate({"prompt": {"text": "x"}, "parse": parser}).parse
    calls = 0
    import dramaturg.screenplay.loops as loops

    decode = loops._DECODER.raw_decode

    def counted(body: str, start: int) -> Any:
        nonlocal calls
        calls += 1
        return decode(body, start)

    loops._DECODER.raw_decode = counted  # type: ignore[method-assign]
    try:
        with pytest.raises(Exception) as err:
            parse(spec, '{"a": "[' * 150_000, attempt=0, attempts=3)
    finally:
        loops._DECODER.raw_decode = decode  # type: ignore[method-assign]
    assert type(err.value).__name__ == "ParseError"
    assert calls <= 2 * loops.MAX_TRIES


def test_the_engine_json_parser_survives_deep_nesting(project, tmp_path):
    path = project(chain_text("json"))
    fake = FakeChatModel(responses={"a": "[" * 100_000, "b": "fine"})
    result = load_chain(path).run({}, models={"default": fake}, out=tmp_path, cache=False)
    assert "output could not be parsed" in (result.steps["a"].error or "")
    assert "internal error" not in (result.steps["a"].error or "")


def test_text_of_keeps_text_and_drops_controls() -> None:
    assert text_of("Line one\n\tLine two\r\n") == "Line one\n\tLine two\r\n"
    assert text_of("caf\u00e9 \u2014 \U0001f3ad") == "caf\u00e9 \u2014 \U0001f3ad"
    assert text_of([{"type": "text", "text": "a\x1b[0m"}, "b\x00"]) == "a[0mb"
