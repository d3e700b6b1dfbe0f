"""manifest.json as one typed model: what a run writes, what every command reads back, files
written before the manifest had a version, newer files, and keys this version does not know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dramaturg
from dramaturg import FakeChatModel, InputError, load_chain, load_run
from dramaturg.cli import app
from dramaturg.store.manifest import MANIFEST_VERSION, Manifest
from dramaturg.store.readback import read_manifest

CHAIN = """
name: story
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake}
steps:
  ideas: {prompt: {text: "Ideas about {{ topic }}"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand {{ idea }}"}}
  title: {prompt: {text: "Title for {{ expand | join(' / ') }}"}}
"""


def fake() -> FakeChatModel:
    return FakeChatModel(responses={"ideas": "one\ntwo", "title": "Tides"})


@pytest.fixture
def run_dir(project, tmp_path) -> Path:
    result = load_chain(project(CHAIN)).run({}, models={"default": fake()}, out=tmp_path / "out")
    assert result.ok and result.run_dir is not None
    return result.run_dir


def _edit(run_dir: Path, change: Any) -> None:
    path = run_dir / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_run_writes_a_versioned_manifest_that_reads_back_typed(run_dir):
    data = json.loads((run_dir / "manifest.json").read_text())
    assert data["manifest_version"] == MANIFEST_VERSION
    manifest = read_manifest(run_dir)
    assert manifest.status == "done" and manifest.chain.name == "story"
    assert manifest.steps["expand"].items is not None
    assert manifest.steps["expand"].items.total == 2
    assert manifest.steps["title"].usage.calls == 1
    assert manifest.usage.calls == 4  # ideas, two items, title
    # what the model writes back is what the run wrote: no key added, none lost
    assert manifest.to_json() == data


def test_a_manifest_from_before_versions_still_reads_and_resumes(run_dir):
    """Today's files have no manifest_version: they read as version 0, the same layout."""
    _edit(run_dir, lambda d: d.pop("manifest_version"))
    assert read_manifest(run_dir).manifest_version == 0
    assert load_run(run_dir)["title"] == "Tides"
    shown = CliRunner().invoke(app, ["runs", "show", str(run_dir)])
    assert shown.exit_code == 0, shown.output
    resumed = dramaturg.resume_run(run_dir, models={"default": fake()})
    assert resumed.ok
    rerun = dramaturg.rerun(run_dir, only=["title"], models={"default": fake()}, cache=False)
    assert rerun.ok and read_manifest(run_dir).manifest_version == MANIFEST_VERSION


def test_a_manifest_from_a_newer_dramaturg_is_refused_with_a_hint(run_dir):
    _edit(run_dir, lambda d: d.update(manifest_version=MANIFEST_VERSION + 1, dramaturg="9.0"))
    with pytest.raises(InputError) as caught:
        load_run(run_dir)
    assert "newer Dramaturg" in str(caught.value) and "9.0" in str(caught.value)
    assert caught.value.hint is not None and "upgrade" in caught.value.hint
    shown = CliRunner().invoke(app, ["runs", "show", str(run_dir)])
    assert shown.exit_code == 2
    assert "newer Dramaturg" in shown.output and "Traceback" not in shown.output


@pytest.mark.parametrize("value", ["1", -1, 1.5, True])
def test_a_damaged_version_names_the_key(run_dir, value):
    _edit(run_dir, lambda d: d.update(manifest_version=value))
    with pytest.raises(InputError, match="manifest_version"):
        read_manifest(run_dir)


def test_keys_this_version_does_not_know_survive_a_cowrite(run_dir):
    """A newer Dramaturg (or a tool) may add keys; an edit here writes them back unchanged."""

    def add(d: dict[str, Any]) -> None:
        d["studio"] = {"layout": "wide"}
        d["steps"]["ideas"]["note"] = "keep me"

    _edit(run_dir, add)
    dramaturg.edit_step(run_dir, "ideas", "one\ntwo\nthree")
    data = json.loads((run_dir / "manifest.json").read_text())
    assert data["studio"] == {"layout": "wide"}
    assert data["steps"]["ideas"]["note"] == "keep me"
    assert data["steps"]["expand"]["stale"] == {"because": ["ideas"]}


def test_defaults_are_what_a_missing_key_means():
    manifest = Manifest.parse({"dramaturg": "0.1", "status": "done"}, "m.json")
    assert manifest.steps == {} and manifest.inputs == {}
    assert manifest.total_cost is None and manifest.cost.currency == "USD"
    assert manifest.step("nowhere").status == "pending"
    assert manifest.to_json() == {"dramaturg": "0.1", "status": "done"}


def test_a_failed_run_writes_what_the_model_reads(project, tmp_path):
    """Failed, skipped and fan-out steps, costs by model: every part a run writes parses into
    the model and dumps back unchanged (the run builds its manifest as plain data)."""
    broken = FakeChatModel(fail={"expand": "always"})
    result = load_chain(project(CHAIN)).run({}, models={"default": broken}, out=tmp_path / "o")
    assert result.run_dir is not None and not result.ok
    data = json.loads((result.run_dir / "manifest.json").read_text())
    manifest = Manifest.parse(data, "manifest.json")
    assert manifest.to_json() == data
    assert manifest.steps["expand"].error is not None
    assert manifest.steps["title"].skipped_because == "expand"
    assert manifest.by_model and manifest.cost.currency
