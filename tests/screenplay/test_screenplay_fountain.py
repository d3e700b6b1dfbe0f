"""The Fountain text reads back, through screenplain's independent parser, as the same script:
every element of the model with the same type and text, whatever the text (the same through
three more parsers in test_screenplay_hostile_text)."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from screenplain.parsers.fountain import parse
from screenplain.types import Action as SAction
from screenplain.types import Dialog, Slug
from screenplain.types import Transition as STransition
from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.fountain import GUARD, escape, to_fountain
from dramaturg.screenplay.model import Action, Dialogue, Screenplay, Transition
from screenplay_fixtures import LOGLINE, TITLE, loaded


def expected(sp: Screenplay, numbers: bool = True) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for scene in sp.scenes:
        out.append(("slug", scene.heading, str(scene.number) if numbers else None))
        for e in scene.elements:
            if isinstance(e, Action):
                out.append(("action", e.text))
            elif isinstance(e, Transition):
                out.append(("transition", e.text))
            elif isinstance(e, Dialogue):
                out.append(("dialog", e.cue, [(b.parenthetical, b.text) for b in e.blocks]))
    return out


def parsed(text: str) -> tuple[dict[str, list[str]], list[tuple[Any, ...]]]:
    """What screenplain reads, the writer's invisible guards taken out of the text."""
    script = parse(io.StringIO(text))
    out: list[tuple[Any, ...]] = []
    for p in script.paragraphs:
        if isinstance(p, Slug):
            out.append(("slug", str(p.line), p.scene_number and str(p.scene_number)))
        elif isinstance(p, SAction):
            out.append(("action", "\n".join(str(line) for line in p.lines)))
        elif isinstance(p, STransition):
            out.append(("transition", str(p.line)))
        elif isinstance(p, Dialog):
            out.append(("dialog", str(p.character), [(par, str(t)) for par, t in p.blocks]))
        else:
            out.append(("other", type(p).__name__))
    return script.title_page, [_unguard(x) for x in out]


def test_round_trip_through_screenplain(tmp_path):
    sp = assemble(loaded(tmp_path))
    text = to_fountain(sp)
    title_page, body = parsed(text)
    assert title_page["Title"] == [TITLE]
    assert title_page["Credit"] == ["Co-written by"]
    assert title_page["Author"] == ["Dramaturg"]
    assert title_page["Notes"] == [LOGLINE]
    assert title_page["Draft date"] == [sp.title_page.draft_date]
    assert body == expected(sp)
    kinds = {b[0] for b in body}
    assert kinds == {"slug", "action", "dialog", "transition"}
    slugs = parse(io.StringIO(text)).paragraphs
    synopsis = "Exposition: Mara counts her bottled storms; one of them is cracked."
    assert slugs[0].synopsis == synopsis


def test_forced_elements_where_the_text_would_read_otherwise(tmp_path):
    text = to_fountain(assemble(loaded(tmp_path)))
    assert "\n!INT. and EXT. blur together in the spray.\n" in text  # looks like a heading
    assert "\n!THE BELL RINGS.\n" in text  # all caps: could be a cue
    assert "\n>FADE TO BLACK.\n" in text and "\nCUT TO:\n" in text
    assert "\\*Listen\\* to it." in text
    assert "MARA (V.O.)\n(quietly)\nForty years" in text
    assert text.startswith("Title: The Salt Road\nCredit: Co-written by\n")


def test_escapes():
    assert escape("*bold* and **more**") == "\\*bold\\* and \\*\\*more\\*\\*"
    assert escape("a_b") == "a_b"  # one underscore cannot underline
    assert escape("_under_") == "\\_under\\_"
    assert escape("[[note]] /* bone */") == "[ [note] ] /\\* bone \\*/"
    assert escape("Title ]]>") == "Title ] ]>"
    assert escape("a\\*b") == f"a\\{GUARD}\\*b"  # no backslash before another mark
    assert escape("[[[x") == "[ [ [x"


def test_scene_numbers_are_optional(tmp_path):
    sp = assemble(loaded(tmp_path))
    text = to_fountain(sp, scene_numbers=False, synopses=False)
    assert "#1#" not in text and "\n= " not in text
    assert parsed(text)[1] == expected(sp, numbers=False)


def test_cues_without_capitals_are_forced():
    sp = assemble(
        in_memory(
            characters=[{"name": "李", "description": "李 is a sailor."}],
            dialogue=[[{"character": "李", "line": "Home."}], [], [], []],
        )
    )
    text = to_fountain(sp)
    assert "\n@李\nHome.\n" in text
    assert parsed(text)[1] == expected(sp)


# -- any text ---------------------------------------------------------------------------------

# Fountain's marks, words that start headings and transitions, parentheses, emphasis and notes.
# ("_" is left out: screenplain does not read the spec's "\_" escape.)
# fmt: off
PIECES = st.sampled_from(
    [
        "INT.", "EXT ", "int. ", "I/E ", "EST.", ".", "..", "!", "@", "#", "=", "===", ">", "<",
        "~", "^", "(", ")", "[[", "]]", "/*", "*/", "*", "**", "\\", ":", "TO:", "CUT TO:",
        "MARA", "Mara", "the", " ", "  ", "\t", "\n", "\n\n", "a", "Z", "1", "#1#", "é", "ß",
        "李", "<b>", "&amp;", '"', "'",
    ]
)
# fmt: on
TEXT = st.lists(PIECES, min_size=1, max_size=8).map("".join)
ELEMENT = st.one_of(
    st.builds(lambda t: {"type": "action", "text": t}, TEXT),
    st.builds(lambda t: {"type": "transition", "text": t}, TEXT),
    st.builds(
        lambda c, p, line: {"type": "dialogue", "character": c, "parenthetical": p, "line": line},
        TEXT,
        st.one_of(st.none(), TEXT),
        TEXT,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenes=st.lists(st.lists(ELEMENT, max_size=5), min_size=4, max_size=4),
    place=TEXT,
    title=TEXT,
)
def test_any_text_reads_back_as_written(scenes, place, title):
    plot = [{"place": place if place.strip() else "x", "plot_element": "", "beat": ""}] * 4
    try:
        sp = assemble(in_memory(dialogue=scenes, plot=plot, title=title))
    except Exception as exc:  # only an empty cue, title or place may be refused
        assert any(w in str(exc) for w in ("character", "title", "place")), exc
        return
    _, body = parsed(to_fountain(sp))
    want = expected(sp)
    # "[[" is written "[ [" so that it cannot open a note, "]]" "] ]"
    assert body == [_unnote(x) for x in want]


def _unguard(item: tuple[Any, ...]) -> tuple[Any, ...]:
    return _map(item, lambda v: v.replace(GUARD, ""))


def _unnote(item: tuple[Any, ...]) -> tuple[Any, ...]:
    def apart(v: str) -> str:
        for pair, spaced in (("[[", "[ ["), ("]]", "] ]")):
            while pair in v:
                v = v.replace(pair, spaced)
        return v.replace(GUARD, "")

    return _map(item, apart)


def _map(item: tuple[Any, ...], change: Any) -> tuple[Any, ...]:
    def fix(v: Any) -> Any:
        if isinstance(v, str):
            return change(v)
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        return v

    return fix(item)
