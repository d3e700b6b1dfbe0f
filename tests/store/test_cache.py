"""The step cache: an unchanged rerun calls no model; any change to what decides a call's answer
misses; secrets and run folders do not count; per-step modes; damaged caches; the CLI."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dramaturg import ChainError, DramaturgError, FakeChatModel, FakeImageModel, load_chain
from dramaturg.cli import app
from dramaturg.providers import get_registry
from dramaturg.providers.fakes import FakeCall, derived_response
from dramaturg.providers.registry import ModelConfig, Provider
from dramaturg.store.cache import StepCache, cache_info

CHAIN = """
name: cached
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake, model: m1, temperature: 0.5, seed: 1, extra: {api_key: KEY1}}
steps:
  ideas:
    prompt: ideas.j2
    system: You are terse.
    parse: lines
  expand:
    for_each: ideas
    as: idea
    prompt: {text: "Expand {{ idea }} (topic {{ topic }})"}
"""
TEMPLATES = {
    "ideas.j2": '{% include "style.j2" %}\n{# ideas v1 #}Three ideas about {{ topic }}.',
    "style.j2": "{# style v1 #}Be brief.",
}


class Script:
    """The answers and the calls of the `fake` provider while a test runs."""

    def __init__(self) -> None:
        self.calls: list[FakeCall] = []
        self.answers: dict[str, str] = {}

    def steps(self) -> list[str]:
        return sorted(str(c.step) for c in self.calls)


@pytest.fixture
def script() -> Iterator[Script]:
    """Models of the `fake` provider that record their calls here and answer from
    ``script.answers`` (else as the fakes do). The answers are not part of the chain's model
    configuration, so changing them does not change the cache key: what the model says on a
    cache hit shows where a cached answer came from."""
    s = Script()

    class Recording(FakeChatModel):
        def _begin(self, messages: Any, stop: Any, metadata: dict[str, Any]) -> FakeCall:
            call = super()._begin(messages, stop, metadata)
            s.calls.append(call)
            return call

        def _answer(self, call: FakeCall) -> str:
            if call.step in s.answers:
                return s.answers[str(call.step)]
            return derived_response(call.system + "\n" + call.prompt, call.parse)

    reg = get_registry()
    original = reg.get("fake")

    def text(config: ModelConfig) -> FakeChatModel:
        return Recording(model_name=config.model or "fake")

    reg.add(Provider(name="fake", description="", text=text, image=original.image))
    try:
        yield s
    finally:
        reg.add(original)


def run(path: Path, out: Path | None, **kw: Any) -> Any:
    return load_chain(path).run(kw.pop("inputs", {}), out=out, backoff=0, **kw)


def test_an_unchanged_rerun_calls_no_model_and_gives_the_same_outputs(
    project, tmp_path, script, _own_step_cache
):
    path = project(CHAIN, TEMPLATES)
    first = run(path, tmp_path / "out")
    assert first.ok and script.steps() == ["expand", "expand", "expand", "ideas"]
    script.calls.clear()
    events: list[dict[str, Any]] = []
    again = run(path, tmp_path / "out", on_event=events.append)
    assert again.ok and script.calls == []
    assert again.outputs == first.outputs and len(again["expand"]) == 3
    hits = sorted((e["step"], e["item"]) for e in events if e["event"] == "cached")
    assert hits == [("expand", 0), ("expand", 1), ("expand", 2), ("ideas", None)]
    assert again.usage.calls == 0 and first.usage.calls == 4
    # the second run's folder is complete: outputs, items, prompts, and what came from the cache
    manifest = json.loads((again.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["steps"]["expand"]["cached"] == 3 and manifest["steps"]["ideas"]["cached"] == 1
    item = json.loads((again.run_dir / "steps/expand/1.json").read_text())
    assert item["cached"] is True and item["output"] == first["expand"][1]
    assert item["raw"] and item["usage"]["calls"] == 1
    step = json.loads((again.run_dir / "steps/ideas.json").read_text())
    assert step["output"] == first["ideas"] and step["cached"] is True
    for rel in ("prompts/ideas.txt", "prompts/expand/2.txt"):
        assert (again.run_dir / rel).read_text() == (first.run_dir / rel).read_text()
    # identical values are stored once
    info = cache_info(_own_step_cache)
    assert info.entries == 4 and info.blobs <= 4


@pytest.mark.parametrize(
    ("change", "missed"),
    [
        # comments: the rendered prompt stays the same, only the template's source changes
        ("template", {"ideas"}),
        ("included template", {"ideas"}),
        ("model name", {"ideas", "expand"}),
        ("temperature", {"ideas", "expand"}),
        ("model seed", {"ideas", "expand"}),
        ("run seed", {"ideas", "expand"}),
        ("parser settings", {"ideas"}),
    ],
)
def test_any_change_to_what_decides_the_answer_misses(project, tmp_path, script, change, missed):
    path = project(CHAIN, TEMPLATES)
    first = run(path, tmp_path / "a")
    script.calls.clear()
    kw: dict[str, Any] = {}
    prompts = tmp_path / "prompts"
    if change == "template":
        (prompts / "ideas.j2").write_text(TEMPLATES["ideas.j2"].replace("v1", "v2"))
    elif change == "included template":
        (prompts / "style.j2").write_text(TEMPLATES["style.j2"].replace("v1", "v2"))
    elif change == "model name":
        path.write_text(path.read_text().replace("model: m1", "model: m2"))
    elif change == "temperature":
        path.write_text(path.read_text().replace("temperature: 0.5", "temperature: 0.9"))
    elif change == "model seed":
        path.write_text(path.read_text().replace("seed: 1", "seed: 2"))
    elif change == "run seed":
        kw["seed"] = 7
    else:
        path.write_text(
            path.read_text().replace("parse: lines", "parse: {type: lines, strip_bullets: false}")
        )
    second = run(path, tmp_path / "b", **kw)
    assert second.ok
    assert {c.step for c in script.calls} >= missed
    assert "ideas" in {c.step for c in script.calls}
    if missed == {"ideas"} and change != "parser settings":
        # the same prompt was sent again: only the template's source told the calls apart
        assert (second.run_dir / "prompts/ideas.txt").read_text() == (
            first.run_dir / "prompts/ideas.txt"
        ).read_text()
        assert script.steps() == ["ideas"]  # its unchanged answer is then reused downstream


def test_keys_and_run_folders_do_not_change_the_key(project, tmp_path, script, monkeypatch):
    path = project(CHAIN, TEMPLATES)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    run(path, tmp_path / "a")
    script.calls.clear()
    monkeypatch.setenv("COHERE_API_KEY", "co-NEW-SECRET-0123456789")
    monkeypatch.setenv("FAKE_API_KEY", "fk-NEW-SECRET-0123456789")
    path.write_text(path.read_text().replace("api_key: KEY1", "api_key: KEY2-SECRET-VALUE"))
    other_folder = run(path, tmp_path / "elsewhere")
    in_memory = run(path, None)
    assert other_folder.ok and in_memory.ok and script.calls == []


def test_no_secret_reaches_the_cache(project, tmp_path, script, _own_step_cache, monkeypatch):
    secret = "sk-VERY-SECRET-0123456789"
    monkeypatch.setenv("COHERE_API_KEY", secret)
    path = project(CHAIN.replace("KEY1", secret), TEMPLATES)
    assert run(path, tmp_path / "out").ok
    files = [p for p in _own_step_cache.rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert secret.encode() not in f.read_bytes(), f


def test_recompute_always_calls_and_replaces_the_entry(project, tmp_path, script):
    path = project(CHAIN.replace("parse: lines", "parse: lines\n    cache: recompute"), TEMPLATES)
    script.answers["ideas"] = "first\nsecond"
    assert run(path, tmp_path / "o")["ideas"] == ["first", "second"]
    script.calls.clear()
    script.answers["ideas"] = "third\nfourth"
    result = run(path, tmp_path / "o")
    assert result["ideas"] == ["third", "fourth"]
    assert script.steps() == ["expand", "expand", "ideas"]  # new items; ideas called again
    # back to the default: the entry recompute wrote is the one read
    path.write_text(path.read_text().replace("cache: recompute", "cache: default"))
    script.calls.clear()
    script.answers["ideas"] = "never\nused"
    assert run(path, tmp_path / "o")["ideas"] == ["third", "fourth"]
    assert script.calls == []


def test_disable_neither_reads_nor_writes(project, tmp_path, script, _own_step_cache):
    path = project(CHAIN.replace("parse: lines", "parse: lines\n    cache: disable"), TEMPLATES)
    run(path, tmp_path / "o")
    assert cache_info(_own_step_cache).entries == 3  # the expand items only
    script.calls.clear()
    run(path, tmp_path / "o")
    assert script.steps() == ["ideas"]
    path.write_text(path.read_text().replace("cache: disable", ""))
    script.calls.clear()
    run(path, tmp_path / "o")
    assert script.steps() == ["ideas"]  # nothing was stored for it


def test_cache_setting_is_validated_and_in_the_schema(project):
    with pytest.raises(ChainError, match=r"cache") as err:
        load_chain(project(CHAIN.replace("parse: lines", "parse: lines\n    cache: sometimes")))
    assert "recompute" in str(err.value)
    r = CliRunner().invoke(app, ["schema"])
    step = json.loads(r.output)["$defs"]["StepSpec"]["properties"]["cache"]
    assert step["enum"] == ["default", "recompute", "disable"]


def test_run_level_off_and_folder(project, tmp_path, script, _own_step_cache):
    path = project(CHAIN, TEMPLATES)
    run(path, None, cache=False)
    run(path, None, cache=False)
    assert len(script.calls) == 8 and not (_own_step_cache / "index.sqlite").exists()
    script.calls.clear()
    folder = tmp_path / "my-cache"
    run(path, None, cache=folder)
    run(path, None, cache=str(folder))
    assert len(script.calls) == 4 and cache_info(folder).entries == 4


def test_missing_or_damaged_blobs_are_misses(project, tmp_path, script, _own_step_cache):
    path = project(CHAIN, TEMPLATES)
    first = run(path, tmp_path / "o")
    blobs = sorted(p for p in (_own_step_cache / "blobs").rglob("*") if p.is_file())
    blobs[0].unlink()
    blobs[1].write_bytes(blobs[1].read_bytes()[:-3])  # a torn write
    script.calls.clear()
    again = run(path, tmp_path / "o")
    assert again.ok and again.outputs == first.outputs
    assert 1 <= len(script.calls) <= 4  # the entries that lost their blob were called again
    script.calls.clear()
    assert run(path, tmp_path / "o").ok and script.calls == []  # and stored again


def test_a_failing_cache_never_fails_the_run(project, tmp_path, script, monkeypatch):
    path = project(CHAIN, TEMPLATES)

    def full(self: StepCache, data: bytes) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(StepCache, "_write_blob", full)
    events: list[dict[str, Any]] = []
    result = run(path, tmp_path / "o", on_event=events.append)
    assert result.ok and len(script.calls) == 4
    off = [e for e in events if e["event"] == "cache_off"]
    assert len(off) == 1 and "No space left" in off[0]["reason"]


def test_an_unusable_default_cache_is_skipped_with_a_warning(
    project, tmp_path, script, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("DRAMATURG_CACHE_DIR", str(blocker / "cache"))
    events: list[dict[str, Any]] = []
    path = project(CHAIN, TEMPLATES)
    assert run(path, None, on_event=events.append).ok
    assert [e["event"] for e in events].count("cache_off") == 1
    from dramaturg import InputError

    with pytest.raises(InputError, match="--no-cache"):  # a folder given must work
        run(path, None, cache=blocker / "cache")
    r = CliRunner().invoke(
        app, ["run", str(path), "--cache-dir", str(blocker / "c"), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2 and "cannot open the step cache" in r.output
    assert not (tmp_path / "o").exists()  # nothing ran


def test_image_steps_cache_their_image(project, tmp_path):
    chain = """
    name: pics
    models:
      default: {provider: fake}
      images: {provider: fake, width: 32, height: 24, seed: 3}
    steps:
      names: {prompt: {text: "names"}, parse: lines}
      portraits: {kind: image, for_each: names, prompt: {text: "portrait of {{ item }}"}}
      cover: {kind: image, prompt: {text: "cover"}}
    """
    path = project(chain)
    first_model = FakeImageModel()
    first = load_chain(path).run({}, models={"images": first_model}, out=tmp_path / "a")
    again_model = FakeImageModel()
    again = load_chain(path).run({}, models={"images": again_model}, out=tmp_path / "b")
    assert len(first_model.requests) == 4 and again_model.requests == []
    assert again.outputs == first.outputs
    for out in [*again["portraits"], again["cover"]]:
        assert (again.run_dir / out["image"]).read_bytes() == (
            first.run_dir / out["image"]
        ).read_bytes()
    bigger = FakeImageModel(size=(40, 40))  # another model object: another key
    load_chain(path).run({}, models={"images": bigger}, out=tmp_path / "c")
    assert len(bigger.requests) == 4


def test_model_objects_are_keyed_by_what_identifies_them(project, tmp_path):
    path = project(CHAIN, TEMPLATES)
    a = FakeChatModel(responses={"ideas": "x\ny"})
    run(path, None, models={"default": a})
    same = FakeChatModel(responses={"ideas": "x\ny"}, latency=0.001)
    run(path, None, models={"default": same})
    other = FakeChatModel(responses={"ideas": "x\nz"})
    result = run(path, None, models={"default": other})
    assert len(a.calls) == 3 and same.calls == [] and len(other.calls) == 3
    assert result["ideas"] == ["x", "z"]


# -- the command line ------------------------------------------------------------------------
def invoke(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(app, list(args), **kw)


def summary_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("done:"))


def test_cli_run_cache_options_and_dry_run(project, tmp_path, _own_step_cache):
    path = str(project(CHAIN, TEMPLATES))
    out = ["--out", str(tmp_path / "out")]
    r = invoke("run", path, *out)
    assert r.exit_code == 0, r.output
    assert "4 model calls" in summary_line(r.output)
    r = invoke("run", path, *out)
    assert "0 model calls, 4 from the step cache" in summary_line(r.output)
    assert "(cached)" in r.output  # progress shows the items that came from the cache
    r = invoke("run", path, *out, "--no-cache")
    assert "4 model calls" in summary_line(r.output)
    r = invoke("run", path, *out, "--cache-dir", str(tmp_path / "c2"))
    assert "4 model calls" in summary_line(r.output)
    assert cache_info(tmp_path / "c2").entries == 4
    r = invoke("run", path, *out, "--no-cache", "--cache-dir", str(tmp_path / "c2"))
    assert r.exit_code == 2 and "contradict" in r.output
    # a dry run neither reads nor writes the cache
    entries = cache_info(_own_step_cache).entries
    fresh = tmp_path / "dry-cache"
    r = invoke("run", path, *out, "--dry-run", "--cache-dir", str(fresh))
    assert r.exit_code == 0 and "4 model calls" in summary_line(r.output)
    assert not fresh.exists() and cache_info(_own_step_cache).entries == entries


def test_cli_cache_info_and_clear(project, tmp_path, _own_step_cache):
    path = str(project(CHAIN, TEMPLATES))
    assert invoke("run", path, "--out", str(tmp_path / "o")).exit_code == 0
    r = invoke("cache", "info")
    assert r.exit_code == 0
    lines = dict(line.split(None, 1) for line in r.output.splitlines())
    assert lines["location"] == str(_own_step_cache)
    assert lines["entries"] == "4" and int(lines["blobs"]) >= 1
    assert lines["size"].endswith(("B", "KB", "MB"))
    r = invoke("cache", "clear", input="n\n")
    assert r.exit_code == 1 and "nothing deleted" in r.output
    assert cache_info(_own_step_cache).entries == 4
    r = invoke("cache", "clear", input="y\n")
    assert r.exit_code == 0 and "deleted 4 entries" in r.output
    info = cache_info(_own_step_cache)
    assert info.entries == 0 and info.blobs == 0
    assert invoke("run", path, "--out", str(tmp_path / "o")).exit_code == 0
    r = invoke("cache", "clear", "--yes")
    assert r.exit_code == 0 and cache_info(_own_step_cache).entries == 0
    r = invoke("cache", "info", "--cache-dir", str(tmp_path / "none-yet"))
    assert r.exit_code == 0 and "entries   0" in r.output
    assert not (tmp_path / "none-yet").exists()


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.delenv("DRAMATURG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert f"location  {tmp_path / 'xdg' / 'dramaturg'}" in invoke("cache", "info").output
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert f"location  {tmp_path / 'home' / '.cache' / 'dramaturg'}" in (
        invoke("cache", "info").output
    )


CONCURRENT = """
name: concurrent
models:
  default:
    provider: fake
    seed: 1
    extra: {latency: 0.01, responses: {ideas: "a\\nb\\nc\\nd\\ne\\nf\\ng\\nh\\ni\\nj\\nk\\nl"}}
