"""The ``cohere`` provider, run through the engine against a fake Cohere HTTP API (respx).

The real ``ChatCohere`` (langchain-cohere) and Cohere SDK code run; only the HTTP layer is fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("langchain_cohere")
respx = pytest.importorskip("respx")

from dramaturg import load_chain  # noqa: E402
from dramaturg.errors import ModelError, ProviderError  # noqa: E402
from dramaturg.providers.cohere import DEFAULT_MODEL, classify, cohere_text  # noqa: E402
from dramaturg.providers.registry import ModelConfig  # noqa: E402
from dramaturg.spec import GenerationOptions  # noqa: E402

KEY = "co-FAKE-KEY-DRAMATURG-123456"
CHAT_URL = "https://api.cohere.com/v2/chat"

CHAIN = """
name: co
inputs:
  topic: {type: string}
models:
  default: {provider: cohere, model: command-a-03-2025, temperature: 0.3, max_tokens: 50MORE}
steps:
  title:
    system: "You are a playwright."
    prompt: {text: "A title about {{ topic }}"}
"""

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "acts": {"type": "integer"}},
    "required": ["title", "acts"],
}

JSON_CHAIN = """
name: cojson
inputs:
  topic: {type: string}
models:
  default: {provider: cohere, model: command-a-03-2025, seed: 7}
steps:
  plan:
    prompt: {text: "Plan a play as JSON"}
    parse: {type: json, schema: SCHEMA}
"""


def chat_json(text: str, input_tokens: int = 30, output_tokens: int = 7) -> dict[str, Any]:
    """A v2 chat response body as Cohere sends it."""
    return {
        "id": "5f3e-c0ffee",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "usage": {
            "billed_units": {"input_tokens": 12, "output_tokens": output_tokens},
            "tokens": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
    }


Answer = httpx.Response | Exception | Callable[[], httpx.Response]


class FakeCohere:
    """Answers ``POST /v2/chat`` from a script (the last answer repeats); records the requests."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def answer(self, *answers: Answer) -> FakeCohere:
        self.script = list(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step()
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)

    def body(self, i: int = 0) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[i].content)
        return data


def ok(text: str = "Tidewater", **usage: int) -> httpx.Response:
    return httpx.Response(200, json=chat_json(text, **usage))


def status(code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, json={"id": "err-1", "message": message}, headers=headers)


@pytest.fixture
def cohere_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCohere]:
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("CO_API_URL", raising=False)
    fake = FakeCohere()
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(CHAT_URL).mock(side_effect=fake)
        router.post("https://proxy.example/cohere/v2/chat").mock(side_effect=fake)
        yield fake


def run_chain(project: Any, tmp_path: Path, more: str = "", chain: str = CHAIN) -> Any:
    path = project(chain.replace("MORE", more))
    return load_chain(path).run({"topic": "tides"}, out=tmp_path / "out", backoff=0.01)


def run_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def assert_key_absent(tmp_path: Path, *texts: str) -> None:
    files = run_files(tmp_path)
    assert files
    for f in files:
        assert KEY not in f.read_text(errors="replace"), f
    for text in texts:
        assert KEY not in text


# -- requests and results ------------------------------------------------------------------------
def test_request_shape_output_and_usage(project, tmp_path, cohere_api):
    cohere_api.answer(ok("  Tidewater  ", input_tokens=30, output_tokens=7))
    result = run_chain(project, tmp_path)
    assert result.ok, result.steps["title"].error
    assert result["title"] == "Tidewater"

    (request,) = cohere_api.requests
    assert str(request.url) == CHAT_URL
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = cohere_api.body()
    assert body["model"] == "command-a-03-2025"
    assert body["messages"] == [
        {"role": "system", "content": "You are a playwright."},
        {"role": "user", "content": "A title about tides"},
    ]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 50
    assert body["stream"] is False
    assert "response_format" not in body

    usage = result.steps["title"].usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (30, 7, 37)
    assert result.steps["title"].attempts == 1
    manifest = json.loads(next((tmp_path / "out").glob("*/manifest.json")).read_text())
    assert manifest["steps"]["title"]["usage"]["input_tokens"] == 30
    assert manifest["usage"]["output_tokens"] == 7
    assert manifest["models"]["default"]["provider"] == "cohere"
    assert_key_absent(tmp_path)


