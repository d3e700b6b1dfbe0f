"""The ``stability`` image provider, run through the engine against a faked HTTP service.

The real provider code runs; only the network is replaced: ``stability._TRANSPORT`` (a test-only
hook) is set to an ``httpx.MockTransport`` whose handler plays the Stability v2beta API.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

import dramaturg.cli
from dramaturg import load_chain
from dramaturg.errors import ModelError, ProviderError
from dramaturg.images import ImageRequest
from dramaturg.providers import ModelConfig, stability
from dramaturg.spec import GenerationOptions

KEY = "sk-FAKE-STABILITY-KEY-123456"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 4), (200, 40, 90)).save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeStability:
    """Answers requests with the queued replies (the last one repeats) and records them."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def reply(self, *replies: Reply) -> FakeStability:
        self.replies = list(replies)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def form(self, i: int = -1) -> dict[str, str]:
        return form_fields(self.requests[i])


def form_fields(request: httpx.Request) -> dict[str, str]:
    """The fields of a multipart/form-data request body."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    msg = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    assert msg.is_multipart()
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[name] = part.get_payload(decode=True).decode()
    return out


def image(
    data: bytes = PNG,
    *,
    seed: int = 42,
    finish: str = "SUCCESS",
    mime: str = "image/png",
) -> httpx.Response:
    headers = {"content-type": mime, "finish-reason": finish, "seed": str(seed)}
    return httpx.Response(200, content=data, headers=headers)


def error(status: int, name: str, *errors: str, **headers: str) -> httpx.Response:
    body = {"id": "a1b2c3", "name": name, "errors": list(errors)}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeStability]:
    server = FakeStability().reply(image())
    monkeypatch.setenv("STABILITY_API_KEY", KEY)
    monkeypatch.setattr(stability, "_TRANSPORT", httpx.MockTransport(server.handle))
    yield server
    # whatever the test did, the key is in no file it left behind
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"API key leaked into {path}"


OPTIONS = (
    'seed: 42, aspect_ratio: "16:9", negative_prompt: "blurry", '
    'style_preset: "cinematic", output_format: png'
)


def chain_yaml(model: str = "core", options: str = OPTIONS, retries: int = 2) -> str:
    return f"""
    name: poster
    inputs:
      place: {{type: string, default: lighthouse}}
    models:
      images: {{provider: stability, model: {model}, retries: {retries}, {options}}}
    steps:
      poster:
        kind: image
        prompt: {{text: "a {{{{ place }}}} in a storm, ink"}}
    """


def run(project: Callable[..., Path], tmp_path: Path, yaml: str | None = None) -> Any:
    return load_chain(project(yaml or chain_yaml())).run(
        {"place": "lighthouse"}, out=tmp_path / "out", backoff=0.01
    )


def error_of(result: Any) -> str:
    assert not result.ok
    message = result.steps["poster"].error
    assert message
    assert KEY not in message
    return str(message)


# -- the request --------------------------------------------------------------------------------
def test_core_request_shape_and_saved_image(project, tmp_path, fake):
    result = run(project, tmp_path)
    assert result.ok, result.steps["poster"].error
    [req] = fake.requests
    assert req.method == "POST"
    assert str(req.url) == "https://api.stability.ai/v2beta/stable-image/generate/core"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["accept"] == "image/*"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert fake.form() == {
        "prompt": "a lighthouse in a storm, ink",
        "negative_prompt": "blurry",
        "aspect_ratio": "16:9",
        "seed": "42",
        "style_preset": "cinematic",
        "output_format": "png",
        "none": "",  # the empty part that makes httpx send multipart
    }
    out = result["poster"]
    assert out["image"] == "steps/poster.png"
    assert (result.run_dir / out["image"]).read_bytes() == PNG
    assert out["mime"] == "image/png"
    assert out["seed"] == 42
    assert out["filtered"] is False
    assert out["model"] == "stability:core"
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["steps"]["poster"]["status"] == "done"
    assert manifest["models"]["images"]["provider"] == "stability"


@pytest.mark.parametrize(
    ("model", "endpoint", "model_field"),
    [
        ("ultra", "ultra", None),
        ("sd3", "sd3", None),
        ("sd3.5-large", "sd3", "sd3.5-large"),
        ("sd3.5-medium", "sd3", "sd3.5-medium"),
    ],
)
def test_endpoint_and_model_field_per_model(project, tmp_path, fake, model, endpoint, model_field):
    fake.reply(image(seed=123456))
    options = 'negative_prompt: "blurry", style_preset: "cinematic", output_format: jpeg'
    result = run(project, tmp_path, chain_yaml(model, options))
    assert result.ok, result.steps["poster"].error
    [req] = fake.requests
    assert str(req.url) == f"https://api.stability.ai/v2beta/stable-image/generate/{endpoint}"
    form = fake.form()
    assert form.get("model") == model_field
    assert "style_preset" not in form  # core only
    assert "seed" not in form and "aspect_ratio" not in form  # not configured: service defaults
    assert form["negative_prompt"] == "blurry"
    assert form["output_format"] == "jpeg"
    out = result["poster"]
    assert out["seed"] == 123456  # the seed the service chose, from the response header
    assert out["model"] == f"stability:{model}"


def test_mime_type_and_extension_come_from_the_response(project, tmp_path, fake):
    fake.reply(image(b"RIFF....WEBPVP8 ", mime="image/webp"))
    result = run(project, tmp_path, chain_yaml(options="output_format: webp"))
    assert result.ok
    assert result["poster"]["mime"] == "image/webp"
    assert result["poster"]["image"] == "steps/poster.webp"
    assert (result.run_dir / "steps/poster.webp").read_bytes() == b"RIFF....WEBPVP8 "


def test_turbo_models_get_no_negative_prompt(project, tmp_path, fake):
    result = run(project, tmp_path, chain_yaml("sd3.5-large-turbo", 'negative_prompt: "blurry"'))
    assert result.ok
    form = fake.form()
    assert form["model"] == "sd3.5-large-turbo"
    assert "negative_prompt" not in form


@pytest.mark.parametrize(
    ("width", "height", "ratio"),
    [(1920, 1080, "16:9"), (1024, 1024, "1:1"), (800, 1200, "2:3"), (1200, 1000, "5:4")],
)
def test_width_and_height_become_the_nearest_aspect_ratio(
    project, tmp_path, fake, width, height, ratio
):
    result = run(project, tmp_path, chain_yaml(options=f"width: {width}, height: {height}"))
    assert result.ok
    assert fake.form()["aspect_ratio"] == ratio


def test_nearest_aspect_ratio():
    assert stability.nearest_aspect_ratio(2560, 1080) == "21:9"
    assert stability.nearest_aspect_ratio(1080, 2560) == "9:21"
    assert stability.nearest_aspect_ratio(1000, 1100) == "1:1"
    assert stability.nearest_aspect_ratio(1600, 1200) in ("3:2", "5:4")  # 4:3 is not offered
    for ratio in stability.ASPECT_RATIOS:
        w, h = (int(x) for x in ratio.split(":"))
        assert stability.nearest_aspect_ratio(w * 64, h * 64) == ratio


# -- errors -------------------------------------------------------------------------------------
def test_rejected_key_fails_at_once_naming_the_variable(project, tmp_path, fake):
    fake.reply(error(401, "unauthorized", "authorization: invalid API key"))
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 1
    assert "Stability rejected the API key (401)" in message
    assert "STABILITY_API_KEY" in message


def test_key_echoed_by_the_service_is_masked(project, tmp_path, fake):
    fake.reply(error(403, "forbidden", f"key {KEY} has been revoked"))
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 1
    assert "revoked" in message and "STABILITY_API_KEY" in message


def test_content_moderation_refusal_does_not_blame_the_key(project, tmp_path, fake):
    fake.reply(
        error(403, "content_moderation", "Your request was flagged by our content moderation")
    )
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 1
    assert "content moderation" in message
    assert "rephrase the prompt" in message
    assert "STABILITY_API_KEY" not in message


def test_rate_limit_waits_for_retry_after_then_succeeds(project, tmp_path, fake):
    fake.reply(error(429, "rate_limit_exceeded", "slow down", **{"retry-after": "1"}), image())
    result = run(project, tmp_path)
    assert result.ok, result.steps["poster"].error
    assert len(fake.requests) == 2
    assert fake.times[1] - fake.times[0] >= 0.95  # backoff is 0.01 s: the header set the wait
    assert result.steps["poster"].attempts == 2
    assert (result.run_dir / "steps/poster.png").read_bytes() == PNG


def test_rate_limit_forever_gives_up_after_the_configured_tries(project, tmp_path, fake):
    fake.reply(error(429, "rate_limit_exceeded", "You have exceeded the rate limit"))
    message = error_of(run(project, tmp_path))  # the model says retries: 2
    assert len(fake.requests) == 3
    assert "Stability rate limit (429)" in message
    assert "exceeded the rate limit" in message
    assert "gave up after 3 tries" in message


def test_server_errors_are_retried(project, tmp_path, fake):
    fake.reply(error(500, "internal_error", "oops"), httpx.Response(503, text="busy"), image())
    result = run(project, tmp_path)
    assert result.ok, result.steps["poster"].error
    assert len(fake.requests) == 3


def test_timeouts_and_connection_errors_are_retried(project, tmp_path, fake):
    fake.reply(httpx.ReadTimeout("read timed out"), httpx.ConnectError("refused"), image())
    result = run(project, tmp_path)
    assert result.ok, result.steps["poster"].error
    assert len(fake.requests) == 3


def test_connection_errors_forever_fail_clearly(project, tmp_path, fake):
    fake.reply(httpx.ConnectError("[Errno 111] Connection refused"))
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 3
    assert "could not reach Stability: ConnectError" in message


def test_bad_request_is_not_retried_and_shows_the_service_detail(project, tmp_path, fake):
    fake.reply(error(400, "bad_request", "prompt: cannot be blank", "seed: too large"))
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 1
    assert "Stability error (400): bad_request: prompt: cannot be blank; seed: too large" in message
    assert "a1b2c3" in message  # the request id, for Stability's support


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(200, json={"image": "aGVsbG8=", "finish_reason": "SUCCESS"}),
            "content-type application/json instead of image bytes",
        ),
        (image(b""), "empty image/png body"),
        (httpx.Response(200, text="<html>gateway</html>"), "instead of image bytes: <html>"),
    ],
)
def test_malformed_success_fails_clearly_without_retrying(
    project, tmp_path, fake, response, expected
):
    fake.reply(response)
    message = error_of(run(project, tmp_path))
    assert len(fake.requests) == 1
    assert expected in message


def test_content_filtered_images_are_marked_and_kept(project, tmp_path, fake):
    blurred = _png()
    fake.reply(image(blurred, finish="CONTENT_FILTERED"))
    result = run(project, tmp_path)
    assert result.ok
    out = result["poster"]
    assert out["filtered"] is True
    assert (result.run_dir / out["image"]).read_bytes() == blurred
    step = json.loads((result.run_dir / "steps/poster.json").read_text())
    assert step["output"]["filtered"] is True


# -- configuration ------------------------------------------------------------------------------
def test_missing_key_exits_2_from_the_cli_before_any_run_folder(project, tmp_path, monkeypatch):
    monkeypatch.delenv("STABILITY_API_KEY", raising=False)

    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request to {request.url}")

    monkeypatch.setattr(stability, "_TRANSPORT", httpx.MockTransport(no_network))
    out = tmp_path / "out"
    r = CliRunner().invoke(
        dramaturg.cli.app, ["run", str(project(chain_yaml())), "--out", str(out)]
    )
    assert r.exit_code == 2, r.output
    assert "STABILITY_API_KEY" in r.output
    assert "sketch" in r.output and "--dry-run" in r.output
    assert "Traceback" not in r.output
    assert not out.exists() or not any(out.iterdir())


def test_dry_run_needs_no_key(project, tmp_path, monkeypatch):
    monkeypatch.delenv("STABILITY_API_KEY", raising=False)
    result = load_chain(project(chain_yaml())).run({}, out=tmp_path / "out", dry_run=True)
    assert result.ok


def test_unsupported_aspect_ratio_fails_before_the_run(project, tmp_path, fake):
    with pytest.raises(ProviderError, match=r"aspect_ratio 4:3.*\n.*16:9"):
        run(project, tmp_path, chain_yaml(options='aspect_ratio: "4:3"'))
    assert fake.requests == []
    assert not (tmp_path / "out").exists()


def test_unknown_model_fails_before_the_run(project, tmp_path, fake):
    with pytest.raises(ProviderError, match="unknown Stability model 'sdxl'"):
        run(project, tmp_path, chain_yaml("sdxl", "seed: 1"))
    assert fake.requests == []


def test_base_url_and_timeout_options(fake, monkeypatch):
    options = GenerationOptions(timeout=7, extra={"base_url": "https://gateway.example/"})
    model = stability.stability_image(ModelConfig("stability", "ultra", options))
    assert isinstance(model, stability.StabilityImageModel)
    assert model.url == "https://gateway.example/v2beta/stable-image/generate/ultra"
    assert model.timeout == 7.0


def test_the_key_is_not_in_reprs(fake):
    model = stability.stability_image(ModelConfig("stability", None))
    assert isinstance(model, stability.StabilityImageModel)
    assert model.name == "stability:core"
    for text in (repr(model), str(model), repr(vars(model)), repr(model._key)):
        assert KEY not in text


async def test_one_client_per_model_reused_across_calls(fake):
    model = stability.stability_image(ModelConfig("stability", "core"))
    assert isinstance(model, stability.StabilityImageModel)
    first = await model.agenerate(ImageRequest(prompt="a"))
    client = model._client
    second = await model.agenerate(ImageRequest(prompt="b", width=640, height=1536))
    assert model._client is client
    assert first.data == second.data == PNG
    assert second.metadata["aspect_ratio"] == "9:21"
    assert [form_fields(r)["prompt"] for r in fake.requests] == ["a", "b"]
    await model.aclose()
    assert model._client is None


async def test_ignored_options_are_reported_in_metadata(fake):
    model = stability.stability_image(ModelConfig("stability", "sd3.5-large-turbo"))
    result = await model.agenerate(
        ImageRequest(prompt="x", negative_prompt="blurry", style_preset="anime")
    )
    assert result.metadata["ignored_options"] == ["negative_prompt", "style_preset"]
    assert result.metadata["finish_reason"] == "SUCCESS"
    await model.aclose()


async def test_bad_request_options_raise_permanent_errors(fake):
    model = stability.stability_image(ModelConfig("stability", "core"))
    for request, expected in [
        (ImageRequest(prompt="x", aspect_ratio="4:3"), "aspect_ratio 4:3"),
        (ImageRequest(prompt="x", seed=-1), "seeds run from 0"),
        (ImageRequest(prompt="  "), "prompt is empty"),
    ]:
        with pytest.raises(ModelError, match=expected) as info:
            await model.agenerate(request)
        assert not info.value.transient
    assert fake.requests == []


def test_classify_maps_raw_httpx_errors():
    timeout = stability.classify(httpx.ReadTimeout("slow"))
    assert timeout is not None and timeout.transient
    connect = stability.classify(httpx.ConnectError("refused"))
    assert connect is not None and connect.transient
    bad_url = stability.classify(httpx.UnsupportedProtocol("ftp://x"))
    assert bad_url is not None and not bad_url.transient
    req = httpx.Request("POST", "https://api.stability.ai/x")
    body = {"name": "rate_limit", "errors": ["slow"]}
    resp = httpx.Response(429, json=body, headers={"retry-after": "3"}, request=req)
    status = stability.classify(httpx.HTTPStatusError("429", request=req, response=resp))
    assert status is not None and status.transient and status.retry_after == 3.0
    assert stability.classify(ValueError("x")) is None
