"""The Dramatron chain's parsers on realistic, messy model output (JSON and labelled text)."""

from __future__ import annotations

import json

import pytest

from dramaturg import ParseError
from dramaturg.chain.parsers import custom_parsers
from dramaturg.screenplay import loops
from dramaturg.screenplay.loops import cut_runaway, json_objects, json_value
from dramaturg.screenplay.parsers import (
    characters,
    dialogue,
    normalise_place,
    place,
    scenes,
    smart_title,
    title,
)


def test_the_parsers_are_registered_by_entry_point():
    for name, fn in (
        ("dramatron.characters", characters),
        ("dramatron.scenes", scenes),
        ("dramatron.dialogue", dialogue),
        ("dramatron.title", title),
        ("dramatron.place", place),
    ):
        assert name in custom_parsers()
        assert custom_parsers().get(name) is fn


# -- shared helpers ----------------------------------------------------------------------------
def test_cut_runaway_end_markers_and_examples():
    assert cut_runaway("Mara: hi\n**END**\nExample 3.\nIda: x") == "Mara: hi\n"
    assert cut_runaway("Mara: hi\n\nExample 2.\nIda: x").strip() == "Mara: hi"
    assert cut_runaway("Mara: hi\n**Example:**\nIda: x").strip() == "Mara: hi"
    assert cut_runaway("Mara: hi <end> more").strip() == "Mara: hi"
    # a heading before any content is not a runaway
    assert "Mara" in cut_runaway("Example\nMara: hi")
    # "example" inside a sentence is kept
    assert cut_runaway("Mara sets an example.") == "Mara sets an example."


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("INT. the old LIGHTHOUSE - NIGHT.", "The Old Lighthouse"),
        ("EXT. HARBOUR \u2014 DAWN", "Harbour"),
        ("INT./EXT. Ferry deck - continuous", "Ferry Deck"),
        ("I/E. CAR - DAY", "Car"),
        ("**Gull Rock**", "Gull Rock"),
        ('"The Lamp Room."', "The Lamp Room"),
        ("wren's cottage", "Wren's Cottage"),
        ("Harbour (Scene 3)", "Harbour"),
        ("Harbour at Night", "Harbour at Night"),
        ("Night Market", "Night Market"),
        ("house of the ROCK", "House of the Rock"),
        ("McAllister's Pub", "McAllister's Pub"),
        ("  ", ""),
    ],
)
def test_normalise_place(raw, want):
    assert normalise_place(raw) == want


def test_smart_title_keeps_small_words_and_hyphens():
    assert smart_title("the edge of the SEA-WALL") == "The Edge of the Sea-Wall"


# -- characters --------------------------------------------------------------------------------
def test_characters_json_constrained_answer():
    text = json.dumps(
        {
            "characters": [
                {"name": "Wren", "description": "Wren is the keeper of Gull Rock light."},
                {"name": "Orrin", "description": "Orrin is the harbour master."},
            ]
        }
    )
    assert characters(text) == [
        {"name": "Wren", "description": "Wren is the keeper of Gull Rock light."},
        {"name": "Orrin", "description": "Orrin is the harbour master."},
    ]


def test_characters_json_descriptions_are_made_to_start_with_the_name():
    text = json.dumps(
        [
            {"name": "Cassie", "description": "She's one of the last survivors."},
            {"name": "Alec", "description": "The lighthouse keeper is a quiet soul."},
            {"name": "Bea", "description": "a fisherwoman with a secret"},
            {"name": "Dov", "description": "Dov's boat is the fastest."},
        ]
    )
    assert [c["description"] for c in characters(text)] == [
        "Cassie's one of the last survivors.",
        "Alec: The lighthouse keeper is a quiet soul.",
        "Bea, a fisherwoman with a secret",
        "Dov's boat is the fastest.",
    ]


def test_characters_json_in_fences_with_prose_and_other_keys():
    text = (
        "Sure! Here are the characters:\n```json\n"
        '{"cast": [{"Name": "Mara", "Bio": "Mara is a pilot."}, {"character": "Ode", '
        '"desc": "Ode is a cat."}]}\n```\nEnjoy!'
    )
    assert [c["name"] for c in characters(text)] == ["Mara", "Ode"]


def test_characters_json_mapping_of_names():
    text = '{"Mara": "Mara is a pilot.", "Ode": "Ode is a cat."}'
    assert [c["name"] for c in characters(text)] == ["Mara", "Ode"]


