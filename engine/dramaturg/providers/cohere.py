"""The ``cohere`` text provider: Cohere chat models (v2 API) through ``langchain-cohere``.

The key comes from ``COHERE_API_KEY`` (or ``CO_API_KEY``). ``cohere`` and ``langchain_cohere``
are imported only when a model is built (importing this module loads neither).

The engine owns retrying: the Cohere SDK's own retries (twice by default on 429/408/409/5xx) are
turned off on every request (``request_options={"max_retries": 0}``), and :func:`classify` turns
the SDK's errors into :class:`~dramaturg.errors.ModelError` (429 and 5xx transient, with the
``Retry-After`` delay; a rejected key permanent, naming the variable), so the engine's policy
(per-model ``retries``, backoff, ``Retry-After``) is the only one.

Options: ``temperature``, ``max_tokens``, ``top_p`` (Cohere's ``p``), ``top_k`` (``k``),
``seed``, ``frequency_penalty``, ``presence_penalty``, ``stop`` and ``timeout`` (seconds per
HTTP request; default 120). ``repeat_penalty`` has no Cohere equivalent and is ignored.
``options.extra`` may hold ``base_url``, ``preamble`` and ``user_agent`` (model settings) and any
other parameter of Cohere's v2 chat request (``safety_mode``, ``thinking``, ``priority``,
``logprobs``, ``citation_options``, ...); other keys (e.g. a local model's ``n_ctx`` kept by a
``--model NAME=cohere`` override) are ignored.

Per-call metadata understood (``config={"metadata": {...}}`` on ``invoke``/``ainvoke``):

* ``dramaturg_parse = {"type": "json", "schema": {...}}`` (or any parser with a ``schema``): ask
  for JSON constrained by the schema (``response_format={"type": "json_object", "json_schema":
  ...}``, reduced to the subset Cohere accepts by :func:`cohere_schema`); without a schema, for
  any JSON object.
* ``dramaturg_seed = 7``: the sampling seed for this call, instead of the ``seed`` option.

A successful response whose body is not the JSON a chat response is made of (an HTML page from a
proxy, an object without ``message``, ...) becomes a permanent ModelError saying so, checked on
the raw body before the SDK and langchain-cohere read it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self

from dramaturg.errors import ProviderError
from dramaturg.providers.callmeta import call_metadata
from dramaturg.providers.cohere_http import check_async, check_sync, classify, ssl_context
from dramaturg.providers.cohere_schema import cohere_schema

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from dramaturg.providers.registry import ModelConfig

__all__ = [
    "DEFAULT_MODEL",
    "api_key",
    "chat_model_class",
    "classify",
    "cohere_text",
    "request_params",
]

DEFAULT_MODEL = "command-a-03-2025"
#: environment variables holding the key, first set one wins
KEY_ENVS = ("COHERE_API_KEY", "CO_API_KEY")
#: seconds per HTTP request unless the model's ``timeout`` option says otherwise
DEFAULT_TIMEOUT = 120.0
#: our option name -> Cohere's request parameter
OPTION_PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "top_p": "p",
    "top_k": "k",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
#: ``options.extra`` keys that are settings of the model object rather than request parameters
MODEL_SETTINGS = ("base_url", "preamble", "user_agent")
#: request parameters set by the engine or the adapter, never from ``options.extra``
RESERVED_PARAMS = frozenset({"self", "model", "messages", "stop_sequences", "request_options"})


def api_key() -> str | None:
    """The Cohere key from the environment (``COHERE_API_KEY``, then ``CO_API_KEY``)."""
    for name in KEY_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _missing_key() -> ProviderError:
    return ProviderError(
        "the cohere provider needs an API key: set the environment variable COHERE_API_KEY "
        "(or CO_API_KEY)",
        hint="export COHERE_API_KEY=... (https://dashboard.cohere.com/api-keys); or run "
        "without a key: --dry-run (fake models) or the default local model (provider: local)",
    )


# -- the LangChain model -----------------------------------------------------------------------
@functools.cache
def request_params() -> frozenset[str]:
    """The parameters of the installed Cohere SDK's v2 chat request."""
    from cohere.v2.client import AsyncV2Client

    return frozenset(inspect.signature(AsyncV2Client.chat).parameters) - RESERVED_PARAMS


