"""Resuming a run in its own folder: finished steps and items are kept (never called again, with
or without the cache), the rest runs with the run's own settings and templates, the manifest
ends done and the exports are written; a run killed with SIGKILL at any moment resumes to the
same outputs as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dramaturg
from dramaturg import ExportContext, FakeChatModel, load_chain, register_exporter, resume_run
from dramaturg.cli import app
from dramaturg.store.cache import cache_info
from dramaturg.store.rundir import RunDir

CHAIN = """
name: story
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake, seed: 4}
steps:
  ideas: {prompt: ideas.j2, parse: lines}
  expand:
    for_each: ideas
    as: idea
    prompt: expand.j2
  title: {prompt: {text: "Title for {{ expand | join(' ') }}"}}
exports: [joined]
"""
TEMPLATES = {
    "ideas.j2": "Ideas about {{ topic }}.",
    "expand.j2": "Expand: {{ idea }}",
}
IDEAS = "\n".join(f"idea {i}" for i in range(5))


def joined(ctx: ExportContext) -> list[Path]:
    target = ctx.run_dir / "joined.txt"
    target.write_text(" | ".join(ctx.result["expand"]) + "\n" + ctx.result["title"])
    return [target]


register_exporter("joined", joined)


def fake(**kw: Any) -> FakeChatModel:
    return FakeChatModel(responses={"ideas": IDEAS, "expand": lambda c: c.prompt.upper()}, **kw)


def failed_run(project: Callable[..., Path], tmp_path: Path) -> tuple[Path, Any]:
    """A run whose item 2 of `expand` failed for good; the other items finished."""
    path = project(CHAIN, TEMPLATES)
    first = fake(fail={"expand/2": "always"})
    result = load_chain(path).run({}, models={"default": first}, out=tmp_path / "out")
    assert result.status == "failed"
    return path, result


def test_resume_keeps_finished_items_and_runs_the_rest(project, tmp_path):
    path, failed = failed_run(project, tmp_path)
    second = fake()
    events: list[dict[str, Any]] = []
    result = resume_run(
        failed.run_dir, models={"default": second}, cache=False, on_event=events.append
    )
    assert result.ok and result.run_dir == failed.run_dir
    assert [(c.step, c.item) for c in second.calls] == [("expand", 2), ("title", None)]
    resumed = sorted((e["step"], e["item"]) for e in events if e["event"] == "resumed")
    assert resumed == [("expand", 0), ("expand", 1), ("expand", 3), ("expand", 4), ("ideas", None)]
    manifest = json.loads((failed.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["steps"]["expand"]["resumed"] == 4
    assert manifest["steps"]["ideas"]["resumed"] == 1
    assert manifest["resumed"][0]["templates"] == "run folder"
    assert manifest["run_id"] == failed.run_dir.name
    # the same outputs as a run that never failed; the exports are written
    clean = load_chain(path).run({}, models={"default": fake()}, out=tmp_path / "clean")
    assert result.outputs == clean.outputs
    assert (failed.run_dir / "joined.txt").read_text() == (clean.run_dir / "joined.txt").read_text()
    assert manifest["exports"] == {"joined": ["joined.txt"]}
    assert dramaturg.load_run(failed.run_dir).steps["expand"].resumed == 4


def test_resume_renders_with_the_templates_the_run_kept(project, tmp_path):
    _, failed = failed_run(project, tmp_path)
    (tmp_path / "prompts" / "expand.j2").write_text("Edited since: {{ idea }}")
    second = fake()
    resume_run(failed.run_dir, models={"default": second})
    assert second.calls_for("expand")[0].prompt == "Expand: idea 2"


def test_each_run_keeps_the_templates_its_includes_name_at_that_moment(project, tmp_path):
    # one Chain object, run twice; between the runs an included template starts including
    # another: the second run's folder keeps it too
    templates = {**TEMPLATES, "ideas.j2": "{% include 'about.j2' %}", "about.j2": "{{ topic }}"}
    chain = load_chain(project(CHAIN, templates))
    first = chain.run({}, models={"default": fake()}, out=tmp_path / "out")
    assert sorted(p.name for p in (first.run_dir / "templates").iterdir()) == [
        "about.j2",
        "expand.j2",
        "ideas.j2",
    ]
    (tmp_path / "prompts" / "about.j2").write_text("{% include 'more.j2' %}")
    (tmp_path / "prompts" / "more.j2").write_text("Ideas about {{ topic }}.")
    second = chain.run({}, models={"default": fake()}, out=tmp_path / "out")
    assert (second.run_dir / "templates" / "more.j2").read_text() == "Ideas about {{ topic }}."


def test_without_kept_templates_resume_says_it_uses_the_prompt_folders(project, tmp_path):
    import shutil

    _, failed = failed_run(project, tmp_path)
    shutil.rmtree(failed.run_dir / "templates")
    (tmp_path / "prompts" / "expand.j2").write_text("Edited since: {{ idea }}")
    events: list[dict[str, Any]] = []
    second = fake()
    resume_run(failed.run_dir, models={"default": second}, on_event=events.append)
    assert second.calls_for("expand")[0].prompt == "Edited since: idea 2"
    (announce,) = [e for e in events if e["event"] == "resume"]
    assert announce["templates"] == "prompt folders"
    assert str(tmp_path / "chains" / ".." / "prompts") in announce["template_folders"]
    manifest = json.loads((failed.run_dir / "manifest.json").read_text())
    assert manifest["resumed"][-1]["templates"] == "prompt folders"


def test_model_objects_must_be_given_again(project, tmp_path):
    _, failed = failed_run(project, tmp_path)
    with pytest.raises(dramaturg.InputError, match="Python object") as err:
        resume_run(failed.run_dir)
    assert "models={'default'" in str(err.value)


def test_a_folder_in_use_is_not_resumed(project, tmp_path):
    _, failed = failed_run(project, tmp_path)
    with RunDir(failed.run_dir).lock(), pytest.raises(dramaturg.InputError, match="in use"):
        resume_run(failed.run_dir, models={"default": fake()})


def test_resume_of_something_that_is_not_a_run(tmp_path):
    r = CliRunner().invoke(app, ["resume", str(tmp_path)])
    assert r.exit_code == 2
    assert "manifest.json not found" in r.output and "Traceback" not in r.output


# -- killed with SIGKILL, resumed from the command line ---------------------------------------
KILL_CHAIN = """
name: killme
inputs:
  topic: {type: string}
