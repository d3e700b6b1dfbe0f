"""The langchain provider: langchain:<provider>:<model> through init_chat_model. Tested with the
real ChatOllama integration (the issue's own example) against a faked Ollama server (respx)."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from dramaturg import ProviderError, load_chain
from dramaturg.cli import app
from dramaturg.providers.langchain import map_options

pytest.importorskip("langchain", reason="the langchain extra is not installed")
pytest.importorskip("langchain_ollama", reason="langchain-ollama is not installed")
respx = pytest.importorskip("respx")

URL = "http://127.0.0.1:11434/api/chat"  # the ollama client default
CHAIN = """
name: lc
models:
  default: {provider: langchain, model: "ollama:llama3", temperature: 0.2, max_tokens: 40,
            seed: 9, retries: 2}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}, system: "Be brief."}
inputs:
  topic: {type: string, default: tides}
"""


def reply(text: str) -> dict:  # type: ignore[type-arg]
    return {
        "model": "llama3",
        "created_at": "2026-11-22T00:00:00Z",
        "done": True,
        "done_reason": "stop",
        "message": {"role": "assistant", "content": text},
        "prompt_eval_count": 12,
        "eval_count": 4,
    }


@respx.mock
def test_request_shape_result_and_usage(project, tmp_path):
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=reply("Salt Road")))
    result = load_chain(project(CHAIN)).run({}, out=tmp_path / "out", backoff=0.01)
    assert result.ok, result.steps["title"].error
    assert result["title"] == "Salt Road"
    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "llama3"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "A title about tides"},
    ]
    # our max_tokens reached Ollama as its own option name
    assert body["options"]["num_predict"] == 40
    assert body["options"]["temperature"] == 0.2 and body["options"]["seed"] == 9
    usage = result.steps["title"].usage
    assert (usage.input_tokens, usage.output_tokens, usage.calls) == (12, 4, 1)


@respx.mock
def test_server_errors_are_retried_by_the_engine(project, tmp_path):
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(503, json={"error": "loading model"}),
            httpx.Response(200, json=reply("Second try")),
        ]
    )
    result = load_chain(project(CHAIN)).run({}, out=tmp_path / "out", backoff=0.01)
    assert result["title"] == "Second try"
    assert route.call_count == 2


@respx.mock
def test_permanent_errors_fail_at_once(project, tmp_path):
    route = respx.post(URL).mock(
        return_value=httpx.Response(
            404, json={"error": "model 'llama3' not found, try pulling it first"}
        )
    )
    result = load_chain(project(CHAIN)).run({}, out=tmp_path / "out", backoff=0.01)
    assert result.steps["title"].status == "failed" and route.call_count == 1
    assert "not found" in (result.steps["title"].error or "")


def test_unsupported_option_is_an_error_not_silently_dropped():
    from langchain_ollama import ChatOllama

    assert map_options(ChatOllama, {"max_tokens": 5}) == {"num_predict": 5}
    with pytest.raises(ProviderError, match="no option for 'presence_penalty'"):
        map_options(ChatOllama, {"presence_penalty": 0.5})


def test_bad_reference_and_missing_integration_exit_2(project, tmp_path):
    path = project(CHAIN.replace('"ollama:llama3"', '"llama3"'))
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "langchain:<provider>:<model>" in r.output
    path = project(CHAIN.replace('"ollama:llama3"', '"nosuchvendor:m1"'))
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "nosuchvendor" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