steps:
  ideas: {prompt: {text: "twelve ideas"}, parse: lines}
  expand: {for_each: ideas, prompt: {text: "Expand {{ item }}"}}
"""


def test_two_runs_at_once_share_one_cache(project, tmp_path):
    path = project(CONCURRENT)
    cache = tmp_path / "shared"

    def start() -> subprocess.Popen[str]:
        args = ["run", str(path), "--cache-dir", str(cache), "-q"]
        return subprocess.Popen(
            [sys.executable, "-m", "dramaturg", *args, "--out", str(tmp_path / "out")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    procs = [start(), start()]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    third = start()
    stdout, stderr = third.communicate(timeout=120)
    assert third.returncode == 0, stderr
    assert "0 model calls, 13 from the step cache" in stdout
    assert cache_info(cache).entries == 13


def test_help_of_the_new_commands_imports_no_model_library():
    code = textwrap.dedent("""
        import sys
        from dramaturg.cli import app
        for args in (["resume", "--help"], ["cache", "--help"], ["cache", "info", "--help"],
                     ["cache", "clear", "--help"]):
            try:
                app(args)
            except SystemExit:
                pass
        heavy = [m for m in ("langchain_core", "llama_cpp", "PIL", "jinja2", "yaml", "sqlite3",
                             "networkx", "httpx") if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out


def _open_at_once(root: str, barrier: Any) -> None:
    barrier.wait()
    try:
        StepCache.open(Path(root)).close()
    except DramaturgError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)


def test_many_processes_opening_a_new_cache_at_once_all_succeed(tmp_path):
    # Regression: switching a fresh index to WAL mode raced ("database is locked").
    ctx = multiprocessing.get_context("fork")
    codes = []
    for round_ in range(20):
        barrier = ctx.Barrier(6)
        root = str(tmp_path / str(round_))
        procs = [ctx.Process(target=_open_at_once, args=(root, barrier)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        codes += [p.exitcode for p in procs]
    assert codes == [0] * 120


def test_a_call_key_is_stable_across_versions_of_the_code():
    # a change of the key's contents must bump KEY_VERSION; a refactor must keep the key,
    # or every writer's cache silently misses after an upgrade
    from dramaturg.store.cachekey import CallIdentity, call_key

    identity = CallIdentity(
        step="a",
        kind="text",
        item=3,
        templates="t",
        prompt="p",
        system="",
        model="m",
        parse={"kind": "json", "x": [1, {"b": 2}]},
        schema={"type": "object"},
        attempts=3,
        seed=7,
    )
    assert call_key(identity) == (
        "0665bcd58376d948ac23d8589a93d9ed43cd0f052a929470421f921d23fedee2"
    )
