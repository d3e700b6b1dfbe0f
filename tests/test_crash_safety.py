"""Crash safety: runs killed with SIGKILL at random moments leave no damaged file (run folder or
step cache), and ``resume`` finishes them with the outputs of an uninterrupted run; one run
folder is never worked on by two processes at once; a full disk or an unusable output folder
gives one clear message.

The kill trials run the CLI in subprocesses on the ``flaky`` provider (latency, a few transient
faults, images), sharing one step cache; ``DRAMATURG_KILL_TRIALS`` sets their number (12 here;
20 or more for a release).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from dramaturg import FakeChatModel, load_chain, resume_run
from dramaturg.cli import app
from dramaturg.errors import RunStorageError

TRIALS = int(os.environ.get("DRAMATURG_KILL_TRIALS", "12"))

CHAIN = """
name: kill
inputs:
  topic: {type: string, default: storms}
models:
  default:
    provider: flaky
    seed: 3
    extra: {latency: 0.04, failure_rate: 0.1, fault_seed: 1}
  images:
    provider: flaky
    seed: 3
    extra: {latency: 0.04, failure_rate: 0.1, fault_seed: 2}
steps:
  outline:
    prompt: {text: "Scenes about {{ topic }}"}
    parse: {type: json, schema: {type: array, items: {type: string}, minItems: 12, maxItems: 12}}
  scenes:
    for_each: outline
    as: scene
    prompt: {text: "Write scene {{ index }}: {{ scene }}"}
  pictures:
    kind: image
    for_each: outline
    as: scene
    prompt: {text: "A picture of {{ scene }}"}
  notes:
    for_each: scenes
    prompt: {text: "Note on {{ item }}"}
  summary: {prompt: {text: "Summarise {{ notes | join(' ') }}"}}
"""
STEPS = ("outline", "scenes", "pictures", "notes", "summary")


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dramaturg", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the process; its exit code and stderr (the pipes closed)."""
    err = proc.communicate(timeout=120)[1]
    return proc.returncode, err


def mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> bool:
    """Wait until ``ready()``; False if the process ended first."""
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the process never got there"
        time.sleep(0.005)
    return True


def check_run_folder(run_dir: Path) -> None:
    """Every finished file whole: JSON parses, images decode. Temporary files may remain."""
    for f in run_dir.rglob("*"):
        if not f.is_file() or f.name.endswith(".tmp"):
            continue
        if f.suffix == ".json":
            json.loads(f.read_text(encoding="utf-8"))
        elif f.suffix == ".png":
            with Image.open(f) as img:
                img.verify()


def check_cache(cache: Path) -> None:
    """SQLite says the index is sound; every entry's blobs exist and match their hash."""
    if not (cache / "index.sqlite").exists():
        return
    db = sqlite3.connect(cache / "index.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT value, attachments FROM entries").fetchall()
    finally:
        db.close()
    for value, attachments in rows:
        for digest in [value, *json.loads(attachments).values()]:
            blob = cache / "blobs" / digest[:2] / digest
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest
    for blob in (cache / "blobs").rglob("*"):
        if blob.is_file() and not blob.name.endswith(".tmp"):
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def outputs(run_dir: Path) -> dict[str, Any]:
    found = {s: json.loads((run_dir / "steps" / f"{s}.json").read_text()) for s in STEPS}
    images = {p.name: p.read_bytes() for p in (run_dir / "steps" / "pictures").glob("*.png")}
    return {"steps": {s: d["output"] for s, d in found.items()}, "images": images}


