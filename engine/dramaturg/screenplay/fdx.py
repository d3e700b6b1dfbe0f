"""Final Draft XML (``.fdx``) with a title page, written with ``xml.etree.ElementTree``.

Paragraph types: ``Scene Heading`` (with ``Number`` when scene numbers are on), ``Action``,
``Character``, ``Parenthetical``, ``Dialogue``, ``Transition``. The title page holds the title,
the credit, the authors and the logline centred, and the draft date at the lower left. Final
Draft fills in the page layout and element settings it does not find.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .model import Action, Dialogue, Screenplay, Transition

VERSION = "5"
#: blank lines above the title, and between the logline and the draft date
_TOP_SPACE, _BOTTOM_SPACE = 18, 14


def _paragraph(parent: ET.Element, text: str, kind: str | None = None, **attrs: str) -> None:
    p = ET.SubElement(parent, "Paragraph", attrs)
    if kind:
        p.set("Type", kind)
    run = ET.SubElement(p, "Text")
    run.text = text


def _title_page(root: ET.Element, sp: Screenplay) -> None:
    page = sp.title_page
    content = ET.SubElement(ET.SubElement(root, "TitlePage"), "Content")
    centre = {"Alignment": "Center"}
    for _ in range(_TOP_SPACE):
        _paragraph(content, "", **centre)
    title = ET.SubElement(content, "Paragraph", centre)
    run = ET.SubElement(title, "Text", {"Style": "Bold+Underline"})
    run.text = page.title.upper()
    _paragraph(content, "", **centre)
    _paragraph(content, page.credit, **centre)
    _paragraph(content, " and ".join(page.authors), **centre)
    if page.logline:
        _paragraph(content, "", **centre)
        _paragraph(content, "", **centre)
        _paragraph(content, page.logline, **centre)
    for _ in range(_BOTTOM_SPACE):
        _paragraph(content, "", Alignment="Left")
    if page.draft_date:
        _paragraph(content, page.draft_date, Alignment="Left")


def to_fdx(sp: Screenplay, *, scene_numbers: bool = True) -> str:
    """The screenplay as a Final Draft document (UTF-8 XML text)."""
    root = ET.Element(
        "FinalDraft", {"DocumentType": "Script", "Template": "No", "Version": VERSION}
    )
    content = ET.SubElement(root, "Content")
    for scene in sp.scenes:
        attrs = {"Number": str(scene.number)} if scene_numbers else {}
        _paragraph(content, scene.heading, "Scene Heading", **attrs)
        for element in scene.elements:
            if isinstance(element, Action):
                _paragraph(content, element.text, "Action")
            elif isinstance(element, Transition):
                _paragraph(content, element.text, "Transition")
            elif isinstance(element, Dialogue):
                _paragraph(content, element.cue, "Character")
                for block in element.blocks:
                    kind = "Parenthetical" if block.parenthetical else "Dialogue"
                    _paragraph(content, block.text, kind)
    _title_page(root, sp)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n{body}\n'
