"""Streaming (``stream=True``): each answer comes to ``on_event`` in ``token`` events as the model
writes it, ``token_reset`` drops the text of a try that is not kept, and nothing else changes:
the outputs, the run folder, the step cache and the usage are those of a run without."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from dramaturg import Event, FakeChatModel, load_chain
from dramaturg.events import (
    ItemFinished,
    LoopResampled,
    ParseFailed,
    Retry,
    StepFinished,
    Token,
    TokenReset,
)
from dramaturg.observe.tracker import Board

CHAIN = """
name: streamed
models: {default: {provider: fake}}
steps:
  title: {prompt: {text: "Name a play about {{ topic }}"}}
  ideas: {prompt: {text: "Ideas for {{ title }}"}, parse: lines}
  scene: {for_each: ideas, as: idea, prompt: {text: "A scene about {{ idea }}"}}
inputs:
  topic: {type: string, default: storms}
"""

LONG = " ".join(f"word{i}" for i in range(60)) + "."
IDEAS = "1. a keeper of storms\n2. a bottled gale\n3. the last lighthouse"


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential-like variable in the environment: a piece that might start one would wait
    for the text after it (tested apart, below)."""
    for name in list(os.environ):
        if re.search(r"API_?KEY|TOKEN|SECRET|PASSWORD", name, re.IGNORECASE):
            monkeypatch.delenv(name)


def folded(events: list[Event]) -> dict[tuple[str, int | None], str]:
    """The text of each call as a listener keeps it: tokens appended, a reset empties it."""
    texts: dict[tuple[str, int | None], str] = {}
    for e in events:
        if isinstance(e, Token):
            texts[(e.step, e.item)] = texts.get((e.step, e.item), "") + e.text
        elif isinstance(e, TokenReset):
            texts[(e.step, e.item)] = ""
    return texts


def raw_answers(run_dir: Path) -> dict[tuple[str, int | None], str]:
    """The raw answer of each call, as the run folder keeps it."""
    out: dict[tuple[str, int | None], str] = {}
    for path in (run_dir / "steps").rglob("*.json"):
        data = json.loads(path.read_text())
        if "raw" in data:
            out[(data["step"], data.get("item"))] = data["raw"]
    return out


def fake(**kw: Any) -> FakeChatModel:
    return FakeChatModel(responses={"title": LONG, "ideas": IDEAS}, **kw)


def test_tokens_come_while_the_model_writes_and_make_the_answer_kept(project, tmp_path):
    model = fake(stream_latency=0.001)
    events: list[Event] = []
    title_in_flight: list[bool] = []

    def on_event(event: Event) -> None:
        if isinstance(event, Token) and event.step == "title" and not title_in_flight:
            title_in_flight.append(model.calls_for("title")[0].ended == 0.0)
        events.append(event)

    chain = load_chain(project(CHAIN))
    result = chain.run(models={"default": model}, out=tmp_path, stream=True, on_event=on_event)
    assert result.ok
    assert title_in_flight == [True]  # the first piece came before the model's call ended
    tokens = [e for e in events if isinstance(e, Token)]
    assert len([t for t in tokens if t.step == "title"]) > 10  # in pieces, not whole
    assert {t.attempt for t in tokens} == {0}
    assert folded(events) == raw_answers(result.run_dir)
    assert set(folded(events)) == {("title", None), ("ideas", None)} | {
        ("scene", i) for i in range(3)
    }
    # a call's tokens all come before its item, and its step, is finished
    for i, e in enumerate(events):
        if isinstance(e, (ItemFinished, StepFinished)):
            item = e.item if isinstance(e, ItemFinished) else None
            late = [
                x
                for x in events[i:]
                if isinstance(x, Token) and x.step == e.step and item in (None, x.item)
            ]
            assert late == [], e


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_times(v)
            for k, v in value.items()
            if k not in {"time", "queued", "started", "ended", "began", "run_id", "duration"}
        }
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def folder_content(run_dir: Path) -> dict[str, Any]:
    """What a run folder holds, but for times and the run's own id and paths."""
    out: dict[str, Any] = {}
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir).as_posix()
        if not path.is_file() or rel == "report.html":
            continue
        if rel == "versions/calls.jsonl":
            out[rel] = [_without_times(json.loads(x)) for x in path.read_text().splitlines()]
        elif path.suffix == ".json":
            data = _without_times(json.loads(path.read_text()))
            if rel == "manifest.json":
                data.pop("chain", None)  # its path
            out[rel] = data
        else:
            out[rel] = path.read_text()
    return out