models:
  default: {provider: logged, seed: 3, extra: {latency: 0.12}}
steps:
  outline:
    prompt: {text: "Scenes about {{ topic }}"}
    parse: {type: json, schema: {type: array, items: {type: string}, minItems: 10, maxItems: 10}}
  scenes:
    for_each: outline
    as: scene
    prompt: {text: "Write scene {{ index }}: {{ scene }}"}
  notes:
    for_each: scenes
    prompt: {text: "Note on {{ item }}"}
  summary: {prompt: {text: "Summarise {{ notes | join(' ') }}"}}
"""

# runs the CLI with a provider `logged`: a fake whose every call is appended to $CALL_LOG and
# whose answers depend on the seed (so a resume that lost the run's seed would differ)
CLI = """
import os, sys
from dramaturg.providers.fakes import FakeChatModel, derived_response
from dramaturg.providers import get_registry
from dramaturg.providers.registry import Provider

class Logged(FakeChatModel):
    def _begin(self, messages, stop, metadata):
        call = super()._begin(messages, stop, metadata)
        with open(os.environ["CALL_LOG"], "a") as log:
            log.write(f"{call.step} {call.item}\\n")
        return call

    def _answer(self, call):
        return derived_response(f"{call.seed}|{call.prompt}", call.parse)

def text(config):
    return Logged(latency=float(config.options.extra.get("latency", 0)))