def test_every_option_reaches_the_request(project, tmp_path, cohere_api):
    cohere_api.answer(ok())
    more = (
        ", top_p: 0.9, top_k: 40, seed: 11, stop: ['THE END'], frequency_penalty: 0.2,"
        " presence_penalty: 0.1, timeout: 7, repeat_penalty: 1.3,"
        " extra: {safety_mode: CONTEXTUAL, priority: 1, n_ctx: 4096}"
    )
    assert run_chain(project, tmp_path, more).ok
    body = cohere_api.body()
    expected = {
        "temperature": 0.3,
        "max_tokens": 50,
        "p": 0.9,
        "k": 40,
        "seed": 11,
        "stop_sequences": ["THE END"],
        "frequency_penalty": 0.2,
        "presence_penalty": 0.1,
        "safety_mode": "CONTEXTUAL",
        "priority": 1,
    }
    assert {k: body.get(k) for k in expected} == expected
    # no Cohere equivalent, or another provider's setting: not sent
    assert "n_ctx" not in body and "repeat_penalty" not in body
    # the HTTP timeout is the model's timeout option
    timeout = cohere_api.requests[0].extensions["timeout"]
    assert timeout["read"] == 7 and timeout["connect"] == 7


def test_base_url_from_extra(project, tmp_path, cohere_api):
    cohere_api.answer(ok())
    assert run_chain(project, tmp_path, ", extra: {base_url: 'https://proxy.example/cohere'}").ok
    assert str(cohere_api.requests[0].url) == "https://proxy.example/cohere/v2/chat"


def test_json_schema_step_sends_response_format(project, tmp_path, cohere_api):
    chain = JSON_CHAIN.replace("SCHEMA", json.dumps(SCHEMA))
    # the first answer does not parse: the engine asks again, with the next seed
    cohere_api.answer(ok("Sorry, I cannot."), ok('{"title": "Tidewater", "acts": 3}'))
    result = run_chain(project, tmp_path, chain=chain)
    assert result.ok, result.steps["plan"].error
    assert result["plan"] == {"title": "Tidewater", "acts": 3}
    first, second = cohere_api.body(0), cohere_api.body(1)
    assert first["response_format"] == {"type": "json_object", "json_schema": SCHEMA}
    assert second["response_format"] == first["response_format"]
    assert (first["seed"], second["seed"]) == (7, 8)


def test_custom_parser_schema_is_sent_in_the_subset_cohere_accepts(
    project, tmp_path, cohere_api, monkeypatch
):
    from dramaturg.chain import parsers

    monkeypatch.setitem(parsers.custom_parsers(), "cast", lambda text, options: json.loads(text))
    schema = {
        "type": "object",
        "required": ["cast"],
        "properties": {
            "cast": {
                "type": "array",
                "minItems": 2,
                "maxItems": 5,
                "items": {"type": "string", "pattern": "^[A-Z][a-z]+$", "maxLength": 12},
            }
        },
    }
    chain = JSON_CHAIN.replace("{type: json, schema: SCHEMA}", "{type: cast, schema: SCHEMA}")
    cohere_api.answer(ok('{"cast": ["Mara", "Orin"]}'))
    result = run_chain(project, tmp_path, chain=chain.replace("SCHEMA", json.dumps(schema)))
    assert result.ok, result.steps["plan"].error
    assert result["plan"] == {"cast": ["Mara", "Orin"]}
    # length, count and pattern keywords are outside Cohere's schema subset: dropped
    assert cohere_api.body(0)["response_format"] == {
        "type": "json_object",
        "json_schema": {
            "type": "object",
            "required": ["cast"],
            "properties": {"cast": {"type": "array", "items": {"type": "string"}}},
        },
    }


def test_composed_schema_falls_back_to_json_mode(project, tmp_path, cohere_api):
    schema = {"anyOf": [SCHEMA, {"type": "object", "properties": {"title": {"type": "string"}}}]}
    cohere_api.answer(ok('{"title": "Tidewater", "acts": 3}'))
    result = run_chain(project, tmp_path, chain=JSON_CHAIN.replace("SCHEMA", json.dumps(schema)))
    assert result.ok, result.steps["plan"].error
    # anyOf is not in Cohere's subset: JSON mode, and the engine checks the schema itself
    assert cohere_api.body(0)["response_format"] == {"type": "json_object"}


# -- errors and retries --------------------------------------------------------------------------
def test_rejected_key_fails_at_once_naming_the_variable(project, tmp_path, cohere_api):
    cohere_api.answer(status(401, f"invalid api token {KEY}"))
    result = run_chain(project, tmp_path)
    step = result.steps["title"]
    assert step.status == "failed"
    assert len(cohere_api.requests) == 1 and step.attempts == 1
    error = step.error or ""
    assert "Cohere rejected the API key (401)" in error and "COHERE_API_KEY" in error
    assert_key_absent(tmp_path, error)