def test_a_streamed_run_is_the_run_without_streaming(project, tmp_path):
    chain = load_chain(project(CHAIN))
    quiet: list[Event] = []
    plain = chain.run(
        models={"default": fake()}, out=tmp_path / "a", cache=False, on_event=quiet.append
    )
    streamed = chain.run(models={"default": fake()}, out=tmp_path / "b", cache=False, stream=True)
    assert plain.ok and streamed.ok
    assert not [e for e in quiet if isinstance(e, (Token, TokenReset))]
    assert streamed.outputs == plain.outputs
    assert streamed.usage == plain.usage
    assert folder_content(streamed.run_dir) == folder_content(plain.run_dir)


def test_the_step_cache_answers_a_streamed_run_without_tokens(project, tmp_path):
    """A run without streaming fills the cache, a streamed one finds every call there (the
    same keys); a cached call streams nothing (its answer is in the step's output)."""
    chain = load_chain(project(CHAIN))
    plain = chain.run(models={"default": fake()}, out=None, cache=tmp_path / "c")
    events: list[Event] = []
    model = fake()
    again = chain.run(
        models={"default": model},
        out=None,
        cache=tmp_path / "c",
        stream=True,
        on_event=events.append,
    )
    assert again.outputs == plain.outputs
    assert model.calls == []
    assert [e for e in events if isinstance(e, (Token, TokenReset))] == []
    assert sum(s.cached for s in again.steps.values()) == 5


FLAKY = """
name: flaky
models:
  default:
    provider: flaky
    seed: 3
    retries: 12
    extra: {failure_rate: 0.5, fault_seed: 1, faults: [disconnect]}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: lines}
  scene: {for_each: ideas, as: idea, prompt: {text: "Expand: {{ idea }}"}}
"""


def test_a_try_broken_mid_answer_is_dropped_and_the_retry_streams_the_answer(project, tmp_path):
    events: list[Event] = []
    chain = load_chain(project(FLAKY, name="flaky"))
    result = chain.run(
        out=tmp_path, backoff=0.001, cache=False, stream=True, on_event=events.append
    )
    assert result.ok
    resets = [e for e in events if isinstance(e, TokenReset)]
    assert resets and {r.reason for r in resets} == {"error"}
    for reset in resets:
        i = events.index(reset)
        same = [
            e
            for e in events[:i]
            if isinstance(e, Token)
            and (e.step, e.item, e.attempt) == (reset.step, reset.item, reset.attempt)
        ]
        assert same  # part of the answer came before the connection broke
        retry = events[i + 1]
        assert isinstance(retry, Retry) and (retry.step, retry.item) == (reset.step, reset.item)
        after = [
            e
            for e in events[i:]
            if isinstance(e, Token) and (e.step, e.item) == (reset.step, reset.item)
        ]
        assert after and all(t.attempt > reset.attempt for t in after)
    assert folded(events) == raw_answers(result.run_dir)


PARSED = """
name: parsed
models: {default: {provider: fake}}
steps:
  plan:
    prompt: {text: "A plan as JSON"}
    parse: json
    attempts: 2
"""


def test_an_answer_that_does_not_parse_is_dropped_before_the_next_one(project, tmp_path):
    model = FakeChatModel(responses={"plan": ["Sorry, no JSON today.", '{"acts": 3}']})
    events: list[Event] = []
    chain = load_chain(project(PARSED, name="parsed"))
    result = chain.run(
        models={"default": model}, out=tmp_path, cache=False, stream=True, on_event=events.append
    )
    assert result["plan"] == {"acts": 3}
    kinds = [(type(e).__name__, getattr(e, "attempt", None)) for e in events]
    first_reset = kinds.index(("TokenReset", 0))
    assert ("Token", 0) in kinds[:first_reset]
    assert kinds[first_reset + 1] == ("ParseFailed", 0)
    assert ("Token", 1) in kinds[first_reset:]
    reset = events[first_reset]
    assert isinstance(reset, TokenReset) and reset.reason == "parse"
    assert isinstance(events[first_reset + 1], ParseFailed)
    assert folded(events) == {("plan", None): '{"acts": 3}'} == raw_answers(result.run_dir)


LOOPS = """
name: loops
models: {default: {provider: fake}}
steps:
  lines:
    prompt: {text: "Write lines about the harbour at night."}
    parse: {type: lines, loops: {resamples: 1}}
"""