def test_characters_truncated_json_keeps_the_complete_ones():
    text = (
        '{"characters": [{"name": "Wren", "description": "Wren is a keeper."}, '
        '{"name": "Orrin", "description": "Orrin is the har'
    )
    assert characters(text) == [{"name": "Wren", "description": "Wren is a keeper."}]


def test_characters_json_drops_incomplete_and_repeated_entries():
    text = json.dumps(
        [
            {"name": "Wren", "description": "Wren is a keeper."},
            {"name": "", "description": "Nobody."},
            {"name": "Orrin", "description": ""},
            {"name": "wren", "description": "Wren again."},
            {"name": "Squall", "description": "Squall is a storm."},
        ]
    )
    assert [c["name"] for c in characters(text)] == ["Wren", "Squall"]


def test_characters_dramatron_text_with_markdown_and_numbering():
    text = """Here are the characters:

1. **Mara Vell**: Mara is a retired ferry pilot who hates the sea.
2. **ORIN** - a young radio operator with a secret.
- Captain Hale: She runs the harbour.
Logline: a ferry that will not sink
**END**
Example 2.
Zed: Zed is from the next example."""
    assert characters(text) == [
        {"name": "Mara Vell", "description": "Mara is a retired ferry pilot who hates the sea."},
        {"name": "Orin", "description": "Orin, a young radio operator with a secret."},
        {"name": "Captain Hale", "description": "Captain Hale runs the harbour."},
    ]


def test_characters_labelled_records_and_tags():
    text = "Character: Wren\nDescription: Wren is the keeper.\n\nCharacter: Orrin\n"
    text += "Description: Orrin wants the light closed.\n  He is stubborn.\n"
    got = characters(text)
    assert got == [
        {"name": "Wren", "description": "Wren is the keeper."},
        {"name": "Orrin", "description": "Orrin wants the light closed. He is stubborn."},
    ]
    tagged = "<character>Ida<description>Ida is a clockmaker.</description>"
    tagged += "<character>Tomas<description>Tomas is her helper.<stop>"
    assert [c["name"] for c in characters(tagged)] == ["Ida", "Tomas"]


def test_characters_name_on_its_own_line_then_description():
    text = "Wren\nWren is the keeper of the light.\n\nOrrin\nThe harbour master.\n"
    assert characters(text) == [
        {"name": "Wren", "description": "Wren is the keeper of the light."},
        {"name": "Orrin", "description": "Orrin: The harbour master."},
    ]


def test_characters_unlabelled_sentences():
    text = "- Mara is a pilot.\n- Old Finn was a sailor once.\n"
    assert [c["name"] for c in characters(text)] == ["Mara", "Old Finn"]


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "I cannot think of any characters.", "[]", '{"characters": []}', "**END**"],
)
def test_characters_nothing_usable_is_a_parse_error(text):
    with pytest.raises(ParseError):
        characters(text)


# -- scenes ------------------------------------------------------------------------------------
PLOT_TEXT = """Scene 1
**Place:** INT. Lighthouse - NIGHT
**Plot element:** Exposition
**Beat:** Wren seals a storm in a jar.

Scene 2
Place:   the lighthouse.
Plot element: inciting incident
Beat: A jar knocks.
  Wren hears a voice.

3. Place: Harbour
Plot element: Conflict

Place: HARBOUR | Plot element: Climax | Beat: Orrin arrives with a hammer.
**END**
Example 4.
Place: Clock Tower
Plot element: Exposition
Beat: Ida winds the clock.
"""


def test_scenes_dramatron_text_complete_triples_and_normalised_places():
    assert scenes(PLOT_TEXT) == [
        {
            "place": "Lighthouse",
            "plot_element": "Exposition",
            "beat": "Wren seals a storm in a jar.",
        },
        {
            "place": "Lighthouse",
            "plot_element": "Inciting Incident",
            "beat": "A jar knocks. Wren hears a voice.",
        },
        {"place": "Harbour", "plot_element": "Climax", "beat": "Orrin arrives with a hammer."},
    ]


def test_scenes_scene_headings_count_as_places():
    text = "INT. KITCHEN - DAY\nPlot element: Beginning\nBeat: Hana burns the toast.\n"
    assert scenes(text) == [
        {"place": "Kitchen", "plot_element": "Beginning", "beat": "Hana burns the toast."}
    ]