def test_rate_limit_retry_after_is_honoured_by_the_engine(project, tmp_path, cohere_api):
    cohere_api.answer(status(429, "too many requests", {"Retry-After": "1"}), ok())
    result = run_chain(project, tmp_path)
    assert result.ok, result.steps["title"].error
    assert len(cohere_api.requests) == 2
    # two engine attempts (the SDK did not retry by itself), spaced by Retry-After
    assert result.steps["title"].attempts == 2
    assert cohere_api.times[1] - cohere_api.times[0] >= 0.95


def test_endless_rate_limit_gives_up_after_the_model_retries(project, tmp_path, cohere_api):
    cohere_api.answer(status(429, "trial key rate limit exceeded"))
    result = run_chain(project, tmp_path, ", retries: 2")
    step = result.steps["title"]
    assert step.status == "failed"
    assert len(cohere_api.requests) == 3 and step.attempts == 3
    error = step.error or ""
    assert "Cohere rate limit (429)" in error and "gave up after 3 tries" in error
    assert "trial key rate limit exceeded" in error


@pytest.mark.parametrize(
    "failure",
    [
        status(503, "service overloaded"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["503", "502-html", "connect-error", "read-timeout"],
)
def test_transient_failures_are_retried(project, tmp_path, cohere_api, failure):
    cohere_api.answer(failure, ok())
    result = run_chain(project, tmp_path)
    assert result.ok, result.steps["title"].error
    assert len(cohere_api.requests) == 2 and result.steps["title"].attempts == 2


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(200, json={"nonsense": True}), "it has no 'message' object"),
        (httpx.Response(200, text="<html>proxy login</html>"), "the body is not JSON"),
        (httpx.Response(200, json=[1, 2]), "expected a JSON object"),
        (
            httpx.Response(200, json={"message": {"content": "just text"}}),
            "'message.content' is not a list",
        ),
        (
            httpx.Response(200, json={**chat_json("x"), "usage": {"billed_units": {}}}),
            "'usage' has no 'tokens' counts",
        ),
    ],
    ids=["no-message", "not-json", "list", "content-string", "usage-without-tokens"],
)
def test_malformed_response_is_a_clear_permanent_error(
    project, tmp_path, cohere_api, answer, problem
):
    cohere_api.answer(answer)
    result = run_chain(project, tmp_path)
    step = result.steps["title"]
    assert step.status == "failed"
    assert len(cohere_api.requests) == 1  # permanent: not retried
    error = step.error or ""
    assert error.startswith("Cohere returned a malformed response (HTTP 200): " + problem)
    assert "Traceback" not in error and "internal error" not in error
    assert step.error_type == "ModelError"


def test_malformed_response_through_the_cli(project, tmp_path, cohere_api):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    cohere_api.answer(httpx.Response(200, json={"nonsense": True}))
    path = project(CHAIN.replace("MORE", ""))
    r = CliRunner().invoke(
        app, ["run", str(path), "--set", "topic=tides", "--out", str(tmp_path / "out")]
    )
    assert r.exit_code == 1
    assert "Cohere returned a malformed response" in r.output
    assert "Traceback" not in r.output
    assert_key_absent(tmp_path, r.output)


