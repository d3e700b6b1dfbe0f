"""Scripted model answers for the Dramatron chain: realistic, and messy where models are
(test_dramatron_chain.py, test_hostile_answers.py)."""

from __future__ import annotations

from dramaturg import FakeChatModel

# -- scripted model answers: realistic, and messy where models are -----------------------------
CHARACTERS = """Here are the characters:

1. **Wren**: Wren is the keeper of the Gull Rock lighthouse, a widow who talks to the sea.
2. **ORRIN** - the harbour master, who wants the lighthouse closed.
3. Squall:   Squall is the living storm in the jar, young and lonely.
**END**
Example 2.
Ida: Ida is a clockmaker from the example."""

#: one answer per scene (the plot is written one scene per call); scene 3's first answer has
#: no beat, so it is asked again
PLOT = [
    """**Place:** INT. LIGHTHOUSE - NIGHT
**Plot element:** Exposition
**Beat:** Wren seals a new storm in a jar and shelves it with the others.""",
    """Place: harbour.
Plot element: Inciting Incident
Beat: Orrin tells Wren that the lighthouse will close, and Wren refuses to leave.""",
    "unused: scene 3 is scripted per attempt below",
    """Place: EXT. CLIFF PATH - DAWN
Plot element: Resolution
Beat: Wren lets Squall go over the sea.
**END**""",
]
PLOT_3 = [
    "Place: Cliff Path\nPlot element: Conflict\n",
    "Place: lighthouse\nPlot element:   Climax\nBeat:    At night Squall breaks its jar and Wren"
    " must calm the storm.",
]

PLACES = [
    "A white tower on a black rock, its lamp room lined with humming jars.",
    "A busy stone quay where fishing boats unload in the rain.",
    "A narrow path along the cliff, thick with gorse and wind.",
]

GOOD_SCENE = """Wren climbs the stairs.

WREN
(quietly)
Another one for the shelf.

SQUALL (V.O.)
Let me out."""

LOOPING_SCENE = "WREN\nThe sea is calling.\n\nSQUALL\nLet me out.\n\n" * 5

DIALOGUE = [
    GOOD_SCENE,
    '{"scene": [{"character": "Orrin", "line": "The light closes on Friday."}, '
    '{"action": "Wren folds her arms."}, {"character": "Wren", "line": "Then I close with it."}]}',
    "unused: scene 3 is scripted per attempt below",
    "ORRIN: Let it go, Wren.\nWREN: I will.\n\nCUT TO:",
]


def scripted() -> FakeChatModel:
    return FakeChatModel(
        responses={
            "title": "  The Storm Jar \n",
            "characters": CHARACTERS,
            "plot": PLOT,
            "plot/2": PLOT_3,
            "places": PLACES,
            "dialogue": DIALOGUE,
            # scene 3 loops on its first attempt: the loop check makes the engine resample
            "dialogue/2": [LOOPING_SCENE, "WREN\nHush now.\n\nSQUALL\n(small)\nI am afraid."],
        }
    )