def test_scenes_json_with_different_key_spellings_and_a_missing_field():
    text = json.dumps(
        {
            "scenes": [
                {"Place": "Gull Rock", "Plot Element": "Exposition", "Beat": "Wren works."},
                {"location": "Harbour", "plotElement": "Conflict"},  # no beat: dropped
                {"setting": "EXT. GULL ROCK - NIGHT", "element": "Climax", "beat": "Storm."},
            ]
        }
    )
    got = scenes(text)
    assert got == [
        {"place": "Gull Rock", "plot_element": "Exposition", "beat": "Wren works."},
        {"place": "Gull Rock", "plot_element": "Climax", "beat": "Storm."},
    ]


def test_scenes_one_spelling_per_place():
    text = json.dumps(
        [
            {"place": "The Lighthouse", "plot_element": "Beginning", "beat": "One."},
            {"place": "lighthouse", "plot_element": "Middle", "beat": "Two."},
            {"place": "LIGHTHOUSE!", "plot_element": "Conclusion", "beat": "Three."},
        ]
    )
    assert {s["place"] for s in scenes(text)} == {"The Lighthouse"}


def test_scenes_truncated_json_keeps_the_complete_scenes():
    text = (
        '{"scenes": [{"plot_element": "Exposition", "place": "Quay", "beat": "Boats come in."},'
        ' {"plot_element": "Conflict", "place": "Quay", "beat": "A fight\n breaks out."}, '
        '{"plot_element": "Climax", "place": "Lighthou'
    )
    got = scenes(text)
    assert [s["plot_element"] for s in got] == ["Exposition", "Conflict"]
    assert got[1]["beat"] == "A fight breaks out."  # a raw newline inside a JSON string


def test_scenes_nothing_complete_is_a_parse_error():
    with pytest.raises(ParseError, match="no complete scene"):
        scenes("Place: Harbour\nPlot element: Conflict\n")
    with pytest.raises(ParseError):
        scenes("The story is about a lighthouse.")


def test_scenes_loop_resamples_early_and_is_deduplicated_on_the_last_attempt():
    looping = [
        {"plot_element": "Climax", "place": "Rock", "beat": "The storm breaks free."},
        {"plot_element": "Resolution", "place": "Rock", "beat": "Wren sleeps."},
    ] * 4
    text = json.dumps({"scenes": looping})
    with pytest.raises(ParseError, match="loop"):
        scenes(text, {}, attempt=0, attempts=3)
    with pytest.raises(ParseError, match="loop"):
        scenes(text, {}, attempt=1, attempts=3)
    got = scenes(text, {}, attempt=2, attempts=3)
    assert [s["beat"] for s in got] == ["The storm breaks free.", "Wren sleeps."]
    # three repeats are not a loop, but a beat told again is still not a new scene
    got = scenes(json.dumps({"scenes": looping[:6]}), {}, attempt=0, attempts=3)
    assert [s["beat"] for s in got] == ["The storm breaks free.", "Wren sleeps."]
    # the threshold is an option
    with pytest.raises(ParseError):
        scenes(json.dumps({"scenes": looping[:6]}), {"max_repeats": 2}, attempt=0, attempts=3)


# -- dialogue ----------------------------------------------------------------------------------
SCREENPLAY = """INT. LIGHTHOUSE - NIGHT

Rain hammers the glass. Wren climbs
the stairs.

WREN
(whispering)
Who's there?

SQUALL (V.O.)
Let me out.
Please.

**WREN:** (to herself) I'm going mad.
Orrin: You are.
MARA (O.S.) (angrily)
Get down here!

CUT TO:

**END**
Example 3.
IDA
Copied."""


def test_dialogue_screenplay_text():
    assert dialogue(SCREENPLAY) == [
        {"type": "action", "text": "Rain hammers the glass. Wren climbs the stairs."},
        {
            "type": "dialogue",
            "character": "WREN",
            "parenthetical": "(whispering)",
            "line": "Who's there?",
        },
        {
            "type": "dialogue",
            "character": "SQUALL (V.O.)",
            "parenthetical": None,
            "line": "Let me out. Please.",
        },
        {
            "type": "dialogue",
            "character": "WREN",
            "parenthetical": "(to herself)",
            "line": "I'm going mad.",
        },
        {"type": "dialogue", "character": "ORRIN", "parenthetical": None, "line": "You are."},
        {
            "type": "dialogue",
            "character": "MARA (O.S.)",
            "parenthetical": "(angrily)",
            "line": "Get down here!",
        },
        {"type": "transition", "text": "CUT TO:"},
    ]


