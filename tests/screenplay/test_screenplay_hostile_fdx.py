"""Final Draft and HTML that every reader takes, whatever the text: the FDX well-formed for the
stdlib XML parser, with the Final Draft structure and the model's text, and read the same by
screenplay-tools' FDX reader; no field (place names included) carries a character XML does not
allow into any export.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.fdx import to_fdx
from dramaturg.screenplay.fountain import to_fountain
from fountain_readers import fdx_screenplay_tools
from screenplay_corpus import CASES, ELEMENT, TEXT, XML_CHARS, model_elements, plot

_FDX_KINDS = {
    "Scene Heading": "heading",
    "Action": "action",
    "Character": "cue",
    "Parenthetical": "paren",
    "Dialogue": "line",
    "Transition": "transition",
}


@pytest.mark.parametrize("case", list(CASES))
def test_fdx_is_well_formed_final_draft_with_the_text_kept(case):
    sp = assemble(in_memory(**CASES[case]))
    text = to_fdx(sp)
    assert XML_CHARS.fullmatch(text), "a character XML does not allow"
    root = ET.fromstring(text.encode("utf-8"))  # well-formed, or this raises
    assert root.tag == "FinalDraft" and root.get("DocumentType") == "Script"
    content = root.find("Content")
    assert content is not None and root.find("TitlePage/Content") is not None
    paragraphs = content.findall("Paragraph")
    assert all(p.get("Type") in _FDX_KINDS for p in paragraphs)
    assert all(len(p.findall("Text")) == 1 for p in paragraphs)
    read = [(_FDX_KINDS[p.get("Type", "")], p.findtext("Text") or "") for p in paragraphs]
    want = model_elements(sp)
    assert read == want
    # and an outside reader of Final Draft files agrees
    assert fdx_screenplay_tools(text) == want
    page = [t.text for t in root.iterfind("TitlePage/Content/Paragraph/Text") if t.text]
    assert page[:3] == [sp.title_page.title.upper(), "Co-written by", "Dramaturg"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenes=st.lists(st.lists(ELEMENT, max_size=5), min_size=2, max_size=2),
    places=st.lists(TEXT, min_size=2, max_size=2),
    title=TEXT,
)
def test_any_text_makes_a_well_formed_fdx(scenes, places, title):
    beats = plot(*(p if p.strip() else "x" for p in places))
    try:
        sp = assemble(in_memory(dialogue=scenes, plot=beats, title=title))
    except Exception as exc:
        assert any(w in str(exc) for w in ("character", "title", "place")), exc
        return
    text = to_fdx(sp)
    assert XML_CHARS.fullmatch(text)
    ET.fromstring(text.encode("utf-8"))
    assert fdx_screenplay_tools(text) == model_elements(sp)


def test_every_field_is_cleaned_at_assembly():
    from dramaturg.screenplay.html import render_html
    from dramaturg.screenplay.options import Options

    sp = assemble(
        in_memory(**CASES["control"]), Options(author="Ada\x01 Lovelace", draft_date="May\ufffe")
    )
    assert [s.place for s in sp.scenes] == ["LAMP ROOM", "WALL", "Cove"]
    assert sp.title == "Salt Road" and sp.characters[0].name == "Mara"
    assert sp.title_page.authors == ["Dramaturg", "Ada Lovelace"]
    assert sp.title_page.draft_date == "May"
    for text in (to_fdx(sp), to_fountain(sp), render_html(sp)):
        assert XML_CHARS.fullmatch(text)
        assert "\u202e" not in text and "\ud83c" not in text
    assert "Bell \U0001f389" in to_fdx(sp)  # a surrogate pair is joined, a lone one dropped
