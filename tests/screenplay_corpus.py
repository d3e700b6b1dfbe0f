"""A corpus of text a model may give, for the export tests (test_screenplay_hostile_*): run
outputs whose JSON answers hold one class of text each (``CASES``), Hypothesis strategies for
any text made of the pieces that break writers' tools, and what the screenplay model says each
export should hold.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from dramaturg.screenplay.fountain import GUARD
from dramaturg.screenplay.model import Action, Dialogue, Screenplay, Transition

#: what XML 1.0 allows in a document
XML_CHARS = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def plot(*places: str) -> list[dict[str, str]]:
    return [{"place": p, "plot_element": "Beat", "beat": f"The beat at {p}."} for p in places]


def say(who: str, line: str, paren: str | None = None) -> dict[str, Any]:
    return {"type": "dialogue", "character": who, "parenthetical": paren, "line": line}


def do(text: str) -> dict[str, Any]:
    return {"type": "action", "text": text}


# Each case: the outputs of a run whose answers hold one class of text.
CASES: dict[str, dict[str, Any]] = {
    "ordinary": {
        "plot": plot("The lamp room of the lighthouse", "EXT. Harbour wall - night"),
        "dialogue": [
            [do("Mara climbs the stairs."), say("Mara", "Is anyone there?", "quietly")],
            [say("Tobias", "Only the sea."), {"type": "transition", "text": "CUT TO:"}],
        ],
    },
    "non-latin": {
        "title": "بيت الفانوس",
        "characters": [
            {"name": "Zoë", "description": "Zoë keeps the lamp."},
            {"name": "שלום", "description": "שלום, a sailor."},
            {"name": "Ольга", "description": "Ольга mends nets."},
            {"name": "李", "description": "李 rows the ferry."},
        ],
        "plot": plot("EXT. بيت الفانوس", "INT. חדר המנורה", "Δωμάτιο του φάρου"),
        "dialogue": [
            [say("Zoë", "Ça va, Ольга?"), say("Ольга", "Всё хорошо.")],
            [say("שלום", "שלום עליכם", "בשקט"), do("李 looks at the sea: 大海.")],
            [say("李", "你好。"), do("Ζωή και θάνατος.")],
        ],
    },
    "emoji": {
        "title": "Storms 🌩️ in bottles",
        "plot": plot("INT. The lamp room 🏠", "EXT. Pier 🌊"),
        "dialogue": [
            [say("Mara", "I love it 😍👍🏽"), do("A flag 🏳️‍🌈 flaps. 🎉🎉")],
            [say("Mara 🙂", "👨‍👩‍👧 family"), do("🔥")],
        ],
    },
    "apostrophes": {
        "characters": [
            {"name": "O\u2019Brien", "description": "O\u2019Brien, the harbour master."},
            {"name": "D'Arcy", "description": "D'Arcy is a smuggler."},
        ],
        "plot": plot("O\u2019Brien\u2019s kitchen", "The harbourmaster's office"),
        "dialogue": [
            [say("O\u2019Brien", "Don\u2019t go."), say("D'Arcy", "I'm goin' anyway.")],
            [say("D'ARCY (V.O.)", "It's 'quoted'."), do("Rock 'n' roll.")],
        ],
    },
    "hash": {
        "plot": plot("INT. LAMP ROOM #2 #1#", "Room #3 - #night#", "## Act two"),
        "dialogue": [
            [say("Mara", "#1 fan"), say("Mara", "# not a section"), do("# not a section")],
            [say("Guard #2", "Halt."), do("Room #4 is empty. #5#")],
            [do("#"), say("Mara", "##")],
        ],
    },
    "notes": {
        "title": "The Salt Road ]]>",
        "plot": plot("Cellar [[note]]", "EXT. ]] Roof"),
        "dialogue": [
            [do("]] the end [[ of it"), say("Mara", "[[not a note]]"), do("a]]b[[c")],
            [say("Mara", "]]"), do("[[[x]]]"), do("]]>")],
        ],
    },
    "markup": {
        "title": "*Bold* _title_",
        "plot": plot("INT. <b>Lab</b> & co", "EXT. **yard**"),
        "dialogue": [
            [do("*Listen* to **it** and _this_."), say("Mara", "<script>alert(1)</script>")],
            [do("/* boneyard */ stays"), say("Mara", "a */ b /* c"), do("back\\slash \\*")],
        ],
    },
    "structure": {
        "characters": [
            {"name": "INT. KITCHEN", "description": "A character named like a heading."},
            {"name": "Mara", "description": "Mara keeps the lamp."},
        ],
        "plot": plot("INT. THE VAULT - NIGHT", ".forced place", "!bang place"),
        "dialogue": [
            [
                say("Mara", "INT. THE VAULT - NIGHT"),
                say("Mara", "==="),
                say("Mara", "~ words of a song"),
                say("Mara", "> a quote"),
                say("Mara", ">centred<"),
                say("Mara", "= a synopsis"),
                say("INT. KITCHEN", "!bang"),
                say("Mara", "@twitter"),
                say("Mara", ".Forced heading"),
                say("Mara", "FADE IN:"),
                say("Mara", "CUT TO:"),
                say("Mara", "EXT. SEA", "INT. SHIP"),
                say("Mara", "MARA"),
            ],
            [
                do("INT. THE VAULT - NIGHT"),
                do("==="),
                do("~ lyric"),
                do("> transition"),
                do(">centred<"),
                do("= synopsis"),
                do("!!! three"),
                do("@mara"),
                do(".forced"),
                do("THE BELL RINGS."),
                do("SMASH CUT TO:"),
                do("Fade in: the sea."),
                do("(beat)"),
            ],
            [
                say("@Mara", "Hi."),
                say("!Mara", "Hi."),
                say(".MARA", "Hi."),
                say(">MARA", "Hi."),
                say("~MARA", "Hi."),
                say("MARA TO:", "Hi."),
                {"type": "transition", "text": "> FADE OUT <"},
                {"type": "transition", "text": "!!!"},
                {"type": "transition", "text": "smash-cut to:"},
            ],
        ],
    },
    "control": {
        "title": "Salt\x01 Road\ufffe",
        "characters": [{"name": "Ma\x00ra\ud83c", "description": "Mara\x1b[2J keeps the lamp."}],
        "plot": plot("INT. LAMP\x01 ROOM\ufffe", "EXT. \u202eWALL\u202c\x7f", "Cove\ud83c"),
        "dialogue": [
            [say("Mara\x07", "Bell\x07 \ud83c\udf89", "\x1b[31mred")],
            [do("Line\u2028two\u2029three\x0bfour")],
            [do("\ufeffbom \uffff end")],
        ],
    },
}


# Fountain's marks, words that start headings and transitions, parentheses, emphasis, notes,
# other scripts, emoji and characters no XML file may hold.
# fmt: off
PIECES = st.sampled_from(
    [
        "INT.", "EXT ", "int. ", "I/E ", "EST.", "INT. THE VAULT - NIGHT", ".", "..", "!", "@",
        "#", "#2", "#1#", "=", "===", ">", "<", "~", "~ ", "^", "(", ")", "[[", "]]", "]]>",
        "/*", "*/", "*", "**", "_", "\\", ":", "TO:", "CUT TO:", "FADE IN:", "MARA", "Mara",
        "the", " ", "\t", "\n", "\n\n", "a", "Z", "1", "é", "ß", "Ë", "\u2019", "'", '"', "李",
        "שלום", "بيت", "Ω", "🎉", "🏳️‍🌈", "<b>", "&amp;", "\x01", "\x1b", "\ufffe", "\ud83c",
        "\u202e", "\u2028",
    ]
)
# fmt: on
TEXT = st.lists(PIECES, min_size=1, max_size=8).map("".join)
ELEMENT = st.one_of(
    st.builds(do, TEXT),
    st.builds(lambda t: {"type": "transition", "text": t}, TEXT),
    st.builds(say, TEXT, TEXT, st.one_of(st.none(), TEXT)),
)


# -- what the model says each export should hold ----------------------------------------------


def model_elements(sp: Screenplay) -> list[tuple[str, str]]:
    """The model's elements as they are (what the FDX holds)."""
    out: list[tuple[str, str]] = []
    for scene in sp.scenes:
        out.append(("heading", scene.heading))
        for e in scene.elements:
            if isinstance(e, Action):
                out.append(("action", e.text))
            elif isinstance(e, Transition):
                out.append(("transition", e.text))
            elif isinstance(e, Dialogue):
                out.append(("cue", e.cue))
                out += [("paren" if b.parenthetical else "line", b.text) for b in e.blocks]
    return out


def apart(text: str) -> str:
    """``[[`` and ``]]`` as the Fountain writes them (``[ [``, ``] ]``)."""
    for pair, spaced in (("[[", "[ ["), ("]]", "] ]")):
        while pair in text:
            text = text.replace(pair, spaced)
    return text


def expected(sp: Screenplay) -> list[tuple[str, str]]:
    """What a Fountain parser should read: the model's elements, each heading followed by its
    scene's synopsis, with ``[[`` and ``]]`` written apart (and no guard: readers take it out,
    so the model's own zero-width spaces go too)."""
    synopses = iter(f"{s.plot_element}: {s.beat}" for s in sp.scenes)
    out: list[tuple[str, str]] = []
    for kind, text in model_elements(sp):
        out.append((kind, text))
        if kind == "heading":
            out.append(("synopsis", next(synopses)))
    return [(kind, apart(text).replace(GUARD, "")) for kind, text in out]
