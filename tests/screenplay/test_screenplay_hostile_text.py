"""Fountain that every writers' tool reads, whatever the text: the export read back by four
independent parsers (``fountain_readers``) on ordinary, unusual and hostile text taken from JSON
answers (``screenplay_corpus``), and one example of each class of issue 13.

Each test asserts our behaviour: what element each line becomes and that its text is kept,
never a library's wording.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.fountain import to_fountain
from dramaturg.screenplay.model import Screenplay
from fountain_readers import READERS, Read
from screenplay_corpus import CASES, ELEMENT, TEXT, apart, do, expected, plot, say


def _allow(reader: str, elements: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a parser does by its own rules, applied to both sides: screenplay-tools drops
    ``(CONT'D)`` from cues (it adds it itself); screenplain does not read the spec's ``\\_``
    escape (it underlines, keeping the backslashes), so underscores and backslashes are left
    out of its comparison."""
    out = []
    for kind, text in elements:
        kept = text
        if reader == "screenplay-tools" and kind == "cue":
            kept = kept.replace(" (CONT'D)", "").replace(" (CONT\u2019D)", "")
        if reader == "screenplain":
            kept = kept.replace("_", "").replace("\\", "")
        out.append((kind, kept.strip()))
    return out


def _check(reader: str, sp: Screenplay, numbers: bool = True) -> Read:
    text = to_fountain(sp, scene_numbers=numbers)
    read = READERS[reader](text)
    assert _allow(reader, read.elements) == _allow(reader, expected(sp)), text
    want_numbers = [str(s.number) if numbers else None for s in sp.scenes]
    assert read.numbers == want_numbers
    page = sp.title_page
    assert read.title_page["title"] == apart(page.title)
    assert read.title_page["credit"] == page.credit
    assert read.title_page["draft date"] == page.draft_date
    return read


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("case", list(CASES))
def test_fountain_reads_back_in_every_parser(case, reader):
    sp = assemble(in_memory(**CASES[case]))
    _check(reader, sp)


@pytest.mark.parametrize("reader", list(READERS))
def test_fountain_without_scene_numbers(reader):
    sp = assemble(in_memory(**CASES["hash"]))
    _check(reader, sp, numbers=False)


@pytest.mark.parametrize("reader", list(READERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenes=st.lists(st.lists(ELEMENT, max_size=5), min_size=2, max_size=2),
    places=st.lists(TEXT, min_size=2, max_size=2),
    title=TEXT,
    name=TEXT,
)
def test_any_text_reads_back_in_every_parser(reader, scenes, places, title, name):
    beats = plot(*(p if p.strip() else "x" for p in places))
    characters = [{"name": name if name.strip() else "x", "description": f"{name} is here."}]
    try:
        sp = assemble(in_memory(dialogue=scenes, plot=beats, title=title, characters=characters))
    except Exception as exc:  # only an empty cue, title, name or place may be refused
        assert any(w in str(exc) for w in ("character", "title", "name", "place")), exc
        return
    _check(reader, sp)


# -- the classes of issue 13, one example each ------------------------------------------------


def test_cues_with_non_ascii_letters_or_heading_words_are_forced():
    sp = assemble(
        in_memory(
            characters=[{"name": "INT. Kitchen", "description": ""}],
            plot=plot("Cellar"),
            dialogue=[
                [
                    say("Zoë", "Hi."),
                    say("O\u2019Brien", "Hi."),
                    say("Guard 2", "Hi."),
                    say("INT. Kitchen", "Hi."),
                    say("MARA (V.O.)", "Hi."),
                ]
            ],
        )
    )
    assert sp.characters[0].name == "Kitchen"  # no name starts with a heading prefix
    text = to_fountain(sp)
    for cue in ("@ZO\u00cb", "@O\u2019BRIEN", "@GUARD 2", "KITCHEN", "MARA (V.O.)"):
        assert f"\n{cue}\nHi.\n" in text
    for reader in READERS.values():
        cues = [t for k, t in reader(text).elements if k == "cue"]
        assert cues == ["ZO\u00cb", "O\u2019BRIEN", "GUARD 2", "KITCHEN", "MARA (V.O.)"]


def test_speech_and_action_never_make_structure():
    lines = ["INT. THE VAULT - NIGHT", "===", "~ words", "> quote", "# one", "= two", "[[x]]"]
    sp = assemble(
        in_memory(
            characters=None,
            plot=plot("Vault"),
            dialogue=[[say("Mara", line) for line in lines] + [do(t) for t in lines]],
        )
    )
    text = to_fountain(sp)
    for name, reader in READERS.items():
        read = [e for e in reader(text).elements if e[0] not in ("cue", "synopsis")]
        assert read[0] == ("heading", "INT. VAULT"), name
        kinds = [k for k, _ in read[1:]]
        assert kinds == ["line"] * len(lines) + ["action"] * len(lines), name


def test_closing_note_marks_are_escaped():
    sp = assemble(in_memory(title="The Salt Road ]]>", plot=plot("Cellar"), dialogue=[[]]))
    text = to_fountain(sp)
    assert text.startswith("Title: The Salt Road ] ]>\n") and "]]" not in text


def test_a_hash_in_a_place_is_no_scene_number():
    sp = assemble(in_memory(plot=plot("INT. LAMP ROOM #2 #1#"), dialogue=[[]]))
    assert sp.scenes[0].heading == "INT. LAMP ROOM 2 1"
    assert "\nINT. LAMP ROOM 2 1 #1#\n" in to_fountain(sp)
    for reader in READERS.values():
        assert reader(to_fountain(sp)).numbers == ["1"]
