"""The plan of a rerun (``plan_rerun``, ``rerun --plan``): which calls a rerun would make after
an edit, saved or not, without calling a model or writing to the run folder; and the rerun then
makes exactly the calls it planned (each plan is checked against the real rerun's events).

On the Dramatron chain (dry runs: the fakes answer every parser). Scene 3 is plot item 2 (items
count from 0; plot.j2 writes "scene {{ index + 1 }}"). dialogue.j2 gives each scene its own beat
and, from the second scene on, the previous scene's as "Previous beat": so editing scene 3's beat
changes the prompts of the dialogue of scenes 3 and 4, items 2 and 3, and of nothing else."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dramaturg
from dramaturg import InputError, load_chain, load_run, plan_rerun
from dramaturg.cowrite.edit import TextEdit, edit_text
from dramaturg.cowrite.planned import Action, Reason
from dramaturg.events import Cached, Event, FanOut, ItemFinished, PinnedStale, Resumed, StepFinished

ROOT = Path(__file__).resolve().parents[2]
LOGLINE = "A lighthouse keeper who collects storms in jars discovers one of them is alive."


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """A copy of the Dramatron chain and its templates, to edit templates freely."""
    (tmp_path / "chains").mkdir()
    shutil.copy(ROOT / "chains" / "dramatron.yaml", tmp_path / "chains")
    shutil.copytree(ROOT / "prompts" / "dramatron", tmp_path / "prompts" / "dramatron")
    return tmp_path / "chains" / "dramatron.yaml"


def dry_run(chain: Path, **kw: Any) -> Path:
    result = load_chain(chain).run(
        {"logline": LOGLINE, "num_scenes": 5}, dry_run=True, out=chain.parent.parent / "out", **kw
    )
    assert result.ok and result.run_dir is not None
    return result.run_dir


def scene_3_rewritten(run_dir: Path) -> dict[str, Any]:
    """Scene 3 (plot item 2) with a new beat that the scene's schema accepts (it names a
    character first)."""
    run = load_run(run_dir)
    scene = copy.deepcopy(run["plot"][2])
    name = run["characters"][0]["name"]
    scene["beat"] = f"{name} smashes the last jar and the storm fills the lamp room."
    return scene


def folder(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run folder and what it holds."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def names(calls: Any) -> list[str]:
    return [c.name for c in calls]


def rerun(run_dir: Path, **kw: Any) -> tuple[set[tuple[str, int | None]], list[Event]]:
    """Rerun; the calls it made (those it did not keep), from its events."""
    events: list[Event] = []
    result = dramaturg.rerun(run_dir, on_event=events.append, **kw)
    assert result.ok
    return made(events), events


def made(events: list[Event]) -> set[tuple[str, int | None]]:
    kept = {(e.step, e.item) for e in events if isinstance(e, (Resumed, Cached))}
    fan_outs = {e.step for e in events if isinstance(e, FanOut)}
    every = {(e.step, e.item) for e in events if isinstance(e, ItemFinished)}
    every |= {(e.step, None) for e in events if isinstance(e, StepFinished)} - {
        (s, None) for s in fan_outs
    }
    return every - kept


def called(plan: Any) -> set[tuple[str, int | None]]:
    return {(c.step, c.item) for c in plan.recompute}


def test_editing_scene_3s_beat_plans_the_dialogue_of_scenes_3_and_4_as_the_rerun_makes(chain):
    run_dir = dry_run(chain)
    scene = scene_3_rewritten(run_dir)
    before = folder(run_dir)
    plan = plan_rerun(run_dir, edits={"plot/2": scene})  # asked before the edit is saved
    assert folder(run_dir) == before  # nothing written: no version, no stale mark, no file
    assert names(plan.recompute) == ["dialogue/2", "dialogue/3"]
    assert [c.why for c in plan.recompute] == ["its prompt changed"] * 2
    assert plan.may_recompute == [] and plan.stale == [] and plan.dropped == ()
    assert [c.name for c in plan.calls if c.pinned] == ["plot/2"]
    assert plan.edited == (("plot", 2),)
    # every other call is kept: the places, their illustrations and the portraits too
    assert len(plan.kept) == len(plan.calls) - 2

    dramaturg.edit_step(run_dir, "plot", scene, item=2)
    saved = plan_rerun(run_dir)
    assert saved.calls == plan.calls  # the plan of the saved edit is the same
    calls, events = rerun(run_dir)
    assert calls == called(plan) == {("dialogue", 2), ("dialogue", 3)}
    assert not [e for e in events if isinstance(e, PinnedStale)]
    # the prompts it sent: scene 3's own beat, and scene 4's previous beat
    prompts = run_dir / "prompts" / "dialogue"
    assert f"Beat: {scene['beat']}" in (prompts / "2.txt").read_text()
    assert f"Previous beat: {scene['beat']}" in (prompts / "3.txt").read_text()
    assert plan_rerun(run_dir).nothing_to_do  # and after it, nothing is left to do


def test_an_unchanged_run_plans_nothing_and_its_rerun_calls_nothing(chain):
    run_dir = dry_run(chain)
    plan = plan_rerun(run_dir)
    assert plan.nothing_to_do and plan.recompute == [] and plan.may_recompute == []
    assert {c.reason for c in plan.calls} == {Reason.UNCHANGED}
    steps = {c.step for c in plan.calls}
    assert steps == set(load_chain(chain).spec.steps)
    calls, _ = rerun(run_dir)
    assert calls == set()


def test_a_plan_for_one_scene_only(chain):
    run_dir = dry_run(chain)
    plan = plan_rerun(run_dir, only=["dialogue/2"])
    (call,) = plan.recompute
    assert (call.name, call.reason, call.seed) == ("dialogue/2", Reason.FORCED, 1001)
    assert call.why == "regenerated with seed 1001"  # the step's seed (1) + 1000 for version 2
    assert plan.may_recompute == [] and plan.only == (("dialogue", 2),)
    calls, _ = rerun(run_dir, only=["dialogue/2"])
    assert calls == {("dialogue", 2)}
    with pytest.raises(InputError, match="there is no item 9"):
        plan_rerun(run_dir, only=["dialogue/9"])


def test_after_a_template_edit_the_steps_below_may_recompute(chain):
    """place.j2 feeds the places, and their descriptions the dialogue and the illustrations:
    those cannot be rendered before the places are answered again. The dry run's fakes answer
    from the prompt: every new description differs, so every one of those is recomputed."""
    run_dir = dry_run(chain)
    template = chain.parent.parent / "prompts" / "dramatron" / "place.j2"
    template.write_text(template.read_text() + "Be vivid.\n")
    plan = plan_rerun(run_dir)
    places = [c for c in plan.calls if c.step == "places"]
    assert places == plan.recompute and len(places) == len(load_run(run_dir)["places"])
    assert {c.why for c in places} == {"its prompt changed"}
    assert {c.step for c in plan.may_recompute} == {"dialogue", "illustrations"}
    first = plan.may_recompute[0]
    assert first.depends_on == tuple((c.step, c.item) for c in places)
    assert first.why.startswith("depends on places")
    calls, _ = rerun(run_dir)
    assert calls == called(plan) | {(c.step, c.item) for c in plan.may_recompute}


def test_a_template_change_that_leaves_the_prompt_as_it_was_is_told_apart(chain):
    """dialogue_example.j2 is included in a branch this run does not take: the dialogue's keys
    change (its template sources did), its prompts do not."""
    run_dir = dry_run(chain)
    template = chain.parent.parent / "prompts" / "dramatron" / "dialogue_example.j2"
    template.write_text(template.read_text().replace("{#", "{# v2:", 1))
    plan = plan_rerun(run_dir)
    assert {c.step for c in plan.recompute} == {"dialogue"} and plan.may_recompute == []
    assert {c.why for c in plan.recompute} == {"its templates or settings changed (same prompt)"}
    calls, _ = rerun(run_dir)
    assert calls == called(plan)


def test_an_edit_below_kept_though_its_inputs_change_is_planned_stale(chain):
    run_dir = dry_run(chain)
    lines = copy.deepcopy(load_run(run_dir)["dialogue"][3])
    dramaturg.edit_step(run_dir, "dialogue", lines[:-1], item=3)  # scene 4's dialogue, pinned
    plan = plan_rerun(run_dir, edits={("plot", 2): scene_3_rewritten(run_dir)})
    assert names(plan.recompute) == ["dialogue/2"]
    (stale,) = plan.stale
    assert (stale.name, stale.action, stale.stale) == ("dialogue/3", Action.KEEP, True)
    assert stale.why == "your edit, kept though its inputs changed (stale)"
    dramaturg.edit_step(run_dir, "plot", scene_3_rewritten(run_dir), item=2)
    calls, events = rerun(run_dir)
    assert calls == called(plan)
    assert [(e.step, e.item) for e in events if isinstance(e, PinnedStale)] == [("dialogue", 3)]


def test_an_edit_below_a_call_to_recompute_may_become_stale(chain):
    run_dir = dry_run(chain)
    dialogue = load_run(run_dir)["dialogue"]
    dramaturg.edit_step(run_dir, "dialogue", dialogue[1][:-1], item=1)
    plan = plan_rerun(run_dir, only=["places/0"])
    pinned = next(c for c in plan.calls if c.name == "dialogue/1")
    assert (pinned.action, pinned.stale) == (Action.KEEP, None)
    assert pinned.why == "your edit, kept; may become stale: depends on places/0"
    assert "dialogue/1" not in names(plan.may_recompute)


def test_a_broken_edit_is_refused_as_the_edit_itself_would_be(chain):
    run_dir = dry_run(chain)
    for text, where in [
        ("plot_element: Climax\nplace: Harbour\nbeat: [unclosed\n", "scene3.yaml:4:1: YAML"),
        ("plot_element: Climax\nplace: Harbour\n", "scene3.yaml:1:1: plot item 2: the step's"),
    ]:
        before = folder(run_dir)
        with pytest.raises(InputError) as planned:
            plan_rerun(run_dir, edits={"plot/2": TextEdit(text, "scene3.yaml")})
        assert folder(run_dir) == before
        with pytest.raises(InputError) as saved:
            edit_text(run_dir, "plot", text, item=2, source="scene3.yaml")
        assert str(planned.value) == str(saved.value)
        assert str(planned.value).startswith(where)
    with pytest.raises(InputError) as planned:
        plan_rerun(run_dir, edits={"plot/2": {"place": "Harbour"}})
    with pytest.raises(InputError) as saved:
        dramaturg.edit_step(run_dir, "plot", {"place": "Harbour"}, item=2)
    assert str(planned.value) == str(saved.value)
    with pytest.raises(InputError, match="expected STEP or STEP/ITEM"):
        plan_rerun(run_dir, edits={"plot 2": {}})


def test_a_rerun_that_stopped_half_way_is_planned_as_the_next_rerun_finishes_it(chain, monkeypatch):
    from dramaturg.cowrite import rerun as reruns

    run_dir = dry_run(chain)
    dramaturg.edit_step(run_dir, "plot", scene_3_rewritten(run_dir), item=2)

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # after its calls, before it recorded its versions

    monkeypatch.setattr(reruns, "_record", stop)
    with pytest.raises(KeyboardInterrupt):
        dramaturg.rerun(run_dir, only=["title"])
    monkeypatch.undo()
    plan = plan_rerun(run_dir)
    assert plan.finishing and plan.only == (("title", None),)
    assert plan.nothing_to_do  # every call it made is in the folder: the next rerun keeps them
    with pytest.raises(InputError, match="stopped before it finished"):
        plan_rerun(run_dir, edits={"title": "The Storm Jar"})  # as edit_step refuses
    calls, _ = rerun(run_dir)
    assert calls == set()
    assert [v.kind for v in dramaturg.step_history(run_dir, "title")] == ["NEW", "RERUN"]


@pytest.fixture
def counted() -> Iterator[list[str]]:
    """The fake provider, counting the text models it makes."""
    from dramaturg.providers import get_registry
    from dramaturg.providers.registry import Provider

    registry = get_registry()
    original = registry.get("fake")
    assert original.text is not None
    make = original.text
    loaded: list[str] = []

    def text(config: Any) -> Any:
        loaded.append(config.provider)
        return make(config)

    registry.add(Provider(name="fake", description="", text=text, image=original.image))
    try:
        yield loaded
    finally:
        registry.add(original)


def test_a_plan_loads_no_model(chain, counted):
    """A run on its models (not a dry run): the plan keys calls with them, loads none."""
    result = load_chain(chain).run(
        {"logline": LOGLINE, "num_scenes": 3},
        models={"default": "fake"},
        out=chain.parent.parent / "out",
        cache=False,
    )
    assert result.ok and result.run_dir is not None
    loaded = len(counted)  # one per distinct model config
    assert loaded > 0
    plan = plan_rerun(result.run_dir, only=["title"])
    assert names(plan.recompute) == ["title"] and plan.may_recompute == []
    assert len(counted) == loaded
    calls, _ = rerun(result.run_dir, only=["title"], cache=False)
    assert calls == {("title", None)} and len(counted) == 2 * loaded


async def test_a_plan_from_async_code(chain):
    run_dir = await asyncio.to_thread(dry_run, chain)
    plan = await dramaturg.aplan_rerun(run_dir, edits={"plot/2": scene_3_rewritten(run_dir)})
    assert names(plan.recompute) == ["dialogue/2", "dialogue/3"]


def invoke(*args: Any) -> Any:
    from typer.testing import CliRunner

    from dramaturg.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_rerun_plan_on_the_command_line(chain):
    run_dir = dry_run(chain)
    dramaturg.edit_step(run_dir, "plot", scene_3_rewritten(run_dir), item=2)
    before = folder(run_dir)
    r = invoke("rerun", run_dir, "--plan")
    assert r.exit_code == 0, r.output
    lines = [line.rstrip() for line in r.output.splitlines()]
    assert "will recompute: dialogue/2, dialogue/3" in lines
    rows = [line.split(None, 2) for line in lines if line.startswith(("plot/", "dialogue/"))]
    assert rows == [
        ["plot/2", "keep", "your edit, kept"],
        ["dialogue/2", "recompute", "its prompt changed"],
        ["dialogue/3", "recompute", "its prompt changed"],
    ]
    assert "kept unchanged: title, characters, plot (4), places (5), dialogue (3)" in r.output

    r = invoke("rerun", run_dir, "--plan", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["recompute"], data["may_recompute"], data["stale"]) == (
        ["dialogue/2", "dialogue/3"],
        [],
        [],
    )
    call = next(c for c in data["calls"] if c["call"] == "dialogue/3")
    assert [call["action"], call["reason"], call["why"]] == [
        "recompute",
        "changed",
        "its prompt changed",
    ]
    assert folder(run_dir) == before  # nothing written by either

    r = invoke("rerun", run_dir, "--plan", "--only", "dialogue/9")
    assert r.exit_code == 2 and "there is no item 9" in r.output
    assert invoke("rerun", run_dir, "-q").exit_code == 0
    r = invoke("rerun", run_dir, "--plan")
    assert r.exit_code == 0 and "nothing to recompute: 24 calls kept, no model called" in r.output