def test_sigkill_at_random_moments_never_damages_a_file_and_resume_finishes(project, tmp_path):
    chain = project(CHAIN)
    out, cache = tmp_path / "out", tmp_path / "cache"
    rng = random.Random(20261122)
    unfinished: Path | None = None
    folders: dict[Path, str] = {}  # run folder -> its topic (a new one each: no cache hits)
    mid_run = 0  # kills that left a run folder with some, not all, steps done
    for _ in range(TRIALS):
        if unfinished is None:
            before = set(out.iterdir()) if out.is_dir() else set()
            topic = f"storms {len(folders)}"
            proc = cli("run", str(chain), "-c", "3", "-q", "--out", str(out), "--cache-dir",
                       str(cache), "--set", f"topic={topic}", cwd=tmp_path)  # fmt: skip

            def started(before: set[Path] = before) -> bool:
                new = [p for p in out.iterdir() if p not in before] if out.is_dir() else []
                return bool(new) and (new[0] / "manifest.json").exists()

        else:
            stamp = mtime(unfinished / "manifest.json")
            proc = cli("resume", str(unfinished), "-q", cwd=tmp_path)

            def started(run: Path = unfinished, stamp: int = stamp) -> bool:
                return mtime(run / "manifest.json") != stamp

        if wait_for(proc, started):
            time.sleep(rng.uniform(0, 3.0))  # a random moment of the work
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, proc.returncode
        run_dir = unfinished or next(p for p in out.iterdir() if p not in folders)
        folders.setdefault(run_dir, topic)
        check_run_folder(run_dir)
        check_cache(cache)
        done = {s for s in STEPS if (run_dir / "steps" / f"{s}.json").exists()}
        status = json.loads((run_dir / "manifest.json").read_text())["status"]
        finished = status == "done" and not killed
        mid_run += killed and 0 < len(done) < len(STEPS)
        unfinished = None if finished else run_dir

    # every folder left unfinished is resumed to the end
    for run_dir in folders:
        if json.loads((run_dir / "manifest.json").read_text())["status"] != "done":
            code, err = finish(cli("resume", str(run_dir), "-q", cwd=tmp_path))
            assert code == 0, err
    assert mid_run >= TRIALS // 4, f"only {mid_run} of {TRIALS} kills fell mid-run"

    # each the same as an uninterrupted run of its topic
    uninterrupted = load_chain(chain)
    for run_dir, topic in folders.items():
        clean = uninterrupted.run({"topic": topic}, out=tmp_path / "clean", cache=False, backoff=0)
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] == "done"
        assert outputs(run_dir) == outputs(clean.run_dir), run_dir.name
        assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]
        check_run_folder(run_dir)
    check_cache(cache)


# -- one run folder, one process -----------------------------------------------------------------
SLOW = """
name: slow
models:
  default: {provider: fake, extra: {latency: 0.25}}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: {type: json, schema: {type: array, minItems: 12,
          maxItems: 12, items: {type: string}}}}
  expand: {for_each: ideas, prompt: {text: "Expand {{ item }}"}}
"""

GATE_PLUGIN = '''
"""A provider whose calls for the step ``expand`` wait at a gate: the test knows the process is
inside the run (holding its folder) until it opens the gate. $GATE names the gate's files."""
import asyncio, os, time
from pathlib import Path
from dramaturg import FakeChatModel
from dramaturg.providers import Provider

class GateModel(FakeChatModel):
    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        if run_manager and (run_manager.metadata or {}).get("dramaturg_step") == "expand":
            gate = Path(os.environ["GATE"])
            gate.with_suffix(".reached").touch()
            deadline = time.monotonic() + 120
            while not gate.with_suffix(".open").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return await super()._agenerate(messages, stop, run_manager, **kwargs)

def register(add):
    add(Provider(name="gate", description="waits at a gate", text=lambda c: GateModel()))
'''


