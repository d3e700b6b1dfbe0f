"""Exporters run after a successful run, write inside the run folder, are recorded in the
manifest, and can be run again on a finished run with `dramaturg export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dramaturg import (
    ChainError,
    ExportContext,
    ExportError,
    FakeChatModel,
    load_chain,
    load_run,
    register_exporter,
)
from dramaturg.cli import app

SEEN: list[ExportContext] = []


def summary(ctx: ExportContext) -> list[Path]:
    SEEN.append(ctx)
    target = ctx.run_dir / "summary.txt"
    sep = ctx.options.get("sep", " / ")
    target.write_text(sep.join(str(ctx.result[s]) for s in ctx.result.output_steps))
    return [target]


def broken(ctx: ExportContext) -> list[Path]:
    raise ValueError("no ink left")


def escaping(ctx: ExportContext) -> list[Path]:
    return [ctx.run_dir.parent / "elsewhere.txt"]


register_exporter("summary", summary)
register_exporter("broken", broken)
register_exporter("escaping", escaping)

CHAIN = """
name: ex
models: {default: {provider: fake}}
inputs:
  topic: {type: string, default: tides}
steps:
  title: {prompt: {text: "t {{ topic }}"}}
  logline: {prompt: {text: "l {{ title }}"}}
exports:
  - {type: summary, options: {sep: " | "}}
"""


def test_exporter_runs_after_a_successful_run(project, tmp_path):
    fake = FakeChatModel(responses={"title": "Salt", "logline": "Road"})
    result = load_chain(project(CHAIN)).run({}, models={"default": fake}, out=tmp_path / "o")
    assert (result.run_dir / "summary.txt").read_text() == "Salt | Road"
    assert result.exports == {"summary": ["summary.txt"]}
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["exports"] == {"summary": ["summary.txt"]}
    assert (result.run_dir / "chain.yaml").read_text().startswith("name: ex")


def test_no_export_after_a_failed_run(project, tmp_path):
    fake = FakeChatModel(fail={"logline": "always"})
    result = load_chain(project(CHAIN)).run({}, models={"default": fake}, out=tmp_path / "o")
    assert not result.ok and not (result.run_dir / "summary.txt").exists()


def test_unknown_exporter_is_a_validation_error(project):
    with pytest.raises(ChainError, match="unknown exporter 'pdfx'"):
        load_chain(project(CHAIN.replace("type: summary", "type: pdfx")))


def test_failing_exporter_keeps_the_run_and_says_so(project, tmp_path):
    path = project(
        CHAIN.replace('- {type: summary, options: {sep: " | "}}', "- broken\n  - summary")
    )
    with pytest.raises(ExportError, match="exporter 'broken' failed: ValueError: no ink left"):
        load_chain(path).run({}, out=tmp_path / "o")
    run_dir = next((tmp_path / "o").iterdir())
    assert (run_dir / "summary.txt").exists()  # the others still ran
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["export_errors"]
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o2")])
    assert r.exit_code == 1 and "no ink left" in r.output and "Traceback" not in r.output


def test_exporter_may_not_write_outside_the_run_folder(project, tmp_path):
    path = project(CHAIN.replace('{type: summary, options: {sep: " | "}}', "escaping"))
    with pytest.raises(ExportError, match="outside the run folder"):
        load_chain(path).run({}, out=tmp_path / "o")


def test_export_command_reexports_an_edited_run(project, tmp_path):
    fake = FakeChatModel(responses={"title": "Salt", "logline": "Road"})
    result = load_chain(project(CHAIN)).run({}, models={"default": fake}, out=tmp_path / "o")
    loaded = load_run(result.run_dir)
    assert loaded.outputs == result.outputs and loaded.ok
    assert loaded.inputs == result.inputs == {"topic": "tides"}
    assert loaded.steps["title"].usage.calls == 1
    step_file = result.run_dir / "steps/title.json"
    data = json.loads(step_file.read_text())
    data["output"] = "Pepper"
    step_file.write_text(json.dumps(data))
    SEEN.clear()
    r = CliRunner().invoke(app, ["export", str(result.run_dir), "--format", "txt"])
    assert r.exit_code == 0, r.output
    assert (result.run_dir / "summary.txt").read_text() == "Pepper | Road"
    assert SEEN[-1].formats == ["txt"]
    assert "summary: " in r.output
    r = CliRunner().invoke(app, ["export", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "manifest.json not found" in r.output
