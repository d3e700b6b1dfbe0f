"""``screenplay-illustrated.pdf``: the screenplay with its pictures (reportlab platypus).

A cover page (the first illustration, the title, the credit and the logline), a cast page with
the portraits and descriptions, then the script in the screenplay layout of :mod:`.pdf` with
each scene's illustration under its heading. Page numbers at the top right, the title in the
footer of script pages. Text in any script prints, as in :mod:`.pdf` (:mod:`.layout`).
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from . import layout
from .model import Character, Image, Scene, Screenplay
from .pdf import element_flowables, heading_flowables, platypus, settings, styles

utils: Any = importlib.import_module("reportlab.lib.utils")
TA_CENTER = 1  # reportlab.lib.enums.TA_CENTER

INCH = 72.0
MAX_IMAGE_W, MAX_IMAGE_H = 5.0 * INCH, 3.4 * INCH
PORTRAIT = 1.35 * INCH
_NO_PADDING = [
    (f"{side}PADDING", (0, 0), (-1, -1), 0) for side in ("LEFT", "RIGHT", "TOP", "BOTTOM")
]


def _styles(s: Any) -> dict[str, Any]:
    family = s.font_settings.family_name
    bold = f"{family} Bold" if s.font_settings.file_bold else family
    italic = f"{family} Italic" if s.font_settings.file_italic else family
    return {
        "title": styles.ParagraphStyle(
            "ill-title",
            s.default_style,
            fontName=bold,
            fontSize=26,
            leading=32,
            alignment=TA_CENTER,
        ),
        "centre": styles.ParagraphStyle("ill-centre", s.default_style, alignment=TA_CENTER),
        "logline": styles.ParagraphStyle(
            "ill-logline",
            s.default_style,
            fontName=italic,
            alignment=TA_CENTER,
            leading=16,
            leftIndent=0.6 * INCH,
            rightIndent=0.6 * INCH,
        ),
        "section": styles.ParagraphStyle(
            "ill-section",
            s.default_style,
            fontName=bold,
            fontSize=14,
            leading=18,
            spaceAfter=14,
        ),
        "name": styles.ParagraphStyle("ill-name", s.default_style, fontName=bold, spaceAfter=4),
        "desc": styles.ParagraphStyle("ill-desc", s.default_style, fontSize=10.5, leading=14),
        "caption": styles.ParagraphStyle(
            "ill-caption",
            s.default_style,
            fontName=italic,
            fontSize=9.5,
            leading=12,
            alignment=TA_CENTER,
            textColor="#555555",
            spaceBefore=4,
            spaceAfter=6,
        ),
        "beat": styles.ParagraphStyle(
            "ill-beat", s.default_style, fontSize=10.5, leading=14, textColor="#666666"
        ),
    }


def _picture(image: Image | None, max_w: float, max_h: float) -> Any:
    """A reportlab image fitted in ``max_w`` x ``max_h``, or ``None`` if it cannot be read."""
    if image is None:
        return None

    try:
        w, h = utils.ImageReader(str(image.path)).getSize()
    except Exception:  # an unreadable or truncated file: export without it
        return None
    scale = min(max_w / w, max_h / h)
    return platypus.Image(str(image.path), width=w * scale, height=h * scale)


def _para(text: str, style: Any, width: float) -> Any:
    """A paragraph of any script, ``width`` points wide."""
    return layout.paragraph(text, style, width)


def _cover(sp: Screenplay, st: dict[str, Any], width: float) -> list[Any]:

    page = sp.title_page
    cover = next((s.image for s in sp.scenes if s.image is not None), None)
    art = _picture(cover, width, 4.2 * INCH)
    story: list[Any] = [platypus.Spacer(1, 0.4 * INCH)]
    if art is not None:
        story += [art, platypus.Spacer(1, 0.5 * INCH)]
    else:
        story.append(platypus.Spacer(1, 2.2 * INCH))
    story += [
        _para(page.title.upper(), st["title"], width),
        platypus.Spacer(1, 22),
        _para(page.credit, st["centre"], width),
        platypus.Spacer(1, 8),
        _para(" and ".join(page.authors), st["centre"], width),
    ]
    if page.logline:
        story += [platypus.Spacer(1, 28), _para(page.logline, st["logline"], width)]
    if page.draft_date:
        story += [platypus.Spacer(1, 36), _para(page.draft_date, st["centre"], width)]
    return story


def _cast_row(c: Character, st: dict[str, Any], width: float) -> Any:

    text_w = width - PORTRAIT - 0.25 * INCH
    text = [_para(c.name.upper(), st["name"], text_w), _para(c.description, st["desc"], text_w)]
    art = _picture(c.portrait, PORTRAIT, PORTRAIT)
    row = [[art or platypus.Spacer(PORTRAIT, 1), text]]
    table = platypus.Table(row, colWidths=[PORTRAIT + 0.25 * INCH, text_w])
    table.setStyle(
        platypus.TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *_NO_PADDING,
                ("BOTTOMPADDING", (0, 0), (-1, -1), 16),
            ]
        )
    )
    return table


def _cast(sp: Screenplay, st: dict[str, Any], width: float) -> list[Any]:
    story: list[Any] = [platypus.Spacer(1, 0.2 * INCH)]
    if sp.characters:
        story.append(_para("CAST", st["section"], width))
        story += [_cast_row(c, st, width) for c in sp.characters]
        story.append(platypus.Spacer(1, 0.2 * INCH))
    story.append(_para("SCENES", st["section"], width))
    widths = [0.4 * INCH, width - 2.4 * INCH, 2.0 * INCH]
    rows = [
        [
            _para(str(s.number), st["desc"], widths[0]),
            _para(s.heading, st["desc"], widths[1]),
            _para(s.plot_element, st["beat"], widths[2]),
        ]
        for s in sp.scenes
    ]
    table = platypus.Table(rows, colWidths=widths)
    table.setStyle(platypus.TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *_NO_PADDING]))
    return [*story, table]


def _scene(scene: Scene, s: Any, st: dict[str, Any], scene_numbers: bool) -> list[Any]:

    story = heading_flowables(scene, s, scene_numbers)
    art = _picture(scene.image, MAX_IMAGE_W, MAX_IMAGE_H)
    if art is not None:
        caption = f"Scene {scene.number}"
        if scene.plot_element:
            caption += f" \u00b7 {scene.plot_element}"
        story = [platypus.KeepTogether([*story, art, _para(caption, st["caption"], s.frame_width)])]
    for element in scene.elements:
        story += element_flowables(element, s)
    return story


def render_illustrated_pdf(sp: Screenplay, *, scene_numbers: bool = True) -> bytes:
    """The illustrated screenplay as PDF bytes."""

    s = settings()
    st = _styles(s)
    wide_w = s.page_width - 2 * INCH
    no_padding = {f"{side}Padding": 0 for side in ("left", "right", "top", "bottom")}
    wide = platypus.Frame(INCH, INCH, wide_w, s.page_height - 2 * INCH, id="wide", **no_padding)
    script = platypus.Frame(
        s.left_margin, s.bottom_margin, s.frame_width, s.frame_height, id="script", **no_padding
    )
    family = s.font_settings.family_name

    def numbered(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(family, 12)
        n = doc.page - first_script_page[0] + 1
        if n >= 2:
            canvas.drawRightString(s.left_margin + s.frame_width, s.page_height - 42, f"{n}.")
        canvas.setFillColor("#777777")
        footer = sp.title.upper()
        x = (s.page_width - layout.width(footer, family, 8)) / 2
        layout.draw(canvas, x, 0.5 * INCH, footer, family, 8)
        canvas.restoreState()

    def start_script(canvas: Any, doc: Any) -> None:
        if first_script_page[0] == 0:
            first_script_page[0] = doc.page
        numbered(canvas, doc)

    first_script_page = [0]
    templates = [
        platypus.PageTemplate(id="cover", frames=[wide]),
        platypus.PageTemplate(id="cast", frames=[wide]),
        platypus.PageTemplate(id="script", frames=[script], onPage=start_script),
    ]
    story: list[Any] = [*_cover(sp, st, wide_w)]
    story += [platypus.NextPageTemplate("cast"), platypus.PageBreak(), *_cast(sp, st, wide_w)]
    story += [platypus.NextPageTemplate("script"), platypus.PageBreak()]
    for scene in sp.scenes:
        story += _scene(scene, s, st, scene_numbers)
    buf = io.BytesIO()
    doc = platypus.BaseDocTemplate(
        buf,
        pagesize=(s.page_width, s.page_height),
        pageTemplates=templates,
        title=sp.title,
        author=", ".join(sp.title_page.authors),
        subject=sp.title_page.logline or None,
        creator="Dramaturg",
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()
