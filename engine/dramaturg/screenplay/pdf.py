"""``screenplay.pdf`` in the industry layout, drawn by screenplain's PDF export (reportlab).

US Letter, Courier Prime 12 pt (embedded), 6 lines an inch, 55 lines a page. Distances from the
page's left edge: action and headings 1.5", dialogue 2.5" (3.5" wide), parentheticals 3.1",
cues 3.7", transitions flush right; scene numbers in both margins; page numbers ``2.`` at the top
right from the second page of the script on (none on the title page or page 1). The title page
centres the title, the credit, the authors and the logline, with the draft date at the lower
left.

The pages are built from the screenplay model (paragraphs in screenplain's styles for headings,
action and transitions) rather than by reparsing the Fountain text, so that no model text can be
read as Fountain markup. A speech is drawn by :class:`.speech.SpeechFlowable`, which breaks it
across pages with ``(MORE)`` and ``(CONT'D)``. A scene heading is kept with what follows.

Text in any script prints (:mod:`.layout`, :mod:`.fonts`): what Courier Prime lacks comes from
the fallback fonts, right-to-left lines are laid out right to left, flush right.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from screenplain.export import pdf as sp
from screenplain.richstring import plain

from . import layout
from .model import Action, Element, Scene, Screenplay, Transition
from .speech import CUE, DIALOGUE, DIALOGUE_END, PAREN, PAREN_END, SpeechFlowable

# reportlab ships no type stubs: its modules are typed Any
platypus: Any = importlib.import_module("reportlab.platypus")
styles: Any = importlib.import_module("reportlab.lib.styles")

__all__ = ["SpeechFlowable", "render_pdf"]


def settings() -> Any:
    """screenplain's settings with the indents of the reference layout and bold headings."""

    s = sp.Settings()
    cw, width = s.character_width, s.frame_width
    s.character_style.leftIndent = CUE * cw
    s.dialog_style.leftIndent = DIALOGUE * cw
    s.dialog_style.rightIndent = width - DIALOGUE_END * cw
    s.parenthentical_style.leftIndent = PAREN * cw
    s.parenthentical_style.rightIndent = width - PAREN_END * cw
    family = s.font_settings.family_name
    s.slug_style.fontName = f"{family} Bold" if s.font_settings.file_bold else family
    s.title_style = styles.ParagraphStyle(
        "dramaturg-title", s.centered_style, fontName=s.slug_style.fontName
    )
    s.logline_style = styles.ParagraphStyle(
        "dramaturg-logline", s.centered_style, leftIndent=8 * cw, rightIndent=8 * cw
    )
    return s


def rich(text: str) -> Any:
    """Plain text as a screenplain rich string (no Fountain emphasis parsed)."""
    return plain(text)


def heading_flowables(scene: Scene, s: Any, scene_numbers: bool = True) -> list[Any]:
    """A scene heading (kept with what follows), its number in both margins."""

    slug = layout.paragraph(scene.heading, s.slug_style, s.frame_width)
    return [sp.SlugWithSceneNumbers(slug, rich(str(scene.number)), s)] if scene_numbers else [slug]


def element_flowables(element: Element, s: Any) -> list[Any]:
    """The flowables of one element."""

    if isinstance(element, Action):
        return [layout.paragraph(element.text, s.action_style, s.frame_width)]
    if isinstance(element, Transition):
        return [layout.paragraph(element.text, s.transition_style, s.frame_width)]
    blocks = [(b.parenthetical, b.text) for b in element.blocks]
    return [SpeechFlowable(element.cue, blocks, s)]


def title_page_flowables(sp_model: Screenplay, s: Any) -> list[Any]:
    """The title page: title, credit, authors and logline centred, draft date at the bottom."""

    page = sp_model.title_page
    lh = s.line_height

    def para(text: str, style: Any, markup: str = "{}") -> Any:
        return layout.paragraph(text, style, s.frame_width, markup)

    top = [
        para(page.title.upper(), s.title_style, "<u>{}</u>"),
        platypus.Spacer(1, lh * 2),
        para(page.credit, s.centered_style),
        platypus.Spacer(1, lh),
        para(" and ".join(page.authors), s.centered_style),
    ]
    if page.logline:
        top += [platypus.Spacer(1, lh * 4), para(page.logline, s.logline_style)]
    bottom = [para(page.draft_date, s.default_style)] if page.draft_date else []
    used = sum(
        f.wrap(s.frame_width, s.frame_height)[1] for f in top if isinstance(f, platypus.Paragraph)
    )
    used += sum(f.height for f in top if isinstance(f, platypus.Spacer))
    space_above = s.frame_height / 3
    space_below = max(lh, s.frame_height - space_above - used - lh * (len(bottom) + 1))
    return [platypus.Spacer(1, space_above), *top, platypus.Spacer(1, space_below), *bottom]


def render_pdf(sp_model: Screenplay, *, scene_numbers: bool = True) -> bytes:
    """The screenplay as PDF bytes."""

    s = settings()
    story = [
        *title_page_flowables(sp_model, s),
        platypus.NextPageTemplate("standard"),
        platypus.PageBreak(),
    ]
    for scene in sp_model.scenes:
        story += heading_flowables(scene, s, scene_numbers)
        for element in scene.elements:
            story += element_flowables(element, s)
    buf = io.BytesIO()
    doc = sp.DocTemplate(
        buf,
        pagesize=(s.page_width, s.page_height),
        settings=s,
        has_title_page=True,
        title=sp_model.title,
        author=", ".join(sp_model.title_page.authors),
        subject=sp_model.title_page.logline or None,
        creator="Dramaturg",
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()
