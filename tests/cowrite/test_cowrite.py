"""Co-writing a run from Python: versions and history, edits checked by the step's parser and
kept by reruns, reruns that regenerate what they are told to (with new seeds) and recompute only
what changed, checkout, continue, and template overrides. The fake models count the calls; the
step cache is off (``cache=False``) unless said otherwise, so what a rerun keeps comes from the
run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import dramaturg
from dramaturg import ExportContext, FakeChatModel, InputError, load_chain, register_exporter
from dramaturg.cowrite.edit import edit_text, editable_text

CHAIN = """
name: story
prompts: ../prompts
inputs:
  topic: {type: string, default: tides}
models:
  default: {provider: fake, seed: 4, extra: {api_key: SECRET-IN-THE-CHAIN-0123}}
steps:
  ideas:
    prompt: ideas.j2
    parse: lines
    continue: "More ideas about {{ topic }}, one per line."
  expand:
    for_each: ideas
    as: idea
    prompt: expand.j2
  title: {prompt: {text: "Title for {{ expand | join(' / ') }}"}}
exports: [joined_story]
"""
TEMPLATES = {"ideas.j2": "Ideas about {{ topic }}.", "expand.j2": "Expand: {{ idea }}"}


def joined(ctx: ExportContext) -> list[Path]:
    target = ctx.run_dir / "joined.txt"
    target.write_text(" | ".join(ctx.result["expand"]) + "\n" + ctx.result["title"])
    return [target]


register_exporter("joined_story", joined)


def fake(**kw: Any) -> FakeChatModel:
    """Ideas are scripted; every other answer shows its prompt and the seed it was sent with."""
    return FakeChatModel(
        responses={"ideas": "one\ntwo\nthree", "expand": lambda c: f"{c.prompt} [seed {c.seed}]"},
        **kw,
    )


def calls(model: FakeChatModel) -> list[tuple[str | None, int | None]]:
    return sorted((c.step, c.item) for c in model.calls)


@pytest.fixture
def run_dir(project, tmp_path) -> Path:
    path = project(CHAIN, TEMPLATES)
    result = load_chain(path).run({}, models={"default": fake()}, out=tmp_path / "out", cache=False)
    assert result.ok and result.run_dir is not None
    return result.run_dir


def rerun(run_dir: Path, **kw: Any) -> tuple[Any, FakeChatModel]:
    model = fake()
    result = dramaturg.rerun(run_dir, models={"default": model}, cache=False, **kw)
    return result, model


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def test_an_unchanged_rerun_keeps_every_call_from_the_run_folder(run_dir):
    result, model = rerun(run_dir)
    assert model.calls == [] and result.ok
    assert [s.resumed for s in result.steps.values()] == [1, 3, 1]
    assert manifest(run_dir)["steps"]["expand"]["resumed"] == 3
    # no version was made: nothing changed
    assert [v.kind for v in dramaturg.step_history(run_dir, "expand")] == ["NEW"]


def test_edit_pins_the_output_marks_descendants_stale_and_rebuilds_exports(run_dir):
    version = dramaturg.edit_step(run_dir, "expand", "A whole new second paragraph.", item=1)
    assert (version.kind, version.version, version.item, version.pinned) == ("EDIT", 2, 1, [1])
    steps = manifest(run_dir)["steps"]
    assert steps["title"]["stale"] == {"because": ["expand"]} and "stale" not in steps["ideas"]
    assert steps["expand"]["version"] == 2
    assert "A whole new second paragraph." in (run_dir / "joined.txt").read_text()
    item = json.loads((run_dir / "steps" / "expand" / "1.json").read_text())
    assert item["output"] == "A whole new second paragraph." and item["pinned"] is True

    result, model = rerun(run_dir)
    assert calls(model) == [("title", None)]  # only what read the edited output
    assert result["expand"][1] == "A whole new second paragraph."
    assert "stale" not in manifest(run_dir)["steps"]["title"]
    # a second rerun: the edit is still kept, nothing to do
    _, model = rerun(run_dir)
    assert model.calls == []


def test_a_kept_edit_whose_inputs_changed_is_reported_stale(run_dir):
    dramaturg.edit_step(run_dir, "expand", "My own paragraph.", item=1)
    dramaturg.edit_step(run_dir, "ideas", ["one", "TWO (edited)", "three"])
    events: list[dict[str, Any]] = []
    result, model = rerun(run_dir, on_event=events.append)
    assert calls(model) == [("title", None)]  # expand/1 is pinned; 0 and 2 did not change
    assert result["expand"][1] == "My own paragraph."
    assert manifest(run_dir)["steps"]["expand"]["stale"] == {"pinned": [1]}
    stale = [(e["step"], e["item"]) for e in events if e["event"] == "pinned_stale"]
    assert stale == [("expand", 1)]
    # regenerating it unpins it: it follows the edited idea, with a seed of its own
    result, model = rerun(run_dir, only=["expand/1"])
    assert calls(model) == [("expand", 1), ("title", None)]
    assert result["expand"][1].startswith("Expand: TWO (edited) [seed ")
    assert "stale" not in manifest(run_dir)["steps"]["expand"]


def test_only_regenerates_one_item_with_a_new_seed_that_later_reruns_keep(run_dir):
    first = dramaturg.load_run(run_dir)["expand"]
    assert first[2] == "Expand: three [seed 4]"
    result, model = rerun(run_dir, only=["expand/2"])
    assert calls(model) == [("expand", 2), ("title", None)]
    assert result["expand"][:2] == first[:2]
    assert result["expand"][2] == "Expand: three [seed 1004]"  # the step's seed + 1000 x (v - 1)
    (v2,) = dramaturg.step_history(run_dir, "expand")[1:]
    assert (v2.kind, v2.seed, v2.item) == ("RERUN", 1004, 2)
    _, model = rerun(run_dir)
    assert model.calls == []  # the new seed is the item's from now on
    result, model = rerun(run_dir, only=["expand/2"], seed=77)
    assert result["expand"][2] == "Expand: three [seed 77]"


def test_from_regenerates_a_step_and_everything_downstream(run_dir):
    result, model = rerun(run_dir, from_steps=["expand"], seed=9)
    assert calls(model) == [("expand", 0), ("expand", 1), ("expand", 2), ("title", None)]
    assert all(e.endswith("[seed 9]") for e in result["expand"])
    assert [c.seed for c in model.calls_for("title")] == [9]


def test_history_checkout_and_the_calls_a_checkout_makes_free(run_dir):
    dramaturg.edit_step(run_dir, "ideas", ["one", "two", "three", "four"])
    _, model = rerun(run_dir)
    assert calls(model) == [("expand", 3), ("title", None)]
    history = dramaturg.step_history(run_dir, "ideas")
    assert [(v.version, v.kind, v.current) for v in history] == [
        (1, "NEW", False),
        (2, "EDIT", True),
    ]
    assert history[0].time <= history[1].time
    restored = dramaturg.checkout(run_dir, "ideas", 1)
    assert restored.current and dramaturg.load_run(run_dir)["ideas"] == ["one", "two", "three"]
    assert manifest(run_dir)["steps"]["expand"]["stale"] == {"because": ["ideas"]}
    # the run folder still holds the answers to those prompts (the title's too): no calls
    result, model = rerun(run_dir)
    assert model.calls == []
    assert len(result["expand"]) == 3 and not (run_dir / "steps" / "expand" / "3.json").exists()
    assert result["title"] == dramaturg.step_history(run_dir, "title")[0].output
    assert [v.kind for v in dramaturg.step_history(run_dir, "expand")] == ["NEW", "RERUN", "RERUN"]
    # the item's own history: the versions that changed it
    assert [v.version for v in dramaturg.step_history(run_dir, "expand", 0)] == [1]
    with pytest.raises(InputError, match="no version 9") as err:
        dramaturg.checkout(run_dir, "ideas", 9)
    assert "from 1 to 2" in str(err.value)


def test_the_parser_checks_edits_and_says_where_it_failed(project, tmp_path):
    chain = """
    name: checked
    models:
      default: {provider: fake}
    steps:
      scenes:
        prompt: {text: "scenes"}
        parse:
          type: json
          schema:
            type: array
            items: {type: object, required: [place, beat], properties: {beat: {type: string}}}
      cast:
        prompt: {text: "cast"}
        parse: {type: sections, fields: [Name, Role], multiple: true}
    """
    model = FakeChatModel(
        responses={
            "scenes": '[{"place": "Harbour", "beat": "Wren waits."}]',
            "cast": "Name: Wren\nRole: keeper\n\nName: Orrin\nRole: harbour master",
        }
    )
    run = load_chain(project(chain)).run({}, models={"default": model}, out=tmp_path, cache=False)
    edited = "- place: Harbour\n  beat: Wren waits.\n- place: Cliff\n  beat: 42\n"
    with pytest.raises(InputError) as err:
        edit_text(run.run_dir, "scenes", edited, source="scenes.yaml")
    assert str(err.value).startswith("scenes.yaml:4:9: scenes: the step's parser (json) refused")
    assert "not of type 'string'" in str(err.value)
    with pytest.raises(InputError, match=r"^scenes.yaml:2:1: YAML syntax error"):
        edit_text(run.run_dir, "scenes", "- a: [\n- b", source="scenes.yaml")
    # a record the parser would drop is refused, at its line
    cast = "- name: Wren\n  role: keeper\n- name: Mara\n"
    with pytest.raises(InputError, match=r"^cast.yaml:3:3: cast: .* would drop entry 2"):
        edit_text(run.run_dir, "cast", cast, source="cast.yaml")
    # nothing was saved; a good edit is
    assert [v.kind for v in dramaturg.step_history(run.run_dir, "cast")] == ["NEW"]
    v = edit_text(run.run_dir, "cast", cast + "  role: cook\n")
    assert v.output[1] == {"name": "Mara", "role": "cook"}


def test_a_lines_step_is_edited_one_entry_per_line(run_dir):
    text, plain = editable_text(run_dir, "ideas")
    assert (text, plain) == ("one\ntwo\nthree\n", True)
    v = edit_text(run_dir, "ideas", "one\n- two bis\nthree\n")
    assert v.output == ["one", "two bis", "three"]  # through the lines parser: bullet removed
    assert edit_text(run_dir, "ideas", "one\ntwo bis\nthree").version == 2


def test_a_file_edited_by_hand_becomes_a_pinned_version(run_dir):
    path = run_dir / "steps" / "expand.json"
    data = json.loads(path.read_text())
    data["output"][0] = "Written by hand."
    path.write_text(json.dumps(data))
    result, model = rerun(run_dir)
    assert calls(model) == [("title", None)]
    assert result["expand"][0] == "Written by hand."
    v = dramaturg.step_history(run_dir, "expand")[1]
    assert (v.kind, v.item, v.pinned, v.note) == (
        "EDIT",
        0,
        [0],
        "edited by hand in steps/expand.json",
    )


def test_continue_appends_new_entries_and_is_kept(run_dir):
    model = FakeChatModel(responses={"ideas": "two\nfour\nfive\nfour"})
    v = dramaturg.continue_step(run_dir, "ideas", models={"default": model})
    assert v.kind == "CONTINUE" and v.output == ["one", "two", "three", "four", "five"]
    assert v.seed == 1004 and v.pinned == [None]
    (call,) = model.calls
    # the step's prompt, its answer as the model's turn, then its continue prompt
    assert (
        call.prompt == "Ideas about tides.\none\ntwo\nthree\nMore ideas about tides, one per line."
    )
    assert call.seed == 1004
    assert manifest(run_dir)["steps"]["expand"]["stale"] == {"because": ["ideas"]}
    result, again = rerun(run_dir)
    assert calls(again) == [("expand", 3), ("expand", 4), ("title", None)]
    assert result["ideas"] == v.output
    # nothing new: refused, nothing kept
    with pytest.raises(InputError, match="added nothing new"):
        dramaturg.continue_step(run_dir, "ideas", models={"default": model})
    with pytest.raises(InputError, match="name the one to continue"):
        dramaturg.continue_step(run_dir, "expand", models={"default": model})


def test_continue_extends_text_with_a_paragraph(run_dir):
    model = FakeChatModel(responses={"expand": "And then the tide turned."})
    v = dramaturg.continue_step(run_dir, "expand", 1, models={"default": model})
    assert v.output[1] == "Expand: two [seed 4]\n\nAnd then the tide turned."
    (call,) = model.calls
    # without a continue prompt of its own: the default one
    assert call.prompt.endswith("Do not repeat anything you already wrote.")
    assert "Expand: two [seed 4]" in call.prompt  # the model's own earlier answer


def test_templates_from_a_folder_given_at_run_time_stay_in_use(project, tmp_path):
    path = project(CHAIN, TEMPLATES)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "expand.j2").write_text("My take on: {{ idea }}")
    chain = load_chain(path, templates=[mine])
    assert [u.override for u in chain.templates()["expand"]] == [True]
    result = chain.run({}, models={"default": fake()}, out=tmp_path / "out", cache=False)
    assert result["expand"][0].startswith("My take on: one")
    _, model = rerun(result.run_dir)
    assert model.calls == []  # the run's own override is used again
    (mine / "expand.j2").write_text("My second take on: {{ idea }}")
    rerun_result, model = rerun(result.run_dir)
    assert calls(model) == [("expand", 0), ("expand", 1), ("expand", 2), ("title", None)]
    assert rerun_result["expand"][0].startswith("My second take on: one")
    assert (tmp_path / "prompts" / "expand.j2").read_text() == "Expand: {{ idea }}"  # untouched


def test_a_rerun_that_stopped_half_way_is_finished_by_the_next(run_dir, monkeypatch):
    from dramaturg.cowrite import rerun as reruns

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    dramaturg.edit_step(run_dir, "ideas", ["one", "two", "3"])
    monkeypatch.setattr(reruns, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        rerun(run_dir, only=["title"])
    monkeypatch.undo()
    with pytest.raises(InputError, match="stopped before it finished"):
        dramaturg.edit_step(run_dir, "ideas", ["x"])
    with pytest.raises(InputError, match="finish the rerun: dramaturg rerun"):
        dramaturg.resume_run(run_dir, models={"default": fake()})
    result, model = rerun(run_dir)  # finishes it: the same --only, the calls made are kept
    assert model.calls == []
    assert result["expand"][2].startswith("Expand: 3")
    kinds = [v.kind for v in dramaturg.step_history(run_dir, "title")]
    assert kinds == ["NEW", "RERUN"]
    assert dramaturg.step_history(run_dir, "title")[1].seed == 1004


def test_images_cannot_be_edited_but_versions_restore_them(project, tmp_path):
    chain = """
    name: pics
    models:
      default: {provider: fake}
      images: {provider: fake, seed: 1}
    steps:
      names: {prompt: {text: "names"}, parse: lines}
      portraits: {kind: image, for_each: names, prompt: {text: "portrait of {{ item }}"}}
    """
    models = {"default": FakeChatModel(responses={"names": "Wren\nOrrin"})}
    result = load_chain(project(chain)).run({}, models=models, out=tmp_path, cache=False)
    image = result.run_dir / result["portraits"][1]["image"]
    first = image.read_bytes()
    with pytest.raises(InputError, match="cannot be edited"):
        dramaturg.edit_step(result.run_dir, "portraits", {}, item=1)
    again = dramaturg.rerun(result.run_dir, models=models, only=["portraits/1"], cache=False)
    assert again.ok and image.read_bytes() != first  # another seed, another image
    dramaturg.checkout(result.run_dir, "portraits", 1)
    assert image.read_bytes() == first


def test_no_secret_reaches_the_versions(run_dir, monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", "co-SECRET-0123456789")
    dramaturg.edit_step(run_dir, "ideas", ["a", "b"])
    rerun(run_dir)
    for f in (run_dir / "versions").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"SECRET" not in data, f
