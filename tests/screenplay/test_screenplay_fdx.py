"""The Final Draft file is valid XML with the screenplay's paragraphs and a title page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from test_screenplay_assemble import in_memory

from dramaturg.screenplay.assemble import assemble
from dramaturg.screenplay.fdx import to_fdx
from dramaturg.screenplay.model import Action, Dialogue, Transition
from screenplay_fixtures import LOGLINE, SCRIPT, TITLE, loaded


def paragraphs(root: ET.Element) -> list[tuple[str | None, str]]:
    content = root.find("Content")
    assert content is not None
    return [
        (p.get("Type"), "".join(t.text or "" for t in p.findall("Text")))
        for p in content.findall("Paragraph")
    ]


def test_fdx_paragraphs_follow_the_model(tmp_path):
    sp = assemble(loaded(tmp_path))
    text = to_fdx(sp)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "FinalDraft" and root.get("DocumentType") == "Script"
    want: list[tuple[str | None, str]] = []
    for scene in sp.scenes:
        want.append(("Scene Heading", scene.heading))
        for e in scene.elements:
            if isinstance(e, Action):
                want.append(("Action", e.text))
            elif isinstance(e, Transition):
                want.append(("Transition", e.text))
            elif isinstance(e, Dialogue):
                want.append(("Character", e.cue))
                want += [
                    ("Parenthetical" if b.parenthetical else "Dialogue", b.text) for b in e.blocks
                ]
    assert paragraphs(root) == want
    kinds = {k for k, _ in want}
    assert kinds == {
        "Scene Heading",
        "Action",
        "Character",
        "Parenthetical",
        "Dialogue",
        "Transition",
    }
    headings = root.findall("./Content/Paragraph[@Type='Scene Heading']")
    assert [h.get("Number") for h in headings] == ["1", "2", "3", "4"]
    assert ("Dialogue", f"{SCRIPT} Is that all you came to say?") in want
    assert SCRIPT not in text  # escaped in the XML


def test_fdx_title_page(tmp_path):
    root = ET.fromstring(to_fdx(assemble(loaded(tmp_path))))
    page = root.find("TitlePage/Content")
    assert page is not None
    texts = [t.text for t in page.iter("Text") if t.text]
    assert texts[0] == TITLE.upper()
    assert texts[1:4] == ["Co-written by", "Dramaturg", LOGLINE]
    assert texts[-1].endswith(("2026", "2027")) or texts[-1][-4:].isdigit()
    title = next(t for t in page.iter("Text") if t.text == TITLE.upper())
    assert title.get("Style") == "Bold+Underline"


def test_fdx_without_scene_numbers_and_odd_text():
    odd = {"type": "action", "text": 'Ünïcode & <tags> "quotes"'}
    sp = assemble(in_memory(dialogue=[[odd], [], [], []]))
    root = ET.fromstring(to_fdx(sp, scene_numbers=False))
    assert all(p.get("Number") is None for p in root.iter("Paragraph"))
    assert ("Action", 'Ünïcode & <tags> "quotes"') in paragraphs(root)
