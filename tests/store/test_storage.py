"""Where a run keeps what it makes: a folder, or memory for a run given none. The runner writes
the same files to both; a run in memory leaves nothing on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dramaturg import FakeChatModel, RunStorageError, load_chain
from dramaturg.run.session import RunOptions
from dramaturg.store.storage import MemoryStore

CHAIN = """
name: story
prompts: ../prompts
models:
  default: {provider: fake}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand {{ idea }}"}}
  plot:
    prompt: {text: "Scenes for {{ expand | join(' ') }}"}
    parse: {type: json}
"""


def fake(plot: str = '{"scenes": 2}') -> FakeChatModel:
    return FakeChatModel(responses={"ideas": "one\ntwo", "plot": plot})


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_run_without_a_folder_writes_nothing_to_disk(project, tmp_path, monkeypatch):
    chain = load_chain(project(CHAIN))
    before = _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = chain.run({}, models={"default": fake()}, out=None, cache=False)
    assert result.ok and result["plot"] == {"scenes": 2}
    assert result.run_dir is None and result.run_id == "in-memory"
    assert _files(tmp_path) == before


def test_memory_keeps_the_files_a_folder_gets(project, tmp_path):
    """The runner has one path: the same records, prompts and manifest in memory as on disk."""
    chain = load_chain(project(CHAIN))
    on_disk = chain.run({}, models={"default": fake()}, out=tmp_path / "out", cache=False)
    assert on_disk.run_dir is not None
    store = MemoryStore()
    session = chain.session({}, RunOptions(cache=False), models={"default": fake()})
    in_memory = asyncio.run(session.run(store))
    assert in_memory.ok and in_memory.outputs == on_disk.outputs
    # the chain's snapshot, the call log and the report are for resumes, reruns and people
    folder_only = {"chain.yaml", "templates.json", "templates", "versions", "report.html"}
    expected = {f for f in _files(on_disk.run_dir) if f.split("/")[0] not in folder_only}
    assert set(store.files) == expected
    assert store.read_json("steps/expand/1.json")["output"] == on_disk["expand"][1]


def test_raw_answers_are_kept_and_named_only_where_a_person_can_look(project, tmp_path):
    chain = load_chain(project(CHAIN))
    kept = chain.run({}, models={"default": fake("not json")}, out=tmp_path / "out", backoff=0)
    error = kept.steps["plot"].error or ""
    assert kept.run_dir is not None and str(kept.run_dir / "steps/plot.raw.txt") in error
    store = MemoryStore()
    session = chain.session({}, RunOptions(cache=False, backoff=0), models={"default": fake("x")})
    result = asyncio.run(session.run(store))
    assert result.steps["plot"].status == "failed"
    assert "saved in" not in (result.steps["plot"].error or "")
    attempts = store.read_bytes("steps/plot.raw.txt").split(b"\n\n=== next attempt ===\n\n")
    assert attempts == [b"x"] * 3


@pytest.mark.parametrize("rel", ["../x.json", "/etc/x.json", "steps/../../x.json"])
def test_memory_refuses_paths_outside_the_run(rel):
    store = MemoryStore()
    with pytest.raises(RunStorageError):
        store.write_json(rel, {})
    assert store.files == []