@functools.cache
def chat_model_class() -> type[BaseChatModel]:
    """``DramaturgChatCohere``: ``ChatCohere`` with the engine's needs (built on first use)."""
    import cohere
    import httpx
    from langchain_cohere import ChatCohere
    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult
    from pydantic import Field, SecretStr, model_validator

    class CountedStreams:
        """The SDK's v2 client, whose streams end with the ``tokens`` counts in ``billed_units``
        too: ChatCohere counts a stream's usage from ``billed_units``, an answer's from
        ``tokens``, and a streamed run must count what an unstreamed one does."""

        def __init__(self, v2: Any) -> None:
            self.v2 = v2

        def __getattr__(self, name: str) -> Any:
            return getattr(self.v2, name)

        async def chat_stream(self, **request: Any) -> AsyncIterator[Any]:
            async for event in self.v2.chat_stream(**request):
                usage = getattr(getattr(event, "delta", None), "usage", None)
                if event.type == "message-end" and usage is not None and usage.tokens:
                    counts = {
                        "input_tokens": usage.tokens.input_tokens,
                        "output_tokens": usage.tokens.output_tokens,
                    }
                    billed = usage.billed_units
                    usage.billed_units = (
                        billed.model_copy(update=counts)
                        if billed is not None
                        else cohere.UsageBilledUnits(**counts)
                    )
                yield event

    class AsyncClient(cohere.AsyncClient):
        @property
        def v2(self) -> Any:
            return CountedStreams(super().v2)

    class DramaturgChatCohere(ChatCohere):
        """``ChatCohere`` (v2 API) that never retries on its own, sends every sampling option,
        follows the engine's per-call metadata and rejects malformed response bodies clearly.

        ``ChatCohere`` ignores unknown constructor arguments (``max_tokens=`` is silently
        dropped), so the options it lacks are fields here and go into every request.
        """

        max_tokens: int | None = None
        p: float | None = None
        k: int | None = None
        seed: int | None = None
        frequency_penalty: float | None = None
        presence_penalty: float | None = None
        #: further v2 chat request parameters sent on every call (safety_mode, thinking, ...)
        request_params: dict[str, Any] = Field(default_factory=dict)
        #: the Cohere SDK's own retries per request; 0 leaves retrying to the engine
        max_retries: int = 0

        @model_validator(mode="after")
        def validate_environment(self) -> Self:
            """Build the SDK clients (replaces ChatCohere's validator of the same name).

            Same settings as ChatCohere's (key, timeout, client name, base URL), on httpx
            clients that check response bodies; and never the network call ChatCohere makes
            to find a default model when ``model`` is empty.
            """
            secret = self.cohere_api_key
            key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            key = key or api_key() or ""
            if not self.model:
                self.model = DEFAULT_MODEL
            timeout = self.timeout_seconds
            common: dict[str, Any] = {
                "api_key": key,
                "timeout": timeout,
                "client_name": self.user_agent,
                "base_url": self.base_url,
            }
            self.client = cohere.Client(
                **common,
                httpx_client=httpx.Client(
                    timeout=timeout,
                    verify=ssl_context(),
                    follow_redirects=True,
                    event_hooks={"response": [check_sync]},
                ),
            )
            self.async_client = AsyncClient(
                **common,
                httpx_client=httpx.AsyncClient(
                    timeout=timeout,
                    verify=ssl_context(),
                    follow_redirects=True,
                    event_hooks={"response": [check_async]},
                ),
            )
            return self

        @property
        def _default_params(self) -> dict[str, Any]:
            # ChatCohere spreads these *and* the call's kwargs into one request, so a key in
            # both fails ("multiple values"); only the fixed ones stay here, the rest are
            # merged per call by _call_kwargs (call kwargs winning).
            params = {"model": self.model_name, "preamble": self.preamble}
            return {k: v for k, v in params.items() if v is not None}

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {**self._default_params, **self._sampling_params(), **self.request_params}

        def _sampling_params(self) -> dict[str, Any]:
            names = ("temperature", *(p for p in OPTION_PARAMS.values() if p != "temperature"))
            values = {name: getattr(self, name) for name in names}
            return {k: v for k, v in values.items() if v is not None}

        def _call_kwargs(self, metadata: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> Any:
            params: dict[str, Any] = {**self._sampling_params(), **self.request_params}
            meta = metadata or {}
            seed = meta.get("dramaturg_seed")
            if isinstance(seed, int) and not isinstance(seed, bool):
                params["seed"] = seed
            parse = meta.get("dramaturg_parse")
            if isinstance(parse, dict) and (parse.get("type") == "json" or parse.get("schema")):
                schema = cohere_schema(parse.get("schema"))
                params["response_format"] = (
                    {"type": "json_object", "json_schema": schema}
                    if schema
                    else {"type": "json_object"}
                )
            params.update(kwargs)
            params["request_options"] = {
                "max_retries": self.max_retries,
                **(kwargs.get("request_options") or {}),
            }
            return params

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            meta = call_metadata(run_manager)
            return super()._generate(
                messages,
                stop=self.stop if stop is None else stop,
                run_manager=run_manager,
                **self._call_kwargs(meta, kwargs),
            )

        async def _agenerate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            meta = call_metadata(run_manager)
            return await super()._agenerate(
                messages,
                stop=self.stop if stop is None else stop,
                run_manager=run_manager,
                **self._call_kwargs(meta, kwargs),
            )

        def _stream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[ChatGenerationChunk]:
            meta = call_metadata(run_manager)
            yield from super()._stream(
                messages,
                stop=self.stop if stop is None else stop,
                run_manager=run_manager,
                **self._call_kwargs(meta, kwargs),
            )

        async def _astream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> AsyncIterator[ChatGenerationChunk]:
            meta = call_metadata(run_manager)
            async for chunk in super()._astream(
                messages,
                stop=self.stop if stop is None else stop,
                run_manager=run_manager,
                **self._call_kwargs(meta, kwargs),
            ):
                yield chunk

    return DramaturgChatCohere


def cohere_text(config: ModelConfig) -> BaseChatModel:
    """The ``cohere`` provider's text factory: ``cohere`` / ``cohere:<model>``."""
    key = api_key()
    if key is None:
        raise _missing_key()
    from pydantic import ValidationError

    opts = config.options
    fields: dict[str, Any] = {
        "model": config.model or DEFAULT_MODEL,
        "cohere_api_key": key,
        "timeout_seconds": opts.timeout or DEFAULT_TIMEOUT,
    }
    for option, param in OPTION_PARAMS.items():
        value = getattr(opts, option)
        if value is not None:
            fields[param] = value
    if opts.stop:
        fields["stop"] = list(opts.stop)
    extra = dict(opts.extra)
    for name in MODEL_SETTINGS:
        if name in extra:
            fields[name] = extra.pop(name)
    cls = chat_model_class()
    known = request_params()
    fields["request_params"] = {k: v for k, v in extra.items() if k in known}
    try:
        return cls(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'model'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ProviderError(
            f"invalid options for the cohere provider: {problems}",
            hint="check the model's options and options.extra in the chain file",
        ) from None
