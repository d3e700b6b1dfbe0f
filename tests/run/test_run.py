"""Running chains: scheduling, fan-out, failures, retries, parsing, run files (Python API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dramaturg
from dramaturg import FakeChatModel, FakeImageModel, load_chain

BRANCHES = """
name: branches
prompts: ../prompts
models:
  default: {provider: fake}
steps:
  a:
    prompt: {text: "A about {{ topic }}"}
  b:
    prompt: {text: "B about {{ topic }}"}
  a2:
    prompt: {text: "after A: {{ a }}"}
  b2:
    prompt: {text: "after B: {{ b }}"}
  both:
    prompt: {text: "{{ a2 }} / {{ b2 }}"}
inputs:
  topic: {type: string, default: storms}
"""


def run(path: Path, tmp_path: Path, fake: FakeChatModel, **kw):  # type: ignore[no-untyped-def]
    chain = load_chain(path)
    return chain.run(
        kw.pop("inputs", {}), models={"default": fake}, out=tmp_path / "out", backoff=0, **kw
    )


def test_step_starts_when_its_own_inputs_are_done(project, tmp_path):
    # a is slow; b and b2 are fast. b2 (generation 2) must start before a (generation 1) ends.
    fake = FakeChatModel(latency_fn=lambda c: 0.4 if c.step == "a" else 0.01)
    result = run(project(BRANCHES), tmp_path, fake)
    assert result.ok
    a = fake.calls_for("a")[0]
    b2 = fake.calls_for("b2")[0]
    assert b2.started < a.ended
    both = fake.calls_for("both")[0]
    assert both.started >= max(fake.calls_for("a2")[0].ended, b2.ended)


def test_independent_branches_overlap(project, tmp_path):
    fake = FakeChatModel(latency=0.1)
    run(project(BRANCHES), tmp_path, fake)
    a, b = fake.calls_for("a")[0], fake.calls_for("b")[0]
    assert a.started < b.ended and b.started < a.ended


FAN = """
name: fan
models:
  default: {provider: fake}
inputs:
  n: {type: integer, default: 20}
steps:
  items:
    prompt: {text: "list {{ n }}"}
    parse: lines
  each:
    for_each: items
    as: it
    prompt: {text: "item {{ index }}: {{ it }}"}
"""


def test_fan_out_keeps_input_order_whatever_the_completion_order(project, tmp_path):
    lines = "\n".join(f"thing {i}" for i in range(10))
    # later items finish first
    fake = FakeChatModel(
        responses={"items": lines, "each": lambda c: c.prompt.upper()},
        latency_fn=lambda c: 0.0 if c.item is None else 0.02 * (10 - c.item),
    )
    result = run(project(FAN), tmp_path, fake)
    assert result["each"] == [f"ITEM {i}: THING {i}" for i in range(10)]
    ends = {c.item: c.ended for c in fake.calls_for("each")}
    assert ends[9] < ends[0]  # they really completed in reverse
    run_dir = result.run_dir
    assert json.loads((run_dir / "steps/each/3.json").read_text())["output"] == "ITEM 3: THING 3"
    assert json.loads((run_dir / "steps/each.json").read_text())["output"] == result["each"]
    assert (run_dir / "prompts/each/9.txt").read_text() == "item 9: thing 9"


def test_concurrency_limit_is_reached_and_never_exceeded(project, tmp_path):
    lines = "\n".join(f"x{i}" for i in range(20))
    fake = FakeChatModel(responses={"items": lines}, latency=0.05)
    result = run(project(FAN), tmp_path, fake, concurrency=8)
    assert len(result["each"]) == 20
    assert fake.max_in_flight == 8


def test_per_model_limit(project, tmp_path):
    from dramaturg.providers import get_registry
    from dramaturg.providers.registry import Provider

    path = project(FAN.replace("{provider: fake}", "{provider: fake, concurrency: 3}"))
    lines = "\n".join(f"x{i}" for i in range(12))
    fake = FakeChatModel(responses={"items": lines}, latency=0.03)
    reg = get_registry()
    original = reg.get("fake")
    reg.add(Provider(name="fake", description="", text=lambda config: fake))
    try:
        result = load_chain(path).run({}, out=tmp_path / "o", concurrency=8)
    finally:
        reg.add(original)
    assert result.ok and len(result["each"]) == 12
    assert fake.max_in_flight == 3  # the model's cap, below the global 8


def test_failure_skips_descendants_and_independent_branch_finishes(project, tmp_path):
    fake = FakeChatModel(fail={"a": "always"}, latency=0.02)
    result = run(project(BRANCHES), tmp_path, fake)
    status = {s: r.status for s, r in result.steps.items()}
    assert status == {"a": "failed", "a2": "skipped", "b": "done", "b2": "done", "both": "skipped"}
    assert not result.ok and result.status == "failed"
    assert "permanent failure" in (result.steps["a"].error or "")
    assert result.steps["both"].skipped_because == "a"
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["steps"]["a2"]["status"] == "skipped"
    assert manifest["steps"]["a"]["error"]["message"]
    assert (result.run_dir / "steps/b2.json").exists()  # finished work is on disk
    assert len(fake.calls_for("a")) == 1  # permanent errors are not retried
    with pytest.raises(dramaturg.RunFailedError, match="a: "):
        result.raise_for_status()


def test_transient_errors_are_retried(project, tmp_path):
    fake = FakeChatModel(fail={"a": 2})
    result = run(project(BRANCHES), tmp_path, fake)
    assert result.ok
    assert len(fake.calls_for("a")) == 3
    assert result.steps["a"].attempts == 3


def test_transient_errors_give_up_after_the_retries(project, tmp_path):
    fake = FakeChatModel(fail={"a": 99})
    result = run(project(BRANCHES), tmp_path, fake, retries=2)
    assert result.steps["a"].status == "failed"
    assert "gave up after 3 tries" in (result.steps["a"].error or "")


def test_failed_fan_out_item_fails_the_step_but_keeps_other_items(project, tmp_path):
    lines = "\n".join(f"x{i}" for i in range(4))
    fake = FakeChatModel(responses={"items": lines}, fail={"each/2": "always"})
    result = run(project(FAN), tmp_path, fake)
    assert result.steps["each"].status == "failed"
    assert "item 2" in (result.steps["each"].error or "")
    assert (result.run_dir / "steps/each/3.json").exists()


SCENES = """
name: scenes
models:
  default: {provider: fake}
