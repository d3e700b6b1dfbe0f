"""API keys never leave the environment: a run full of failures whose error messages quote the
keys (Cohere and Stability faked over HTTP, answering errors that echo the request; the flaky
provider quoting every provider's key in its errors), then its resume, leave no key in any file
of the run folder or the step cache, in the command's output (stdout and stderr, ``--debug``
tracebacks too) or in the log records.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("langchain_cohere")
respx = pytest.importorskip("respx")

from dramaturg.cli import app  # noqa: E402
from dramaturg.providers import get_registry, stability  # noqa: E402

CHAT_URL = "https://api.cohere.com/v2/chat"
#: more variables than the providers declare: keys of LangChain integrations are secrets too
EXTRA_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN")

CHAIN = """
name: keys
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: cohere, model: command-a-03-2025, retries: 3}
  images: {provider: stability, model: core, retries: 3}
  flaky:
    provider: flaky
    retries: 3
    extra: {failure_rate: 0.5, echo_keys: true, permanent: [broken], fault_seed: 4}
steps:
  title: {prompt: {text: "A title about {{ topic }}"}}
  poster: {kind: image, prompt: {text: "A poster for {{ title }}"}}
  refused: {prompt: {text: "REFUSED {{ topic }}"}}
  ideas: {model: flaky, prompt: {text: "Ideas about {{ topic }}"}, parse: lines}
  more: {model: flaky, for_each: ideas, prompt: {text: "More on {{ item }}"}}
  broken: {model: flaky, prompt: {text: "Never"}}
  after: {prompt: {text: "After {{ broken }}"}}
"""


def keys() -> dict[str, str]:
    """A recognisable fake key for every key variable of every provider, and a few more."""
    names = {k for p in get_registry().providers() for k in p.env_keys} | set(EXTRA_KEYS)
    return {name: f"sk-FAKE-{name}-0123456789abcdef" for name in sorted(names)}


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


class Services:
    """Cohere and Stability over faked HTTP: errors that quote the request's key, then answers;
    the `refused` step's key is rejected (401) with the key quoted."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.tries: dict[str, int] = {}

    def _echo(self, request: httpx.Request) -> str:
        auth = request.headers.get("authorization", "")
        return f"request with header 'Authorization: {auth}' from {request.url}"

    def cohere(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        prompt = json.loads(request.content)["messages"][-1]["content"]
        n = self.tries[prompt] = self.tries.get(prompt, 0) + 1
        echo = self._echo(request)
        if prompt.startswith("REFUSED"):
            return httpx.Response(401, json={"message": f"invalid api token: {echo}"})
        if n == 1:
            return httpx.Response(
                429, json={"message": f"slow down, {echo}"}, headers={"Retry-After": "0"}
            )
        if n == 2:
            return httpx.Response(500, json={"message": f"internal error handling {echo}"})
        text = "Tidewater" if "title" in prompt else "A sentence."
        body = {
            "id": "x",
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            "usage": {"tokens": {"input_tokens": 3, "output_tokens": 1}},
        }
        return httpx.Response(200, json=body)

    def stability(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = self.tries["image"] = self.tries.get("image", 0) + 1
        if n == 1:
            errors = [f"rate limited: {self._echo(request)}"]
            return httpx.Response(
                429,
                json={"id": "e", "name": "rate_limit", "errors": errors},
                headers={"retry-after": "0"},
            )
        headers = {"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "1"}
        return httpx.Response(200, content=png(), headers=headers)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for name, value in keys().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CO_API_URL", raising=False)
    fake = Services()
    monkeypatch.setattr(stability, "_TRANSPORT", httpx.MockTransport(fake.stability))
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(CHAT_URL).mock(side_effect=fake.cohere)
        yield fake


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [name for name, key in keys().items() if key.encode() in data]


def test_no_key_reaches_a_file_an_output_or_a_log(
    project, tmp_path, services, _own_step_cache, caplog
):
    caplog.set_level(logging.DEBUG)
    path = project(CHAIN)
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(app, ["--debug", "run", str(path), "--out", str(out), "--cache-dir",
                            str(_own_step_cache)])  # fmt: skip
    outputs = [r.output]
    assert r.exit_code == 1, r.output  # `refused` and `broken` failed, the rest finished
    (run_dir,) = out.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    status = {s: e["status"] for s, e in manifest["steps"].items()}
    assert status == {
        "title": "done",
        "poster": "done",
        "refused": "failed",
        "ideas": "done",
        "more": "done",
        "broken": "failed",
        "after": "skipped",
    }
    # the services did get the keys, and quoted them back in their errors; they were masked
    cohere_key = keys()["COHERE_API_KEY"]
    assert any(q.headers.get("authorization") == f"Bearer {cohere_key}" for q in services.requests)
    assert "***" in manifest["steps"]["refused"]["error"]["message"]
    assert "***" in manifest["steps"]["broken"]["error"]["message"]

    # resumed (the faults are still there), and with a --debug traceback of an error
    r = runner.invoke(app, ["--debug", "resume", str(run_dir)])
    outputs.append(r.output)
    assert r.exit_code == 1
    r = runner.invoke(app, ["--debug", "export", str(run_dir), "--format", "nothing"])
    outputs.append(r.output)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"the service said: Bearer {cohere_key}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("dramaturg.run.resume.resume_run", boom)
        r = runner.invoke(app, ["--debug", "resume", str(run_dir)])
    outputs.append(r.output)
    assert "Traceback" in r.output and "the service said: Bearer ***" in r.output

    for text in outputs:
        assert not leaks(text), text
    files = [p for p in [*run_dir.rglob("*"), *_own_step_cache.rglob("*")] if p.is_file()]
    assert len(files) > 10
    for f in files:
        assert not leaks(f.read_bytes()), f
    for record in caplog.records:
        assert not leaks(record.getMessage()), record.getMessage()


def test_the_key_names_are_listed_but_never_their_values(services):
    r = CliRunner().invoke(app, ["models"])
    assert r.exit_code == 0
    assert not leaks(r.output)
    assert "set" in r.output


def test_dry_runs_and_validation_print_no_key(project, tmp_path, services):
    path = project(CHAIN)
    for args in (["validate", str(path)], ["run", str(path), "--dry-run", "--out", str(tmp_path)]):
        r = CliRunner().invoke(app, args)
        assert not leaks(r.output), r.output
    for f in Path(tmp_path).rglob("*"):
        if f.is_file():
            assert not leaks(f.read_bytes()), f