get_registry().add(Provider(name="logged", description="calls logged", text=text))
from dramaturg.cli import main
sys.argv = ["dramaturg", *sys.argv[1:]]
main()
"""


def finished(run_dir: Path) -> set[tuple[str, str]]:
    """(step, item) of every call the run folder records as finished."""
    done = set()
    for f in (run_dir / "steps").rglob("*.json"):
        if f.name.startswith("."):
            continue
        data = json.loads(f.read_text())
        if data.get("status") == "done":
            item = data.get("item")
            if item is not None or not isinstance(data.get("output"), list):
                done.add((data["step"], str(item)))
    return done


def test_sigkill_at_any_moment_then_resume_gives_the_uninterrupted_outputs(
    project, tmp_path, _own_step_cache
):
    chain = project(KILL_CHAIN)
    (tmp_path / "cli.py").write_text(textwrap.dedent(CLI))
    log = tmp_path / "calls.log"
    env = {**os.environ, "CALL_LOG": str(log), "PYTHONUNBUFFERED": "1"}
    args = ["--set", "topic=storms", "--seed", "5", "--no-cache", "--concurrency", "2", "-q"]

    def start(*cmd: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(tmp_path / "cli.py"), *cmd],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL

    out = tmp_path / "out"

    def run_dir() -> Path | None:
        found = list(out.iterdir()) if out.is_dir() else []
        return found[0] if found and (found[0] / "manifest.json").exists() else None

    def items(step: str) -> int:
        folder = (run_dir() or out) / "steps" / step
        return len(list(folder.glob("*.json"))) if folder.is_dir() else 0

    # killed: while the first step runs; in the first fan-out, twice; in the second
    points = [
        lambda: run_dir() is not None,
        lambda: items("scenes") >= 3,
        lambda: items("scenes") >= 7,
        lambda: items("notes") >= 2,
    ]
    kept: list[tuple[int, set[tuple[str, str]]]] = []  # (log lines at the kill, finished then)
    for n, point in enumerate(points):
        proc = start("run", str(chain), *args, "--out", str(out)) if n == 0 else None
        if proc is None:
            target = run_dir()
            assert target is not None
            proc = start("resume", str(target), "-q")  # without a cache, as the run
        kill_when(proc, point)
        target = run_dir()
        assert target is not None
        lines = log.read_text().splitlines() if log.exists() else []
        kept.append((len(lines), finished(target)))
    target = run_dir()
    assert target is not None
    proc = start("resume", str(target))
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, stderr
    assert "kept" in stderr
    assert cache_info(_own_step_cache).entries == 0  # what was kept came from the run folder

    # nothing the run folder held as finished when the process was killed was called again
    calls = [tuple(line.split()) for line in log.read_text().splitlines()]
    for at, done in kept:
        again = {c for c in calls[at:] if c in done}
        assert not again, f"finished calls executed again after a kill: {sorted(again)}"
    assert len(kept[2][1]) > len(kept[1][1]) > 0  # the kills really fell mid-run

    # the same outputs as an uninterrupted run with the same seed
    clean_out = tmp_path / "clean"
    proc = start("run", str(chain), *args, "--out", str(clean_out))
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, stderr
    (clean,) = list(clean_out.iterdir())
    for step in ("outline", "scenes", "notes", "summary"):
        resumed = json.loads((target / "steps" / f"{step}.json").read_text())
        uninterrupted = json.loads((clean / "steps" / f"{step}.json").read_text())
        assert resumed["output"] == uninterrupted["output"], step
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["status"] == "done" and len(manifest["resumed"]) == 4
    assert manifest["settings"]["seed"] == 5
    assert not [p for p in target.rglob("*") if p.name.endswith(".tmp")]


def test_resume_keeps_the_models_and_seed_the_run_was_given(project, tmp_path):
    path = project(CHAIN.replace("provider: fake,", "provider: fake, model: m1,"), TEMPLATES)
    r = CliRunner().invoke(
        app,
        ["run", str(path), "--model", "default=fake:m2", "--seed", "9", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "manifest.json").exists()]
    (run_dir / "steps" / "title.json").unlink()  # as if killed before the last step ended
    r = CliRunner().invoke(app, ["resume", str(run_dir)])
    assert r.exit_code == 0, r.output
    assert "kept ideas" in r.output and "kept expand" in r.output
    # the same call as in the run (model m2, seed 9): the run's cache entry answers it
    assert "title: from the step cache" in r.output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["models"]["default"]["model"] == "m2"
    assert manifest["settings"]["seed"] == 9 and manifest["status"] == "done"