steps:
  plot:
    prompt: {text: "scenes please"}
    attempts: 3
    parse:
      type: sections
      fields: [Place, Plot element, Beat]
      multiple: true
"""


def test_unparseable_output_is_resampled_with_a_new_seed(project, tmp_path):
    good = "Place: Harbour\nPlot element: Exposition\nBeat: Mara arrives.\n\nPlace: Tower"
    fake = FakeChatModel(responses={"plot": ["I cannot do that.", good]})
    chain = SCENES.replace("{provider: fake}", "{provider: fake, seed: 10}")
    result = run(project(chain), tmp_path, fake)
    assert result["plot"] == [
        {"place": "Harbour", "plot_element": "Exposition", "beat": "Mara arrives."}
    ]  # the incomplete record is dropped
    assert [c.attempt for c in fake.calls_for("plot")] == [0, 1]


def test_garbage_output_fails_cleanly_with_the_raw_text_saved(project, tmp_path):
    fake = FakeChatModel(responses={"plot": "no structure at all"})
    result = run(project(SCENES), tmp_path, fake)
    step = result.steps["plot"]
    assert step.status == "failed"
    assert "could not be parsed after 3 attempt(s)" in (step.error or "")
    raw = (result.run_dir / "steps/plot.raw.txt").read_text()
    assert raw.count("no structure at all") == 3


def test_render_error_names_the_template_line(project, tmp_path):
    chain = """
    name: typo
    prompts: ../prompts
    models: {default: {provider: fake}}
    steps:
      plot: {prompt: {text: "x"}, parse: json}
      scene: {prompt: scene.j2}
    """
    path = project(chain, {"scene.j2": "Scene:\n{{ plot.plce }}\n"})
    fake = FakeChatModel(responses={"plot": '{"place": "Harbour"}'})
    result = run(path, tmp_path, fake)
    err = result.steps["scene"].error or ""
    assert result.steps["scene"].status == "failed"
    assert "scene.j2:2" in err and "plce" in err


def test_render_error_in_an_inline_template_names_the_chain_file_line(project, tmp_path):
    chain = """
    name: typo
    models: {default: {provider: fake}}
    steps:
      plot: {prompt: {text: "x"}, parse: json}
      scene:
        prompt:
          text: |
            Scene:
            {{ plot.plce }}
    """
    fake = FakeChatModel(responses={"plot": '{"place": "Harbour"}'})
    result = run(project(chain), tmp_path, fake)
    err = result.steps["scene"].error or ""
    assert result.steps["scene"].status == "failed"
    assert "test.yaml:9" in err and "plce" in err, err


def test_for_each_that_is_not_a_list_at_run_time(project, tmp_path):
    chain = """
    name: notlist
    models: {default: {provider: fake}}
    steps:
      data: {prompt: {text: "x"}, parse: json}
      each: {prompt: {text: "{{ item }}"}, for_each: "data.things"}
    """
    fake = FakeChatModel(responses={"data": '{"things": "oops"}'})
    result = run(project(chain), tmp_path, fake)
    assert "gave a str, not a list" in (result.steps["each"].error or "")


def test_sandbox_blocks_python_internals_at_render_time(project, tmp_path):
    # an attribute named by data cannot be seen by validation: the sandbox refuses it
    chain = """
    name: escape
    inputs: {key: {type: string, default: __globals__}}
    models: {default: {provider: fake}}
    steps:
      a: {prompt: {text: "{{ cycler.next | attr(key) }}"}}
    """
    fake = FakeChatModel()
    result = run(project(chain), tmp_path, fake)
    assert result.steps["a"].status == "failed"
    assert "unsafe operation" in (result.steps["a"].error or "")
    assert fake.calls == []
    # written in the template, it is refused before anything runs
    static = chain.replace("attr(key)", "attr('__globals__')")
    with pytest.raises(dramaturg.ChainError, match="'__globals__', a Python internal"):
        load_chain(project(static, name="static"))


def test_api_accepts_any_langchain_chat_model(project, tmp_path):
    from langchain_core.language_models import FakeListChatModel

    lc = FakeListChatModel(responses=["one", "two", "three", "four", "five"])
    chain = load_chain(project(BRANCHES))
    result = chain.run({"topic": "tides"}, models={"default": lc}, out=None)
    assert result.ok
    assert set(result.outputs) == {"a", "b", "a2", "b2", "both"}
    assert result.run_dir is None


async def test_arun_and_result_object(project, tmp_path):
    fake = FakeChatModel(responses={"a": "alpha"})
    chain = load_chain(project(BRANCHES))
    result = await chain.arun({"topic": "tides"}, models={"default": fake}, out=tmp_path)
    assert result["a"] == "alpha"
    assert result.steps["a"].usage.calls == 1
    assert result.steps["a"].usage.output_tokens == 1
    assert result.usage.calls == 5
    assert "tides" in fake.calls_for("a")[0].prompt


def test_run_inside_event_loop_is_a_clear_error(project):
    import asyncio

    chain = load_chain(project(BRANCHES))

    async def inner() -> None:
        chain.run({})

    with pytest.raises(dramaturg.InputError, match="arun"):
        asyncio.run(inner())


def test_model_override_by_reference_and_unknown_name(project, tmp_path):
    chain = load_chain(project(BRANCHES.replace("provider: fake", "provider: local")))
    result = chain.run({}, models={"default": "fake:other"}, out=tmp_path)
    assert result.ok
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["models"]["default"]["provider"] == "fake"
    assert manifest["models"]["default"]["model"] == "other"
    with pytest.raises(dramaturg.InputError, match="no model named 'writer'"):
        chain.run({}, models={"writer": "fake"}, out=tmp_path)
    with pytest.raises(dramaturg.InputError, match="unknown provider 'nope'"):
        chain.run({}, models={"default": "nope:x"}, out=tmp_path)


def test_inputs_are_checked_and_coerced(project, tmp_path):
    chain = load_chain(project(FAN))
    with pytest.raises(dramaturg.InputError, match="expected an integer"):
        chain.run({"n": "many"}, out=None, dry_run=True)
    with pytest.raises(dramaturg.InputError, match="unknown input 'm'"):
        chain.run({"m": 1}, out=None, dry_run=True)
    result = chain.run({"n": "7"}, out=tmp_path, dry_run=True, text_inputs=frozenset({"n"}))
    assert result.ok
    assert (result.run_dir / "prompts/items.txt").read_text() == "list 7"
    assert json.loads((result.run_dir / "manifest.json").read_text())["inputs"] == {"n": 7}


def test_image_steps_write_image_files(project, tmp_path):
    chain = """
    name: pics
    models:
      default: {provider: fake}
      images: {provider: fake, width: 32, height: 24, seed: 3}
    steps:
      names: {prompt: {text: "names"}, parse: lines}
      portraits:
        kind: image
        for_each: names
        prompt: {text: "portrait of {{ item }}, ink"}
    """
    fake_img = FakeImageModel()
    c = load_chain(project(chain))
    result = c.run(
        {},
        models={"default": FakeChatModel(responses={"names": "Mara\nOrin"}), "images": fake_img},
        out=tmp_path,
    )
    assert result.ok
    out = result["portraits"]
    assert [o["image"] for o in out] == ["steps/portraits/0.png", "steps/portraits/1.png"]
    data = (result.run_dir / out[0]["image"]).read_bytes()
    assert data.startswith(b"\x89PNG")
    assert fake_img.requests[0].prompt == "portrait of Mara, ink"
    # a different prompt gives a different image
    assert data != (result.run_dir / out[1]["image"]).read_bytes()


def test_run_files_are_written_atomically(project, tmp_path, monkeypatch):
    fake = FakeChatModel()
    result = run(project(BRANCHES), tmp_path, fake)
    leftovers = [p for p in result.run_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    before = (result.run_dir / "steps/a.json").read_text()

    import os

    from dramaturg.errors import RunStorageError
    from dramaturg.store.rundir import RunDir

    def broken_replace(src: str, dst: str, **dir_fds: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    rd = RunDir(result.run_dir)
    with pytest.raises(RunStorageError, match="No space left"):
        rd.write_json("steps/a.json", {"half": "written"})
    assert (result.run_dir / "steps/a.json").read_text() == before  # old file intact
    assert not [p for p in result.run_dir.rglob("*") if p.name.endswith(".tmp")]
    with pytest.raises(RunStorageError, match="outside the run folder"):
        rd.write_text("../escape.txt", "x")


def test_a_step_file_that_cannot_be_written_fails_the_run_clearly(project, tmp_path, monkeypatch):
    """Step files are written in threads while the dependents already run: a write that
    fails still reaches the caller as a clear storage error, and the other files stay."""
    from dramaturg.errors import RunStorageError
    from dramaturg.store.rundir import RunDir

    real = RunDir.write_bytes

    def full_for_b2(self: RunDir, rel: str, data: bytes, *, durable: bool = True) -> object:
        if rel == "steps/b2.json":
            raise RunStorageError(f"cannot write {rel}: No space left on device")
        return real(self, rel, data, durable=durable)

    monkeypatch.setattr(RunDir, "write_bytes", full_for_b2)
    fake = FakeChatModel()
    with pytest.raises(RunStorageError, match=r"steps/b2\.json: No space left"):
        run(project(BRANCHES), tmp_path, fake)
    (run_dir,) = (tmp_path / "out").iterdir()
    assert {p.name for p in (run_dir / "steps").glob("*.json")} == {
        "a.json",
        "b.json",
        "a2.json",
        "both.json",
    }
    assert len(fake.calls) == 5  # every step ran
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]


def test_manifest_has_no_secrets_and_records_models(project, tmp_path, monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", "sk-SECRET-123")
    chain = BRANCHES.replace(
        "default: {provider: fake}",
        "default: {provider: fake, temperature: 0.3, extra: {api_key: sk-SECRET-123}}",
    )
    result = load_chain(project(chain)).run({}, out=tmp_path)  # built by the provider
    text = "".join(p.read_text() for p in result.run_dir.rglob("*.json"))
    assert "sk-SECRET-123" not in text
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["models"]["default"]["temperature"] == 0.3
    assert manifest["chain"]["name"] == "branches" and len(manifest["chain"]["hash"]) == 64
    assert manifest["steps"]["both"]["needs"] == ["a2", "b2"]


SEEDED = """
name: seeded
inputs:
  seed: {type: integer, default: 3}
