"""How model calls are limited and retried: rate limits, Retry-After, per-model retries,
provider error classification; and keys never reach files or messages."""

from __future__ import annotations

import email.utils
import itertools
import json
import time
from typing import Any

import pytest

from dramaturg import FakeChatModel, ModelError, load_chain
from dramaturg.providers import get_registry
from dramaturg.providers.fakes import FakeCall
from dramaturg.providers.registry import Provider
from dramaturg.providers.retry import http_error, parse_retry_after
from dramaturg.secrets import scrub

FAN = """
name: fan
models:
  default: {provider: fake, MODEL_OPTIONS}
steps:
  items: {prompt: {text: "list"}, parse: lines}
  each: {for_each: items, prompt: {text: "{{ item }}"}}
"""


def chain(project, options: str = ""):  # type: ignore[no-untyped-def]
    return load_chain(project(FAN.replace("MODEL_OPTIONS", options)))


class SwapFake:
    """Make the `fake` provider hand out one given model object (and a classifier)."""

    def __init__(self, model: Any, classify: Any = None) -> None:
        self.model, self.classify = model, classify

    def __enter__(self) -> None:
        reg = get_registry()
        self.original = reg.get("fake")
        reg.add(
            Provider(
                name="fake",
                description="",
                text=lambda c: self.model,
                image=self.original.image,
                classify=self.classify,
            )
        )

    def __exit__(self, *exc: object) -> None:
        get_registry().add(self.original)


def test_rate_limit_spaces_call_starts(project, tmp_path):
    fake = FakeChatModel(responses={"items": "\n".join("abcdef")})
    with SwapFake(fake):
        result = chain(project, "rate_limit: 20").run({}, out=tmp_path, concurrency=8)
    assert result.ok
    starts = sorted(c.started for c in fake.calls)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 7
    # 20 requests/s: starts 50 ms apart, measured inside the model after LangChain's own
    # per-call work (a few ms of jitter); unlimited, they would be about 1 ms apart
    assert min(gaps) >= 0.03
    assert starts[-1] - starts[0] >= 6 * 0.05 - 0.03


class RetryAfterFake(FakeChatModel):
    def _maybe_fail(self, call: FakeCall) -> None:
        if call.step == "items" and len(self.calls_for("items")) == 1:
            raise ModelError("busy", transient=True, retry_after=0.3, status=429)


def test_retry_after_is_honoured(project, tmp_path):
    fake = RetryAfterFake(responses={"items": "a"})
    result = chain(project).run({}, models={"default": fake}, out=tmp_path, backoff=0.001)
    assert result.ok
    first, second = fake.calls_for("items")
    assert second.started - first.started >= 0.3


def test_per_model_retries_setting(project, tmp_path):
    fake = FakeChatModel(fail={"items": 5})
    with SwapFake(fake):
        result = chain(project, "retries: 1").run({}, out=tmp_path, backoff=0.001)
    assert result.steps["items"].status == "failed"
    assert len(fake.calls_for("items")) == 2
    assert "gave up after 2 tries" in (result.steps["items"].error or "")


class Flaky(Exception):
    pass


class FlakyFake(FakeChatModel):
    def _maybe_fail(self, call: FakeCall) -> None:
        if len(self.calls) == 1:
            raise Flaky("connection reset by the vendor SDK")


def test_provider_classifier_makes_its_errors_retryable(project, tmp_path):
    def classify(exc: BaseException) -> ModelError | None:
        return ModelError("vendor hiccup", transient=True) if isinstance(exc, Flaky) else None

    fake = FlakyFake(responses={"items": "a"})
    with SwapFake(fake, classify):
        result = chain(project).run({}, out=tmp_path, backoff=0.001)
    assert result.ok and len(fake.calls_for("items")) == 2
    fake2 = FlakyFake(responses={"items": "a"})
    with SwapFake(fake2):  # without a classifier the unknown error is permanent
        # the same call as above: cache=False so that it reaches the model again
        result = chain(project).run({}, out=tmp_path, backoff=0.001, cache=False)
    assert result.steps["items"].status == "failed"
    assert "Flaky: connection reset" in (result.steps["items"].error or "")


def test_parse_retry_after_and_http_errors():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 31
    e = http_error("Cohere", 401, "invalid api token", key_env="COHERE_API_KEY")
    assert not e.transient and "COHERE_API_KEY" in e.hint
    e = http_error("Cohere", 429, "slow down", {"retry-after": "2"})
    assert e.transient and e.retry_after == 2.0
    assert http_error("X", 503, "down").transient
    assert not http_error("X", 400, "bad request").transient


KEY = "sk-test-DRAMATURG-0123456789"


class LeakyFake(FakeChatModel):
    def _maybe_fail(self, call: FakeCall) -> None:
        raise ModelError(f"401 for Authorization: Bearer {KEY} (key {KEY})")


def test_keys_never_reach_run_files_or_messages(project, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dramaturg.cli import app

    monkeypatch.setenv("COHERE_API_KEY", KEY)
    path = project(FAN.replace("MODEL_OPTIONS", ""))
    with SwapFake(LeakyFake()):
        r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert KEY not in r.output and "***" in r.output
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert KEY not in f.read_text(errors="replace"), f
    manifest = json.loads(next((tmp_path / "out").glob("*/manifest.json")).read_text())
    assert "***" in manifest["steps"]["items"]["error"]["message"]


def test_scrub_masks_env_secrets_and_bearer_tokens(monkeypatch):
    monkeypatch.setenv("STABILITY_API_KEY", "sk-stab-abcdefgh12345")
    assert scrub("key sk-stab-abcdefgh12345 here") == "key *** here"
    assert scrub("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer ***"


@pytest.mark.parametrize("field", ["retries: -1", "rate_limit: 0"])
def test_bad_policy_values_are_validation_errors(project, field):
    from dramaturg import ChainError

    with pytest.raises(ChainError):
        chain(project, field)