def gated(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment that installs the ``gate`` provider in a CLI subprocess, and its gate."""
    site = tmp_path / "site"
    (site / "gate_models-1.0.dist-info").mkdir(parents=True)
    (site / "gate_models.py").write_text(GATE_PLUGIN)
    (site / "gate_models-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gate-models\nVersion: 1.0\n"
    )
    (site / "gate_models-1.0.dist-info" / "entry_points.txt").write_text(
        "[dramaturg.providers]\ngate = gate_models:register\n"
    )
    gate = tmp_path / "gate"
    return {"PYTHONPATH": str(site), "GATE": str(gate)}, gate


@pytest.fixture
def reaped() -> Any:
    """Processes to kill and wait for when the test ends, even when it fails (a process left
    running would fail the next test with a ResourceWarning)."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_two_processes_never_work_on_one_run_folder(project, tmp_path, reaped):
    """Each holder of the folder is stopped at a known point (a model call waiting at a gate)
    while the other process tries, so the outcome does not depend on timing."""
    chain = project(SLOW.replace("{provider: fake, extra: {latency: 0.25}}", "{provider: gate}"))
    env, gate = gated(tmp_path)
    out = tmp_path / "out"
    first = cli(
        "run", str(chain), "-c", "1", "-q", "--no-cache", "--out", str(out), cwd=tmp_path, env=env
    )
    reaped.append(first)
    assert wait_for(first, gate.with_suffix(".reached").exists), finish(first)
    (run_dir,) = out.iterdir()
    # a resume of the folder the run is still writing is refused, and changes nothing
    before = {p: p.read_bytes() for p in run_dir.rglob("*.json")}
    second = cli("resume", str(run_dir), "-q", cwd=tmp_path, env=env)
    reaped.append(second)
    code, err = finish(second)
    assert code == 2, err
    assert f"the run folder {run_dir} is in use by another dramaturg process" in err
    assert "Traceback" not in err
    assert first.poll() is None, "the run waits at the gate"
    for path, data in before.items():  # the run's own writer may still be saving its manifest
        assert path.read_bytes() == data or path.name == "manifest.json"
    gate.with_suffix(".open").touch()
    assert finish(first)[0] == 0

    # two resumes of one folder at once: the one inside the run holds it, the other is refused
    for suffix in (".open", ".reached"):
        gate.with_suffix(suffix).unlink()
    (run_dir / "steps" / "expand.json").unlink()
    for item in (run_dir / "steps" / "expand").glob("*.json"):
        item.unlink()
    a = cli("resume", str(run_dir), "-c", "1", "-q", cwd=tmp_path, env=env)
    reaped.append(a)
    assert wait_for(a, gate.with_suffix(".reached").exists), finish(a)
    b = cli("resume", str(run_dir), "-q", cwd=tmp_path, env=env)
    reaped.append(b)
    code, err = finish(b)
    assert code == 2 and "in use by another dramaturg process" in err, err
    assert a.poll() is None, "the first resume waits at the gate"
    gate.with_suffix(".open").touch()
    assert finish(a) == (0, "")
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "done"


def test_two_runs_with_one_out_folder_get_a_run_folder_each(project, tmp_path):
    chain = project(SLOW.replace("latency: 0.25", "latency: 0.01"))
    out = tmp_path / "out"
    runs = [cli("run", str(chain), "-q", "--out", str(out), cwd=tmp_path) for _ in range(2)]
    assert [finish(p)[0] for p in runs] == [0, 0]
    folders = list(out.iterdir())
    assert len(folders) == 2
    for run_dir in folders:
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "done"


# -- a full disk, an unusable output folder ------------------------------------------------------
DISK = """
name: disk
models:
  default: {provider: fake}
  images: {provider: fake}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: {type: json, schema: {type: array, minItems: 6,
          maxItems: 6, items: {type: string}}}}
  expand: {for_each: ideas, prompt: {text: "Expand {{ item }}"}}
  pictures: {kind: image, for_each: ideas, prompt: {text: "A picture of {{ item }}"}}
  title: {prompt: {text: "Title for {{ expand | join(' ') }}"}}
"""


def _at(path: Any, dir_fd: int | None) -> str:
    """The path a call names (run folders are written relative to folder descriptors)."""
    if dir_fd is None:
        return str(path)
    return str(Path(f"/proc/self/fd/{dir_fd}").readlink() / path)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc/self/fd")
@pytest.mark.parametrize("broken", ["os.replace", "os.open"])
def test_a_full_disk_stops_the_run_with_a_clear_message_and_resume_finishes(
    project, tmp_path, monkeypatch, broken
):
    chain = load_chain(project(DISK))
    clean = chain.run({}, models={"default": FakeChatModel()}, out=tmp_path / "clean", cache=False)
    out = tmp_path / "out"
    real = getattr(os, broken.split(".")[1])
    writes = 0

    def full(path: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        if broken == "os.replace":
            target = _at(args[0], kwargs.get("dst_dir_fd"))
        else:
            target = _at(path, kwargs.get("dir_fd"))
        if target.startswith(str(out)):
            writes += 1
            if writes > 8:  # the chain, its templates, a few records: then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, broken.split(".")[1], full)
    fake = FakeChatModel()
    with pytest.raises(RunStorageError) as err:
        chain.run({}, models={"default": fake}, out=out, cache=False)
    monkeypatch.undo()
    (run_dir,) = out.iterdir()
    assert "No space left on device" in err.value.message
    assert f"dramaturg resume {run_dir}" in err.value.hint
    # the run stopped calling models once nothing could be saved
    assert len(fake.calls) < len(clean.steps["expand"].output) + 2
    check_run_folder(run_dir)
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]

    done = resume_run(run_dir, models={"default": FakeChatModel()}, cache=False)
    assert done.ok and done.outputs == clean.outputs


def test_a_full_disk_through_the_cli_is_one_message(project, tmp_path, monkeypatch):
    path = project(DISK)
    real = os.replace
    count = 0

    def full(src: Any, dst: Any, **kwargs: Any) -> None:
        nonlocal count
        count += 1
        if count > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", full)
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--no-cache"])
    assert r.exit_code == 1
    assert "No space left on device" in r.output and "dramaturg resume" in r.output
    assert "Traceback" not in r.output and "internal error" not in r.output


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_output_folder_that_cannot_be_used_exits_2_before_anything_runs(
    project, tmp_path, where
):
    path = project(DISK)
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker if where == "a file" else blocker / "runs"
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--no-cache"])
    assert r.exit_code == 2, r.output
    assert f"cannot create the run folder in {out}: it or a folder above it is a file" in r.output
    assert "--out" in r.output and "Traceback" not in r.output
    assert blocker.read_text() == "not a folder"
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path), "--cache-dir", str(out)])
    assert r.exit_code == 2 and "cannot open the step cache" in r.output, r.output


