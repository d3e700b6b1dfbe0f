"""The Stability AI image provider ``stability``: the v2beta REST API over httpx.

``POST {base_url}/v2beta/stable-image/generate/{core|ultra|sd3}`` with a multipart form and
``accept: image/*``: the image bytes come back as the body, ``finish-reason`` and ``seed`` as
response headers. Models (``config.model``):

* ``core`` (the default), ``ultra``;
* ``sd3`` (the service's default SD 3.x model) or an SD 3.x model name such as ``sd3.5-large``,
  ``sd3.5-large-turbo`` or ``sd3.5-medium`` (the ``sd3`` endpoint with ``model=<name>``).

The API has no width/height: ``aspect_ratio`` is sent as given (it must be one the service
supports) or, when only ``width``/``height`` are set, derived as the nearest supported ratio.
``style_preset`` is sent to ``core`` only; ``negative_prompt`` is not sent to turbo models (the
service documents it as not working there). ``options.extra.base_url`` points the provider at
another host (a proxy or gateway).

The provider never retries: it raises :class:`~dramaturg.errors.ModelError` (``transient`` for
429, 5xx, timeouts and connection errors, with ``retry_after`` from a Retry-After header) and the
runner retries. The API key comes from ``STABILITY_API_KEY`` and never appears in a message, a
``repr`` or a file.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from typing import TYPE_CHECKING, Any

import httpx

from .._version import __version__
from ..errors import ModelError, ProviderError
from ..images import ImageModel, ImageRequest, ImageResult
from .retry import http_error

if TYPE_CHECKING:
    from .registry import ModelConfig

SERVICE = "Stability"
KEY_ENV = "STABILITY_API_KEY"
DEFAULT_BASE_URL = "https://api.stability.ai"
DEFAULT_MODEL = "core"
DEFAULT_TIMEOUT = 120.0
#: the ratios the generate endpoints accept
ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
SEED_MAX = 4294967294

#: Test-only hook: when set, every model built afterwards sends its requests through this
#: transport (e.g. an ``httpx.MockTransport``) instead of the network. Never set it in real code.
_TRANSPORT: httpx.AsyncBaseTransport | None = None


class _Secret:
    """A string that does not show itself in a ``repr`` or ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


def resolve_model(model: str | None) -> tuple[str, str | None]:
    """``config.model`` -> (endpoint, value of the ``model`` form field or None)."""
    name = (model or DEFAULT_MODEL).strip()
    if name in ("core", "ultra", "sd3"):
        return name, None
    if name.startswith("sd3"):
        return "sd3", name
    raise ProviderError(
        f"unknown Stability model '{name}'",
        hint="use core, ultra, sd3 or an SD 3 model name such as sd3.5-large, "
        "sd3.5-large-turbo or sd3.5-medium",
    )


def nearest_aspect_ratio(width: int, height: int) -> str:
    """The supported aspect ratio closest to ``width:height`` (compared on a log scale)."""
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(int(w) / int(h)) - target)

    return min(ASPECT_RATIOS, key=distance)


def aspect_ratio_for(request: ImageRequest) -> str | None:
    """The ``aspect_ratio`` field for a request (None: the service's default, 1:1)."""
    if request.aspect_ratio:
        if request.aspect_ratio not in ASPECT_RATIOS:
            raise ModelError(
                f"Stability does not support aspect_ratio {request.aspect_ratio}",
                hint=f"use one of {', '.join(ASPECT_RATIOS)}, or set width and height to get "
                "the nearest one",
            )
        return request.aspect_ratio
    if request.width and request.height:
        return nearest_aspect_ratio(request.width, request.height)
    return None