def test_missing_key_fails_before_any_request_or_run_folder(
    project, tmp_path, cohere_api, monkeypatch
):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    monkeypatch.delenv("COHERE_API_KEY")
    out = tmp_path / "out"
    path = project(CHAIN.replace("MORE", ""))
    r = CliRunner().invoke(app, ["run", str(path), "--set", "topic=tides", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "COHERE_API_KEY" in r.output and "CO_API_KEY" in r.output
    assert "--dry-run" in r.output
    assert not cohere_api.requests
    assert not out.exists() or not any(out.iterdir())


def test_co_api_key_is_the_fallback(project, tmp_path, cohere_api, monkeypatch):
    monkeypatch.delenv("COHERE_API_KEY")
    monkeypatch.setenv("CO_API_KEY", KEY + "-CO")
    cohere_api.answer(ok())
    assert run_chain(project, tmp_path).ok
    assert cohere_api.requests[0].headers["authorization"] == f"Bearer {KEY}-CO"


# -- the factory and the classifier --------------------------------------------------------------
def test_factory_defaults_and_no_key_in_repr(monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    model = cohere_text(ModelConfig(provider="cohere", model=None))
    assert getattr(model, "model", None) == DEFAULT_MODEL
    assert getattr(model, "timeout_seconds", None) == 120.0
    for text in (repr(model), str(model), json.dumps(model.model_dump(), default=str)):
        assert KEY not in text
    monkeypatch.delenv("COHERE_API_KEY")
    monkeypatch.delenv("CO_API_KEY", raising=False)
    with pytest.raises(ProviderError, match="COHERE_API_KEY"):
        cohere_text(ModelConfig(provider="cohere", model=None))


def test_factory_reports_bad_options_without_the_key(monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    options = GenerationOptions(extra={"base_url": ["not", "a", "url"]})
    with pytest.raises(ProviderError, match="base_url") as info:
        cohere_text(ModelConfig(provider="cohere", model="command-r", options=options))
    assert KEY not in str(info.value)


def test_classify_cohere_sdk_errors():
    import cohere
    from cohere.core.api_error import ApiError

    err = classify(cohere.UnauthorizedError(body={"message": "invalid api token"}, headers={}))
    assert err is not None and not err.transient and err.status == 401
    assert "invalid api token" in err.message and "COHERE_API_KEY" in err.hint
    err = classify(cohere.InvalidTokenError(body={"message": "bad token"}, headers={}))
    assert err is not None and not err.transient and "COHERE_API_KEY" in err.hint
    err = classify(
        cohere.TooManyRequestsError(body={"message": "slow"}, headers={"Retry-After": "3"})
    )
    assert err is not None and err.transient and err.retry_after == 3.0 and err.status == 429
    for exc in (
        cohere.InternalServerError(body="boom", headers={}),
        cohere.ServiceUnavailableError(body={"message": "down"}, headers={}),
        cohere.GatewayTimeoutError(body=None, headers={}),
    ):
        err = classify(exc)
        assert err is not None and err.transient, exc
    err = classify(cohere.BadRequestError(body={"message": "invalid model"}, headers={}))
    assert err is not None and not err.transient and "invalid model" in err.message
    err = classify(ApiError(status_code=200, headers={}, body="<html>"))
    assert err is not None and not err.transient
    assert err.message.startswith("Cohere returned a malformed response (HTTP 200)")
    err = classify(httpx.ReadTimeout("timed out"))
    assert err is not None and err.transient
    err = classify(httpx.ConnectError("refused"))
    assert err is not None and err.transient
    err = classify(httpx.UnsupportedProtocol("Request URL is missing a scheme"))
    assert err is not None and not err.transient
    same = ModelError("already classified", transient=True)
    assert classify(same) is same
    assert classify(ValueError("something else")) is None
    assert classify(KeyError("x")) is None


def test_importing_the_module_loads_no_sdk():
    code = (
        "import sys, dramaturg.providers.cohere\n"
        "print('LOADED', [m for m in ('cohere', 'langchain_cohere') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "LOADED []" in out


def sse(*texts: str, input_tokens: int = 30, output_tokens: int = 7) -> httpx.Response:
    """A streamed v2 chat answer, as Cohere sends it: server-sent events, the text in pieces."""
    events: list[dict[str, Any]] = [
        {"type": "message-start", "id": "5f3e", "delta": {"message": {"role": "assistant"}}},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text"}}}},
        *(
            {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": t}}}}
            for t in texts
        ),
        {"type": "content-end", "index": 0},
        {
            "type": "message-end",
            "delta": {
                "finish_reason": "COMPLETE",
                "usage": {
                    "billed_units": {"input_tokens": 12, "output_tokens": output_tokens},
                    "tokens": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                },
            },
        },
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)


def test_a_streamed_run_reads_the_stream_with_the_same_request(project, tmp_path, cohere_api):
    """With ``stream=True`` the request asks for a stream and still carries the call's seed and
    schema; the pieces come as tokens, the usage from the last event."""
    from dramaturg.events import Token

    cohere_api.answer(sse('{"title": ', '"Tidewater", ', '"acts": 3}', output_tokens=9))
    chain = load_chain(project(JSON_CHAIN.replace("SCHEMA", json.dumps(SCHEMA))))
    events: list[Any] = []
    result = chain.run(
        {"topic": "tides"}, out=tmp_path / "out", stream=True, on_event=events.append
    )
    assert result.ok, result.steps["plan"].error
    assert result["plan"] == {"title": "Tidewater", "acts": 3}
    body = cohere_api.body()
    assert body["stream"] is True
    assert body["seed"] == 7
    assert body["response_format"] == {"type": "json_object", "json_schema": SCHEMA}
    texts = [e.text for e in events if isinstance(e, Token)]
    assert len(texts) > 1 and "".join(texts) == '{"title": "Tidewater", "acts": 3}'
    usage = result.steps["plan"].usage
    assert (usage.input_tokens, usage.output_tokens) == (30, 9)
    assert_key_absent(tmp_path)
