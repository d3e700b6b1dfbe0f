"""A run's outputs assembled into the screenplay model, as Dramatron renders a script."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dramaturg import ExportError, RunResult, StepResult
from dramaturg.screenplay.assemble import assemble, clean
from dramaturg.screenplay.cast import Cast, introduce
from dramaturg.screenplay.model import Action, Character, Dialogue, Transition
from dramaturg.screenplay.options import Options, parse_options
from dramaturg.screenplay.sluglines import split_setting
from screenplay_fixtures import CHARACTERS, DIALOGUE, LOGLINE, PLACES, PLOT, TITLE, loaded


def in_memory(**outputs: Any) -> RunResult:
    data = {"title": TITLE, "characters": CHARACTERS, "plot": PLOT, "dialogue": DIALOGUE}
    data.update(outputs)
    steps = {
        k: StepResult(k, status="done", output=v, started=1_790_000_000.0)
        for k, v in data.items()
        if v is not None
    }
    return RunResult("r", "dramatron", "done", steps, list(steps), inputs={"logline": LOGLINE})


def test_title_page(tmp_path):
    sp = assemble(loaded(tmp_path), parse_options({"author": "Ada Lovelace"}))
    page = sp.title_page
    assert page.title == TITLE and page.credit == "Co-written by"
    assert page.authors == ["Dramaturg", "Ada Lovelace"]
    assert page.logline == LOGLINE  # read back from the manifest: load_run gives no inputs
    assert page.draft_date.endswith(", 2026") or page.draft_date[-4:].isdigit()
    assert assemble(in_memory(title='  "The   Salt Road"\n')).title == "The Salt Road"
    assert assemble(in_memory(), Options(draft_date="Spring")).title_page.draft_date == "Spring"


def test_scene_headings_and_first_appearances(tmp_path):
    sp = assemble(loaded(tmp_path))
    assert [s.heading for s in sp.scenes] == [
        "INT. THE LAMP ROOM OF THE LIGHTHOUSE",
        "EXT. HARBOUR WALL",
        "INT. THE LAMP ROOM OF THE LIGHTHOUSE",
        "EXT. HARBOUR WALL",
    ]
    assert [s.number for s in sp.scenes] == [1, 2, 3, 4]
    assert [s.plot_element for s in sp.scenes][:2] == ["Exposition", "Inciting Incident"]
    intros = [
        [(e.role, e.text) for e in s.elements if isinstance(e, Action) and e.role != "action"]
        for s in sp.scenes
    ]
    # a place is described the first time it appears (case-insensitively), a character too
    assert intros[0] == [
        ("place", PLACES[0]),
        ("character", CHARACTERS[0]["description"].replace("Mara Voss", "MARA VOSS")),
    ]
    assert intros[1] == [
        ("place", PLACES[1]),
        ("character", "ORIN is the ferryman, Mara's oldest friend, who owes her a debt."),
    ]
    assert intros[2] == [("character", "ILSE, a child of the harbour who hears storms talking.")]
    assert intros[3] == []


def test_dialogue_elements(tmp_path):
    sp = assemble(loaded(tmp_path))
    first = sp.scenes[0].elements
    vo = next(e for e in first if isinstance(e, Dialogue))
    assert vo.cue == "MARA (V.O.)" and vo.name == "MARA" and vo.extensions == "(V.O.)"
    assert [(b.parenthetical, b.text) for b in vo.blocks] == [
        (True, "(quietly)"),
        (False, "Forty years of storms, and every one of them labelled."),
    ]
    second = [e for e in sp.scenes[1].elements if isinstance(e, Dialogue)]
    # a parenthetical opening the line becomes its own block; a lower-case cue is capitalised
    assert [(b.parenthetical, b.text) for b in second[0].blocks] == [
        (True, "(shouting)"),
        (False, "The ferry won't cross tonight, Mara!"),
    ]
    assert second[1].cue == "MARA" and second[1].blocks[0].text == "(beat)"
    transitions = [e.text for s in sp.scenes for e in s.elements if isinstance(e, Transition)]
    assert transitions == ["CUT TO:", "FADE TO BLACK.", "FADE OUT."]


def test_cues_are_matched_to_characters(tmp_path):
    sp = assemble(loaded(tmp_path))
    mara, orin, ilse = sp.characters
    speakers = {
        e.cue: e.character for s in sp.scenes for e in s.elements if isinstance(e, Dialogue)
    }
    assert speakers["MARA"] is mara and speakers["MARA (V.O.)"] is mara
    assert speakers["MARA VOSS"] is mara
    assert speakers["ORIN"] is orin and speakers["ORIN (O.S.)"] is orin
    assert speakers["ILSE"] is ilse
    assert speakers["FISHERMAN"] is None


def test_cue_matching_rules():
    cast = Cast(
        [
            Character("Mara Voss"),
            Character("Captain Orin Hale"),
            Character("Dr. Ilse Brandt"),
            Character("Mara Lind"),
        ]
    )
    by = {c.name: c for c in cast.characters}
    assert cast.match_cue("MARA VOSS") is by["Mara Voss"]
    assert cast.match_cue("MARA") is None  # two Maras: ambiguous
    assert cast.match_cue("VOSS") is by["Mara Voss"]
    assert cast.match_cue("LIND") is by["Mara Lind"]
    assert cast.match_cue("ORIN") is by["Captain Orin Hale"]
    assert cast.match_cue("HALE") is by["Captain Orin Hale"]
    assert cast.match_cue("CAPTAIN HALE") is by["Captain Orin Hale"]
    assert cast.match_cue("DR. BRANDT") is by["Dr. Ilse Brandt"]
    assert cast.match_cue("OLD ILSE") is by["Dr. Ilse Brandt"]
    assert cast.match_cue("STRANGER") is None
    assert cast.match_cue("") is None
    assert [c.name for c in cast.mentioned_in("Orin meets Mara Voss at dawn.")] == [
        "Mara Voss",
        "Captain Orin Hale",
    ]


def test_introductions():
    assert introduce(Character("Mara Voss", "Mara is a keeper.")) == "MARA is a keeper."
    assert introduce(Character("Orin", "The ferryman.")) == "ORIN, the ferryman."
    assert introduce(Character("Ilse", "Quiet, watchful.")) == "ILSE: Quiet, watchful."
    assert introduce(Character("Ilse", "")) == ""


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("The lamp room of the lighthouse", ("INT.", "The lamp room of the lighthouse")),
        ("Harbour wall", ("EXT.", "Harbour wall")),
        ("INT. Kitchen", ("INT.", "Kitchen")),
        ("ext - the pier", ("EXT.", "the pier")),
        ("INT./EXT. Mara's car", ("INT./EXT.", "Mara's car")),
        ("Roof of the tower", ("EXT.", "Roof of the tower")),
        ("The farmhouse kitchen", ("INT.", "The farmhouse kitchen")),
        ("Inside the whale", ("INT.", "Inside the whale")),
        ("Storm", ("EXT.", "Storm")),
        ("Estuary", ("EXT.", "Estuary")),
    ],
)
def test_int_ext_rule(place, expected):
    assert split_setting(place) == expected


def test_illustrations_per_place_or_per_scene(tmp_path):
    result = loaded(tmp_path)
    by_place = assemble(result)
    assert [s.image is not None for s in by_place.scenes] == [True, True, False, False]
    assert by_place.scenes[1].image.path.name == "1.png"
    assert all(c.portrait is not None for c in by_place.characters)
    assert by_place.characters[2].portrait.mime == "image/png"
    by_scene = assemble(result, Options(illustrate="scenes"))  # two images for four scenes
    assert [s.image is not None for s in by_scene.scenes] == [True, True, False, False]
    assert len(by_place.images()) == 5


def test_missing_or_failed_images_are_left_out(tmp_path):
    sp = assemble(loaded(tmp_path, images=False))
    assert sp.images() == []
    failed = assemble(loaded(tmp_path / "f", status={"portraits": "failed"}))
    assert all(c.portrait is None for c in failed.characters)
    assert failed.scenes[0].image is not None


def test_image_paths_cannot_leave_the_run_folder(tmp_path):
    run = loaded(tmp_path).run_dir
    outside = tmp_path / "secret.png"
    outside.write_bytes((run / "steps/portraits/0.png").read_bytes())
    (run / "steps/notes.png").write_text("not an image")
    evil = [{"image": "../secret.png"}, {"image": "steps/notes.png"}, {"image": "/etc/passwd"}]
    data = json.loads((run / "steps/portraits.json").read_text())
    data["output"] = evil
    (run / "steps/portraits.json").write_text(json.dumps(data))
    from dramaturg import load_run

    sp = assemble(load_run(run))
    assert [c.portrait for c in sp.characters] == [None, None, None]


def test_text_is_cleaned():
    assert clean("  a\tb\n\nc\x00\x07 ") == "a b c"
    sp = assemble(
        in_memory(
            dialogue=[
                [{"type": "action", "text": "One.\n\nTwo\nlines."}],
                [{"character": "mara:", "line": "(a (b) c"}],  # no type: dialogue
                [{"type": "dialogue", "character": "MARA^", "parenthetical": "softly", "line": ""}],
                [{"type": "transition", "text": "fade out <"}, "Plain text is action."],
            ]
        )
    )
    one, two, three, four = (s.elements for s in sp.scenes)
    assert [e.text for e in one if isinstance(e, Action) and e.role == "action"] == [
        "One.",
        "Two lines.",
    ]
    d = next(e for e in two if isinstance(e, Dialogue))
    assert d.cue == "MARA" and [b.text for b in d.blocks] == ["a (b) c"]
    d = next(e for e in three if isinstance(e, Dialogue))
    assert d.cue == "MARA" and [(b.parenthetical, b.text) for b in d.blocks] == [(True, "(softly)")]
    assert isinstance(four[0], Transition) and four[0].text == "FADE OUT"
    assert isinstance(four[1], Action) and four[1].text == "Plain text is action."


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"title": None}, "the run has no step 'title'"),
        ({"plot": None}, "the run has no step 'plot'"),
        ({"title": ["a"]}, "expected text, got list"),
        ({"title": "  "}, "the title is empty"),
        ({"plot": []}, "non-empty list of scenes"),
        ({"plot": [{"beat": "x"}]}, r"\[0\]: each scene needs a 'place'"),
        ({"dialogue": DIALOGUE[:3]}, r"3 scene\(s\) of dialogue for 4 scene\(s\)"),
        ({"dialogue": [[], [], [], [{"type": "song"}]]}, r"\[3\]\[0\]: unknown element type"),
        ({"dialogue": [[], [], [], [{"type": "dialogue", "line": "x"}]]}, "needs a 'character'"),
        ({"characters": [{"description": "nameless"}]}, "each character needs a 'name'"),
    ],
)
def test_clear_errors_for_missing_or_malformed_outputs(outputs, message):
    with pytest.raises(ExportError, match=message) as info:
        assemble(in_memory(**outputs))
    assert info.value.hint


def test_a_failed_required_step_is_named(tmp_path):
    with pytest.raises(ExportError, match="step 'plot' is failed: the model gave up"):
        assemble(loaded(tmp_path, status={"plot": "failed"}))


def test_step_ids_are_configurable():
    result = in_memory(title=None, my_title="Other Title")
    sp = assemble(result, parse_options({"steps": {"title": "my_title"}}))
    assert sp.title == "Other Title"
    assert assemble(in_memory(characters=None)).characters == []
