"""What the installed llama.cpp build asks of this CPU, the model settings that keep it safe, and
how many threads and contexts the embedded model gets on it by default.

Two hazards, both met on the project's machines (``docs/troubleshooting.md``):

* **AMX.** pip compiles llama-cpp-python with ``-march=native``. On a CPU that lists AMX, ggml then
  puts the weights in its AMX "extra buffer type" and its AMX kernels die with SIGILL or SIGSEGV
  at the first decode (seen on Xeon VMs). Loading with ``use_extra_bufts = False`` keeps ggml on
  its ordinary AVX2/AVX-512 kernels; on the bundled Q4_1 model this costs nothing (ggml repacks
  no Q4_1 weights, and both paths decoded at the same speed). ``extra: {use_extra_bufts: true}``
  on the model turns the extra buffers back on, for machines where they work.
* **A build made for another CPU.** pip caches the built wheel keyed on the sdist, not on the CPU:
  a cache carried to a machine without, say, AVX-512 would reinstall a build that dies with
  SIGILL. :func:`check_build` compares the instruction sets the build was compiled for with the
  ones ``/proc/cpuinfo`` lists and refuses to load, with the command that rebuilds it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dramaturg.errors import ProviderError

#: ggml's system-info names (compile-time flags of the CPU backend) -> /proc/cpuinfo flags
BUILD_TO_CPU_FLAG = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX_VNNI": "avx_vnni",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
#: only reached through the extra buffer types, which :func:`model_params` turns off
EXTRA_BUFFER_ONLY = frozenset({"AMX_INT8"})

REBUILD_COMMAND = "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python==0.3.36"

_PATCH_LOCK = threading.Lock()

#: models below this size get one thread per context and several contexts
SMALL_MODEL_BYTES = 1 << 30
#: at most this many contexts by default
MAX_DEFAULT_PARALLEL = 4


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(path: str | Path | None = None) -> int:
    """Threads per context: 1 for a small model, half the cores for a large one.

    Measured on 2 cores with the bundled 135M model: one stream decoded as fast on 1 thread as
    on 2, and two contexts of 1 thread each decoded 1.9x one stream.
    """
    if path is None or _size(path) < SMALL_MODEL_BYTES:
        return 1
    return max(1, _cores() // 2)


def default_parallel(path: str | Path | None = None) -> int:
    """Contexts: one per core for a small model (at most 4), one for a large model (whose KV
    cache would not fit many times)."""
    if path is not None and _size(path) >= SMALL_MODEL_BYTES:
        return 1
    return max(1, min(MAX_DEFAULT_PARALLEL, _cores()))


def _size(path: str | Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def build_features(system_info: str) -> set[str]:
    """The instruction sets named ``= 1`` in llama.cpp's system info (``CPU : AVX2 = 1 | ...``)."""
    found: set[str] = set()
    for part in system_info.replace("\n", "|").split("|"):
        name, _, value = part.partition("=")
        name = name.split(":")[-1].strip()
        if name in BUILD_TO_CPU_FLAG and value.strip() == "1":
            found.add(name)
    return found


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The flags of the first processor in ``/proc/cpuinfo``; ``None`` where it cannot be read."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return set(value.split())
    except OSError:
        return None
    return None


def missing_features(system_info: str, flags: set[str] | None, *, extra_buffers: bool) -> list[str]:
    """Instruction sets the build uses that this CPU lacks (``[]`` when unknown)."""
    if flags is None:
        return []
    missing = []
    for name in sorted(build_features(system_info)):
        if name in EXTRA_BUFFER_ONLY and not extra_buffers:
            continue
        if BUILD_TO_CPU_FLAG[name] not in flags:
            missing.append(name)
    return missing


def check_build(llama_cpp: Any, *, extra_buffers: bool = False) -> None:
    """Refuse, with the rebuild command, a llama.cpp build compiled for another CPU."""
    try:
        raw = llama_cpp.llama_print_system_info()
    except Exception:  # an older or unusual build: nothing to compare
        return
    info = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    missing = missing_features(info, cpu_flags(), extra_buffers=extra_buffers)
    if missing:
        raise ProviderError(
            "the installed llama-cpp-python was compiled for another CPU: it uses "
            f"{', '.join(missing)}, which this CPU does not have (loading it would crash)",
            hint=f"rebuild it for this machine: {REBUILD_COMMAND}",
        )


def llama_model_params(low: Any, *, extra_buffers: bool = False) -> Any:
    """llama.cpp's default model parameters (``low`` is ``llama_cpp.llama_cpp``), with ggml's
    extra buffer types on only when asked for."""
    params = low.llama_model_default_params()
    if hasattr(params, "use_extra_bufts"):
        params.use_extra_bufts = extra_buffers
    return params


@contextlib.contextmanager
def model_params(llama_cpp: Any, *, extra_buffers: bool = False) -> Iterator[None]:
    """While inside, ``llama_cpp.Llama(...)`` loads with ``use_extra_bufts = extra_buffers``
    (for code that loads through the high-level API, such as the benchmarks' baseline).

    ``Llama.__init__`` takes its model parameters from ``llama_model_default_params()`` and
    offers no argument for this field, so the function is wrapped for the duration of the load
    (under a lock: one load at a time) and restored afterwards.
    """
    low = llama_cpp.llama_cpp
    with _PATCH_LOCK:
        original = low.llama_model_default_params

        def params() -> Any:
            p = original()
            if hasattr(p, "use_extra_bufts"):
                p.use_extra_bufts = extra_buffers
            return p

        low.llama_model_default_params = params
        try:
            yield
        finally:
            low.llama_model_default_params = original