# -- what resume keeps must fit what it recomputes -----------------------------------------------
CONSISTENT = """
name: consistent
models:
  default: {provider: fake}
steps:
  ideas: {prompt: {text: "Ideas"}, parse: lines}
  expand: {for_each: ideas, as: idea, prompt: {text: "Expand: {{ idea }}"}}
  title: {prompt: {text: "Title for {{ expand | join(' / ') }}"}}
"""


def test_resume_never_keeps_work_made_from_an_output_it_recomputes(project, tmp_path):
    """A step's record is written while its dependents already run (off the critical path): a
    kill can leave a dependent's items on disk without the record of the step they were made
    from. That step then runs again and, on a model that does not repeat itself, answers
    differently: the dependent's old items must not be mixed with the new answer."""
    chain = load_chain(project(CONSISTENT))

    def model(version: str) -> FakeChatModel:
        return FakeChatModel(
            responses={
                "ideas": f"{version} one\n{version} two\n{version} three",
                "expand": lambda call: call.prompt.upper(),
            }
        )

    first = chain.run({}, models={"default": model("old")}, out=tmp_path, cache=False)
    assert first.ok
    # as if killed after the expand items were saved, before ideas.json was
    for name in ("ideas.json", "expand.json", "title.json"):
        (first.run_dir / "steps" / name).unlink()
    assert len(list((first.run_dir / "steps" / "expand").glob("*.json"))) == 3

    again = model("new")
    done = resume_run(first.run_dir, models={"default": again}, cache=False)
    assert done.ok
    assert done["ideas"] == ["new one", "new two", "new three"]
    assert done["expand"] == ["EXPAND: NEW ONE", "EXPAND: NEW TWO", "EXPAND: NEW THREE"]
    assert {c.step for c in again.calls} == {"ideas", "expand", "title"}