class StabilityImageModel(ImageModel):
    """One Stability image model (endpoint + model name) with its own HTTP client."""

    def __init__(
        self,
        api_key: str,
        model: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ProviderError(f"no Stability API key given (set {KEY_ENV})")
        self.endpoint, self.model = resolve_model(model)
        self.name = f"stability:{self.model or self.endpoint}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._key = _Secret(api_key)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"StabilityImageModel(name={self.name!r}, base_url={self.base_url!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/v2beta/stable-image/generate/{self.endpoint}"

    def _http(self) -> httpx.AsyncClient:
        """The client, created on first use in the running event loop (a client's pooled
        connections belong to one loop, so another loop gets a new client)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                transport=self._transport,
                headers={
                    "stability-client-id": "dramaturg",
                    "stability-client-version": __version__,
                },
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client (a new one is made if the model is used again)."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()

    def form(self, request: ImageRequest) -> tuple[dict[str, str], list[str]]:
        """The form fields for a request, and the names of the options not sent."""
        if not request.prompt.strip():
            raise ModelError("the image prompt is empty", hint="check the step's prompt template")
        fields = {"prompt": request.prompt}
        ignored: list[str] = []
        if request.negative_prompt:
            if (self.model or "").endswith("-turbo"):
                ignored.append("negative_prompt")
            else:
                fields["negative_prompt"] = request.negative_prompt
        ratio = aspect_ratio_for(request)
        if ratio:
            fields["aspect_ratio"] = ratio
        if request.seed is not None:
            if not 0 <= request.seed <= SEED_MAX:
                raise ModelError(
                    f"Stability seeds run from 0 to {SEED_MAX}, got {request.seed}",
                    hint="0 asks for a random seed",
                )
            fields["seed"] = str(request.seed)
        if request.style_preset:
            if self.endpoint == "core":
                fields["style_preset"] = request.style_preset
            else:
                ignored.append("style_preset")
        fmt = request.output_format or "png"
        if fmt not in OUTPUT_FORMATS:
            raise ModelError(
                f"Stability cannot produce output_format {fmt!r}",
                hint=f"use one of {', '.join(OUTPUT_FORMATS)}",
            )
        fields["output_format"] = fmt
        if self.model:
            fields["model"] = self.model
        return fields, ignored

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        fields, ignored = self.form(request)
        try:
            response = await self._http().post(
                self.url,
                data=fields,
                files={"none": (None, b"")},  # forces multipart/form-data
                headers={"authorization": f"Bearer {self._key.get()}", "accept": "image/*"},
            )
        except httpx.HTTPError as exc:
            raise (classify(exc) or _failed(exc)) from None
        return self._result(response, request, fields, ignored)

    def _result(
        self,
        response: httpx.Response,
        request: ImageRequest,
        fields: dict[str, str],
        ignored: list[str],
    ) -> ImageResult:
        if not response.is_success:
            raise self._error(response)
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not mime.startswith("image/"):
            raise ModelError(
                f"{SERVICE} returned {response.status_code} with content-type "
                f"{mime or 'none'} instead of image bytes: {_snippet(response)}",
                hint="image/* was requested; check base_url points at the Stability API",
                status=response.status_code,
            )
        data = response.content
        if not data:
            raise ModelError(
                f"{SERVICE} returned {response.status_code} with an empty {mime} body",
                status=response.status_code,
            )
        finish = response.headers.get("finish-reason", "SUCCESS").strip().upper()
        seed = _int(response.headers.get("seed"))
        if seed is None and request.seed:
            seed = request.seed
        filtered = finish == "CONTENT_FILTERED"
        metadata: dict[str, Any] = {
            "model": self.name,
            "finish_reason": finish,
            "aspect_ratio": fields.get("aspect_ratio", "1:1"),
        }
        if filtered:
            metadata["filtered"] = True
            metadata["note"] = "Stability's content filter replaced or blurred this image"
        if ignored:
            metadata["ignored_options"] = ignored
        return ImageResult(data=data, mime=mime, seed=seed, filtered=filtered, metadata=metadata)

    def _error(self, response: httpx.Response) -> ModelError:
        status = response.status_code
        name, detail = _error_detail(response)
        detail = detail.replace(self._key.get(), "***")
        if status == 403 and (name == "content_moderation" or "moderation" in detail.lower()):
            return ModelError(
                f"{SERVICE} refused the request (content moderation, 403): {detail}",
                hint="rephrase the prompt (or negative prompt) of this step",
                status=status,
            )
        err = http_error(SERVICE, status, detail, response.headers, key_env=KEY_ENV)
        if status == 402:
            err.hint = "the Stability account is out of credits: add some, or use another model"
        return err


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.content[:limit].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "(empty body)"


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """(error name, readable detail) from a ``{id, name, errors: [...]}`` body, or its text."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        name = str(body.get("name") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            text = "; ".join(str(e) for e in errors)
        else:
            text = str(body.get("message") or "")
        detail = f"{name}: {text}" if name and text else (name or text)
        if body.get("id"):
            detail += f" (request id {body['id']})"
        if detail:
            return name, detail
    return "", _snippet(response) if response.content else response.reason_phrase


def _failed(exc: BaseException) -> ModelError:
    return ModelError(f"{SERVICE} request failed: {type(exc).__name__}: {exc}")


def classify(exc: BaseException) -> ModelError | None:
    """A ModelError for a raw httpx exception (timeouts and connection errors are transient)."""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return ModelError(f"{SERVICE} request timed out ({type(exc).__name__})", transient=True)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return ModelError(
            f"{SERVICE} request has a bad URL: {exc}", hint="check options.extra.base_url"
        )
    if isinstance(exc, httpx.TransportError):
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return ModelError(f"could not reach {SERVICE}: {reason}", transient=True)
    if isinstance(exc, httpx.HTTPStatusError):
        _, detail = _error_detail(exc.response)
        return http_error(
            SERVICE, exc.response.status_code, detail, exc.response.headers, key_env=KEY_ENV
        )
    return None


def stability_image(config: ModelConfig) -> ImageModel:
    """The ``stability`` provider's factory: checks the key and options before any run."""
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise ProviderError(
            f"the Stability image provider needs an API key in the environment variable {KEY_ENV}",
            hint=f"export {KEY_ENV}=sk-... (https://platform.stability.ai/account/keys), "
            "or use the offline image provider 'sketch' (the default for image steps): "
            "--model NAME=sketch, or run with --dry-run",
        )
    options = config.options
    if options.aspect_ratio and options.aspect_ratio not in ASPECT_RATIOS:
        raise ProviderError(
            f"Stability does not support aspect_ratio {options.aspect_ratio}",
            hint=f"use one of {', '.join(ASPECT_RATIOS)}, or set width and height to get the "
            "nearest one",
        )
    if options.seed_number is not None and not 0 <= options.seed_number <= SEED_MAX:
        raise ProviderError(
            f"Stability seeds run from 0 to {SEED_MAX}, got {options.seed}",
            hint="0 asks for a random seed",
        )
    base_url = str(options.extra.get("base_url") or DEFAULT_BASE_URL)
    return StabilityImageModel(
        key,
        config.model,
        base_url=base_url,
        timeout=float(options.timeout or DEFAULT_TIMEOUT),
        transport=_TRANSPORT,
    )