def test_dialogue_parenthetical_inside_a_speech_and_quoted_lines():
    text = 'WREN\n"I kept them all."\n(beat)\nEvery one.\n\nSQUALL (CONT\'D)\n"Not me."\n'
    got = dialogue(text)
    assert got == [
        {
            "type": "dialogue",
            "character": "WREN",
            "parenthetical": None,
            "line": "I kept them all.",
        },
        {"type": "dialogue", "character": "WREN", "parenthetical": "(beat)", "line": "Every one."},
        {
            "type": "dialogue",
            "character": "SQUALL (CONT'D)",
            "parenthetical": None,
            "line": "Not me.",
        },
    ]


def test_dialogue_labels_a_model_echoes_and_labelled_actions():
    text = (
        "Place: Lighthouse\nBeat: Wren hears a voice.\n\nAction: The jar rattles.\n"
        "Wren: Hello?\nTransition: FADE OUT.\n"
    )
    assert dialogue(text) == [
        {"type": "action", "text": "The jar rattles."},
        {"type": "dialogue", "character": "WREN", "parenthetical": None, "line": "Hello?"},
        {"type": "transition", "text": "FADE OUT."},
    ]


def test_dialogue_numbered_and_bulleted_lines():
    text = "1. WREN: Who is it?\n2. SQUALL: Me.\n- *The jar glows.*\n"
    got = dialogue(text)
    assert [e["type"] for e in got] == ["dialogue", "dialogue", "action"]
    assert got[2]["text"] == "The jar glows."


def test_dialogue_json_constrained_answer():
    text = json.dumps(
        {
            "scene": [
                {"action": "The jar rattles on the shelf."},
                {"character": "Wren", "line": "Who's there?"},
                {"character": "Squall (V.O.)", "line": "(softly) Let me out."},
                {"character": "Wren", "parenthetical": "backing away", "line": "No."},
                {"transition": "cut to:"},
            ]
        }
    )
    assert dialogue(text) == [
        {"type": "action", "text": "The jar rattles on the shelf."},
        {"type": "dialogue", "character": "WREN", "parenthetical": None, "line": "Who's there?"},
        {
            "type": "dialogue",
            "character": "SQUALL (V.O.)",
            "parenthetical": "(softly)",
            "line": "Let me out.",
        },
        {"type": "dialogue", "character": "WREN", "parenthetical": "(backing away)", "line": "No."},
        {"type": "transition", "text": "CUT TO:"},
    ]


def test_dialogue_json_typed_elements_and_strings():
    text = json.dumps(
        [
            {"type": "action", "text": "Night."},
            {"type": "dialogue", "speaker": "ORRIN", "dialogue": "Closing time."},
            "WREN: Not yet.",
            {"type": "transition", "text": "FADE OUT."},
        ]
    )
    assert [(e["type"], e.get("character")) for e in dialogue(text)] == [
        ("action", None),
        ("dialogue", "ORRIN"),
        ("dialogue", "WREN"),
        ("transition", None),
    ]


def test_dialogue_truncated_json_and_control_characters():
    text = (
        '{"scene": [{"character": "Wren", "line": "Hold\tstill."}, '
        '{"character": "Squall", "line": "I can\'t."}, {"character": "Wren", "line": "Ple'
    )
    got = dialogue(text)
    assert [e["line"] for e in got] == ["Hold still.", "I can't."]


def test_dialogue_drops_empty_lines_and_speakers():
    text = json.dumps(
        {
            "scene": [
                {"character": "", "line": "x"},
                {"character": "WREN", "line": ""},
                {"character": "WREN", "line": "Hi."},
            ]
        }
    )
    assert len(dialogue(text)) == 1


LOOP = "WREN\nThe sea is calling.\n\nSQUALL\nLet me out.\n\n" * 4


def test_dialogue_loop_is_a_parse_error_before_the_last_attempt():
    with pytest.raises(ParseError, match="loop") as err:
        dialogue(LOOP, {}, attempt=0, attempts=3)
    assert "the sea is calling" in str(err.value)
    with pytest.raises(ParseError, match="loop"):
        dialogue(LOOP, {}, attempt=1, attempts=3)