def test_a_resample_drops_the_answer_and_the_sample_kept_is_sent_again(project, tmp_path):
    once = "We sail at dawn with the tide.\nThe keeper waits.\nWe sail at dawn with the tide."
    twice = f"{once}\nThe keeper waits.\nWe sail at dawn with the tide."
    model = FakeChatModel(responses={"lines": [once, twice]})
    events: list[Event] = []
    chain = load_chain(project(LOOPS, name="loops"))
    result = chain.run(
        models={"default": model}, out=tmp_path, cache=False, stream=True, on_event=events.append
    )
    assert result.ok
    resets = [e for e in events if isinstance(e, TokenReset)]
    assert [(r.attempt, r.reason) for r in resets] == [(0, "resample"), (1, "final")]
    assert isinstance(events[events.index(resets[0]) + 1], LoopResampled)
    # the first sample repeats less: it is kept, and sent again whole
    last = events[events.index(resets[1]) + 1]
    assert isinstance(last, Token) and (last.attempt, last.text) == (0, once)
    assert folded(events) == {("lines", None): once} == raw_answers(result.run_dir)


class Chunky(BaseChatModel):
    """A third-party model streaming its answer three characters at a time."""

    answer: str

    @property
    def _llm_type(self) -> str:
        return "chunky"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answer))])

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for i in range(0, len(self.answer), 3):
            yield ChatGenerationChunk(message=AIMessageChunk(content=self.answer[i : i + 3]))


class Whole(BaseChatModel):
    """A third-party model that cannot stream."""

    answer: str

    @property
    def _llm_type(self) -> str:
        return "whole"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answer))])


ONE = """
name: one
models: {default: {provider: fake}}
steps:
  title: {prompt: {text: "Name it"}}
"""


def test_any_langchain_model_streams_and_one_that_cannot_gives_one_token(project, tmp_path):
    chain = load_chain(project(ONE, name="one"))
    events: list[Event] = []
    answer = "The Salt Road, a play in three acts"
    result = chain.run(
        models={"default": Chunky(answer=answer)},
        out=None,
        cache=False,
        stream=True,
        on_event=events.append,
    )
    assert result["title"] == answer
    pieces = [e.text for e in events if isinstance(e, Token)]
    assert len(pieces) > 5 and "".join(pieces) == answer

    events.clear()
    result = chain.run(
        models={"default": Whole(answer=answer)},
        out=None,
        cache=False,
        stream=True,
        on_event=events.append,
    )
    assert result["title"] == answer
    assert [e.text for e in events if isinstance(e, Token)] == [answer]


def test_a_key_the_model_echoes_is_masked_in_the_tokens_too(project, monkeypatch):
    key = "sk-live-0123456789abcdefXYZ"
    monkeypatch.setenv("PLAYWRIGHT_API_KEY", key)
    answer = f"Here it is: {key} and Bearer abcdefghijklmnop, then more words."
    chain = load_chain(project(ONE, name="one"))
    events: list[Event] = []
    result = chain.run(
        models={"default": Chunky(answer=answer)},
        out=None,
        cache=False,
        stream=True,
        on_event=events.append,
    )
    text = "".join(e.text for e in events if isinstance(e, Token))
    assert text == result["title"] == "Here it is: *** and Bearer ***, then more words."
    for e in events:
        if isinstance(e, Token):
            assert not any(key[i : i + 4] in e.text for i in range(len(key) - 3)), e
            assert "abcd" not in e.text and "mnop" not in e.text, e


def test_the_progress_displays_take_streamed_runs(project, tmp_path, capsys):
    from dramaturg.observe.jsonevents import JsonEvents
    from dramaturg.observe.progress import Printer

    board = Board()
    printer = Printer()
    lines = JsonEvents()
    chain = load_chain(project(CHAIN))

    def on_event(event: Event) -> None:
        board.apply(event)
        printer(event)
        lines(event)

    result = chain.run(models={"default": fake()}, out=None, stream=True, on_event=on_event)
    assert result.ok
    assert {s.status for s in board.steps.values()} == {"done"}
    # --json leaves the tokens out unless asked for them
    printed = [json.loads(x)["event"] for x in capsys.readouterr().out.splitlines()]
    assert "step_finished" in printed and "token" not in printed


async def test_stopping_a_streamed_run_stops_its_calls(project, tmp_path):
    model = fake(stream_latency=0.01)
    chain = load_chain(project(CHAIN))
    first = asyncio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, Token):
            first.set()

    task = asyncio.ensure_future(
        chain.arun(models={"default": model}, out=tmp_path, stream=True, on_event=on_event)
    )
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (call,) = model.calls
    assert call.step == "title" and call.ended > 0  # the stream was closed, not left running
    manifest = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert manifest["status"] == "interrupted"