models:
  default: {provider: fake, seed: $seed}
steps:
  a: {prompt: {text: "x"}}
  b: {prompt: {text: "y"}, options: {seed: 40}}
"""


def test_seed_from_an_input_and_the_run_seed(project, tmp_path):
    from dramaturg.providers import get_registry
    from dramaturg.providers.registry import Provider

    fake = FakeChatModel()
    reg = get_registry()
    original = reg.get("fake")
    reg.add(Provider(name="fake", description="", text=lambda config: fake))
    try:
        chain = load_chain(project(SEEDED))
        chain.run({}, out=None)
        assert [c.seed for c in fake.calls_for("a")] == [3]
        assert [c.seed for c in fake.calls_for("b")] == [40]  # the step's own seed
        fake.reset()
        chain.run({"seed": 8}, out=None)
        assert [c.seed for c in fake.calls_for("a")] == [8]
        fake.reset()
        chain.run({"seed": 8}, out=None, seed=100)  # --seed replaces every seed
        assert {c.seed for c in fake.calls} == {100}
    finally:
        reg.add(original)


def test_seed_reference_must_be_an_integer_input(project):
    with pytest.raises(dramaturg.ChainError, match="unknown input 'sed'"):
        load_chain(project(SEEDED.replace("seed: $seed", "seed: $sed")))
    with pytest.raises(dramaturg.ChainError, match="of type string"):
        load_chain(project(SEEDED.replace("{type: integer, default: 3}", "{type: string}")))


async def test_the_synchronous_api_inside_an_event_loop_says_what_to_await(project, tmp_path):
    from dramaturg.errors import InputError

    chain = load_chain(project(BRANCHES))
    with pytest.raises(InputError, match=r"Chain\.run\(\) was called inside a running event loop"):
        chain.run({}, models={"default": FakeChatModel()}, out=tmp_path)
    with pytest.raises(InputError) as err:
        dramaturg.rerun(tmp_path)
    assert err.value.hint == "use `await dramaturg.cowrite.rerun.arerun(...)` there"