def test_dialogue_loop_is_deduplicated_on_the_last_attempt():
    got = dialogue(LOOP, {}, attempt=2, attempts=3)
    assert [e["line"] for e in got] == ["The sea is calling.", "Let me out."]
    # a single-attempt step is always on its last attempt
    assert len(dialogue(LOOP)) == 2


def test_dialogue_loop_counts_case_and_punctuation_insensitively():
    text = "WREN\nNo.\n\nWREN\nno\n\nWREN\nNO!\n\nWREN\n  No...\n"
    with pytest.raises(ParseError, match="loop"):
        dialogue(text, {}, attempt=0, attempts=3)
    assert len(dialogue(text, {"max_repeats": 4}, attempt=0, attempts=3)) == 4


def test_dialogue_cues_repeat_freely():
    text = "".join(f"WREN\nLine {i}.\n\n" for i in range(8))
    assert len(dialogue(text, {}, attempt=0, attempts=3)) == 8


def test_dialogue_without_any_speech():
    prose = "The storm rages over the rock.\nWren watches from the window."
    with pytest.raises(ParseError, match="no line of dialogue"):
        dialogue(prose, {}, attempt=0, attempts=3)
    # on the last attempt, action alone is better than a failed run
    assert dialogue(prose, {}, attempt=2, attempts=3) == [
        {"type": "action", "text": "The storm rages over the rock. Wren watches from the window."}
    ]
    with pytest.raises(ParseError):
        dialogue("", {}, attempt=2, attempts=3)
    with pytest.raises(ParseError):
        dialogue("**END**", {}, attempt=2, attempts=3)


# -- loops -------------------------------------------------------------------------------------
def test_json_value_and_salvage_of_a_truncated_answer():
    assert json_value('Sure: ```json\n{"a": [1]}\n``` done') == {"a": [1]}
    assert json_value("A {bracket} in prose, then [1, 2]") == [1, 2]
    assert json_value('{"scenes": [{"a": 1}, {"b": ') is None  # cut short
    assert json_objects('{"scenes": [{"a": 1}, {"b": {"c": 2}}, {"d": ') == [
        {"a": 1},
        {"b": {"c": 2}},
    ]
    assert json_value("no JSON here") is None


def test_loops_helpers():
    paras = ["A b.", "a B", "c", "A b!", "a b", "c"]
    assert loops.looping(paras) == ["a b"]
    assert loops.looping(paras, max_repeats=4) == []
    assert loops.drop_repeats(paras, str, ["a b"]) == ["A b.", "c", "c"]
    assert loops.describe(["x" * 100, "y"]).endswith("...' (and 1 more)")
    assert loops.describe([]) == ""


# -- title and place descriptions ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('  "The Storm Jar" \n', "The Storm Jar"),
        ("**Title:** The Salt Road.", "The Salt Road"),
        ('{"title": "Glass Weather"}', "Glass Weather"),
        ('```json\n{"Title": "Glass Weather"}\n```', "Glass Weather"),
        ('{"title": "The Salt', "The Salt"),  # cut short by max_tokens
        ("Title: Bottled Thunder **END**\nTitle: Another", "Bottled Thunder"),
        ("The Keeper: A Tale of Storms and Jars and the Sea Below Us", "The Keeper"),
    ],
)
def test_title_is_cleaned(text, expected):
    assert title(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "**END**",
        '{"title": ""}',
        "In a world where the sea is always changing and the only way to stay alive is a lantern",
    ],
)
def test_a_sentence_or_nothing_is_not_a_title(text):
    with pytest.raises(ParseError):
        title(text)


def test_place_description_is_cleaned_and_capped():
    text = (
        "**Description:** A white tower on a black rock.  A white tower on a black rock.\n"
        "Its lamp room hums with jars. Gulls wheel outside. The stairs are worn. **END**\n"
        "Place: Harbour"
    )
    assert place(text) == (
        "A white tower on a black rock. Its lamp room hums with jars. Gulls wheel outside."
    )
    assert place(text, {"max_sentences": 1}) == "A white tower on a black rock."
    assert place('{"description": "A busy quay in the rain."}') == "A busy quay in the rain."
    with pytest.raises(ParseError):
        place("Description: **END**")
