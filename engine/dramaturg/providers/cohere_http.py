"""What the ``cohere`` provider makes of Cohere's HTTP answers: a successful response's body
checked before the SDK reads it, and the SDK's and httpx's errors turned into
:class:`~dramaturg.errors.ModelError` (transient or not, with ``Retry-After``)."""

from __future__ import annotations

import functools
import json
import ssl
from typing import TYPE_CHECKING, Any

from dramaturg.errors import ModelError
from dramaturg.providers.retry import http_error

if TYPE_CHECKING:
    import httpx

SERVICE = "Cohere"
KEY_ENV_HINT = "COHERE_API_KEY (or CO_API_KEY)"


def malformed(status: int | None, problem: str, body: bytes | str | None = None) -> ModelError:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    start = " ".join((body or "").split())[:120]
    shown = f"; the body starts with {start!r}" if start else "; the body is empty"
    return ModelError(
        f"{SERVICE} returned a malformed response (HTTP {status}): {problem}{shown}",
        hint="a proxy or a wrong base_url can cause this; otherwise it is on Cohere's side "
        "(retrying the same request will not help)",
        status=status,
    )


def chat_body_problem(data: Any) -> str | None:
    """What is wrong with a decoded v2 chat response body, or None if langchain-cohere can read it.

    Checks exactly what ``ChatCohere`` relies on: ``message`` is an object, its ``content`` and
    ``tool_calls`` are lists of objects, and ``usage`` (when present) carries ``tokens``.
    """
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    message = data.get("message")
    if not isinstance(message, dict):
        return "it has no 'message' object"
    content = message.get("content")
    if content is not None and not (
        isinstance(content, list)
        and all(isinstance(c, dict) and isinstance(c.get("type"), str) for c in content)
    ):
        return "'message.content' is not a list of content blocks"
    calls = message.get("tool_calls")
    if calls is not None and not (
        isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
    ):
        return "'message.tool_calls' is not a list of objects"
    usage = data.get("usage")
    if usage is not None:
        tokens = usage.get("tokens") if isinstance(usage, dict) else None
        if not isinstance(tokens, dict) or not all(
            isinstance(tokens.get(k), (int, float, type(None)))
            for k in ("input_tokens", "output_tokens")
        ):
            return "'usage' has no 'tokens' counts"
    return None


def _is_chat_reply(response: httpx.Response) -> bool:
    """A successful, non-streaming answer to a v2 chat request (the bodies worth checking)."""
    if not 200 <= response.status_code < 300:
        return False
    if not response.request.url.path.rstrip("/").endswith("/v2/chat"):
        return False
    if "event-stream" in response.headers.get("content-type", ""):
        return False
    try:
        sent = json.loads(response.request.content or b"{}")
    except ValueError:
        return True
    return not (isinstance(sent, dict) and sent.get("stream") is True)


def check_chat_body(response: httpx.Response) -> None:
    """Raise a permanent ModelError if ``response`` (already read) is no chat response."""
    if not _is_chat_reply(response):
        return
    try:
        data = json.loads(response.content)
    except ValueError:
        raise malformed(response.status_code, "the body is not JSON", response.content) from None
    problem = chat_body_problem(data)
    if problem:
        raise malformed(response.status_code, problem, response.content)


def check_sync(response: httpx.Response) -> None:
    if _is_chat_reply(response):
        response.read()
        check_chat_body(response)


async def check_async(response: httpx.Response) -> None:
    if _is_chat_reply(response):
        await response.aread()
        check_chat_body(response)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every client (building one costs ~50 ms: the CA bundle is parsed)."""
    import httpx

    return httpx.create_ssl_context()


def _detail(body: Any) -> str:
    """Cohere's error message from an error body (``{"message": ...}``), else the body."""
    if isinstance(body, dict):
        for name in ("message", "detail", "error"):
            if body.get(name):
                return str(body[name])
        return json.dumps(body, default=str)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return " ".join(str(body if body is not None else "").split()) or "no details"


def _api_error_class() -> type[BaseException] | None:
    """The Cohere SDK's base HTTP error class (None when the SDK is not installed)."""
    try:
        from cohere.core.api_error import ApiError
    except ImportError:  # then none of its errors can occur
        return None
    return ApiError


def classify(exc: BaseException) -> ModelError | None:
    """A ModelError for an exception from the Cohere SDK or its HTTP layer; None if unknown."""
    if isinstance(exc, ModelError):
        return exc
    api_error = _api_error_class()
    if api_error is not None and isinstance(exc, api_error):
        status: int | None = getattr(exc, "status_code", None)
        headers = {str(k).lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}
        body = getattr(exc, "body", None)
        if status is None:
            return ModelError(f"{SERVICE} client error: {_detail(body)}")
        if 200 <= status < 300:  # the SDK could not decode a successful response
            return malformed(status, "the body is not a chat response", _detail(body))
        if status == 498:  # Cohere's "invalid token"
            return ModelError(
                f"{SERVICE} rejected the API key (498): {_detail(body)[:300]}",
                hint=f"set a valid key in the environment variable {KEY_ENV_HINT}",
                status=status,
            )
        return http_error(SERVICE, status, _detail(body), headers, key_env=KEY_ENV_HINT)
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        return None
    if isinstance(exc, httpx.TimeoutException):
        return ModelError(
            f"{SERVICE} did not answer in time ({type(exc).__name__})",
            hint="raise the model's timeout option if long answers are expected",
            transient=True,
        )
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return ModelError(
            f"cannot send the request to {SERVICE}: {exc}", hint="check base_url if you set one"
        )
    if isinstance(exc, httpx.TransportError):  # connect/read/write errors, proxies, protocol
        return ModelError(
            f"connection to {SERVICE} failed: {type(exc).__name__}: {exc}", transient=True
        )
    if isinstance(exc, httpx.DecodingError):
        return malformed(None, f"the body cannot be decoded ({exc})")
    return None
