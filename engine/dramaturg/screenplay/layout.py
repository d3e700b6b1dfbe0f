"""Lines of any script for the PDFs: wrapped to a width in points, put in visual order, drawn
run by run in the fonts of :mod:`.fonts`.

A text is wrapped in its logical order (at spaces; a word wider than the line, and Chinese,
Japanese or Korean text, between any two characters), measured glyph by glyph. Each line is
then laid out for printing:

- Arabic letters take their joining forms (``arabic_reshaper``: reportlab draws glyphs one by
  one and does not shape; vowel marks are left out, as it cannot place them);
- a line holding right-to-left text is reordered by the Unicode bidirectional algorithm
  (``python-bidi``'s ``bidi.algorithm``, which also mirrors brackets: its faster Rust
  ``get_display`` does not), so Hebrew and Arabic read right to left, the Latin words and
  numbers in them left to right, and ``(`` opens on the right side;
- a paragraph whose first strong character is right-to-left is set flush right in its column.

Text that Courier Prime prints alone, left to right, takes none of this: its paragraphs are
built exactly as before.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from typing import Any
from xml.sax.saxutils import escape

from . import fonts

# neither library ships type hints
_bidi: Any = importlib.import_module("bidi")
_algorithm: Any = importlib.import_module("bidi.algorithm")
_reshaper: Any = importlib.import_module("arabic_reshaper")
platypus: Any = importlib.import_module("reportlab.platypus")
styles: Any = importlib.import_module("reportlab.lib.styles")
TA_LEFT, TA_RIGHT = 0, 2  # reportlab.lib.enums

#: Hebrew, Arabic, Syriac, Thaana, N'Ko...; their presentation forms; the RTL blocks of the
#: supplementary planes
_RTL = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")


def _wide(ch: str) -> bool:
    """A character of a script written without spaces (CJK): a line may break beside it."""
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch)[0] == "L"


def rtl(text: str) -> bool:
    """Whether the text's first strong character is right-to-left."""
    return bool(_RTL.search(text)) and _bidi.get_base_level(text) == 1


@functools.lru_cache(maxsize=4096)
def shaped(text: str) -> str:
    """Arabic letters in their joining forms (other text as it is)."""
    return str(_reshaper.reshape(text)) if _ARABIC.search(text) else text


def visual(line: str) -> str:
    """One line in the order its glyphs are drawn, left to right."""
    line = unicodedata.normalize("NFC", line)
    if not _RTL.search(line):
        return line
    return str(_algorithm.get_display(shaped(line)))


def plain(text: str, font_name: str) -> bool:
    """Text ``font_name`` prints alone, left to right (no layout needed)."""
    return fonts.covered(text, font_name) and not _RTL.search(text)


def _tokens(text: str, cjk: bool) -> list[tuple[str, bool]]:
    """Pieces a line may break between, each with whether a space stands before it (``cjk``:
    the text may hold CJK letters, which a line may break before)."""
    out: list[tuple[str, bool]] = []
    for word in text.split(" "):
        if not word:
            continue
        if not cjk:
            out.append((word, True))
            continue
        first, piece = True, ""
        for ch in word:  # a break before each CJK letter (punctuation stays with the one before)
            if _wide(ch) and piece:
                out.append((piece, first))
                first, piece = False, ""
            piece += ch
        out.append((piece, first))
    return out


@functools.lru_cache(maxsize=4096)
def wrap(text: str, width: float, font_name: str, size: float) -> tuple[str, ...]:
    """``text`` (logical order) in lines no wider than ``width`` points; one empty line if the
    text is empty."""

    def measure(s: str) -> float:
        return fonts.width(shaped(s), font_name, size)

    room = width + 1e-6
    space = measure(" ")
    lines: list[str] = []
    line, used = "", 0.0
    text = unicodedata.normalize("NFC", text)
    for piece, spaced in _tokens(text, cjk=not fonts.covered(text, font_name)):
        gap = space if spaced and line else 0.0
        w = measure(piece)
        if used + gap + w <= room:
            line, used = line + (" " if gap else "") + piece, used + gap + w
            continue
        if w > room:  # wider than a line: break it between characters, filling this one
            for i, ch in enumerate(piece):
                cw = measure(ch)
                gap = space if i == 0 and spaced and line else 0.0
                if line and used + gap + cw > room:
                    lines.append(line)
                    line, used, gap = "", 0.0, 0.0
                line, used = line + (" " if gap else "") + ch, used + gap + cw
            continue
        if line:
            lines.append(line)
        line, used = piece, w
    return (*lines, line) if line or not lines else tuple(lines)


def markup(line: str, font_name: str) -> str:
    """A visual line as reportlab paragraph markup: escaped, fallback runs in their fonts."""
    parts = []
    for name, part in fonts.runs(line, font_name):
        text = escape(part)
        parts.append(text if name == font_name else f'<font name="{name}">{text}</font>')
    return "".join(parts)


def draw(canvas: Any, x: float, y: float, line: str, font_name: str, size: float) -> None:
    """Draw a logical line at ``x`` (its left edge), run by run."""
    if plain(line, font_name):
        canvas.setFont(font_name, size)
        canvas.drawString(x, y, line)
        return
    for name, part in fonts.runs(visual(line), font_name):
        canvas.setFont(name, size)
        canvas.drawString(x, y, part)
        x += pdfmetrics_width(part, name, size)


def width(line: str, font_name: str, size: float) -> float:
    """The printed width of a logical line."""
    return fonts.width(visual(line), font_name, size)


def pdfmetrics_width(part: str, name: str, size: float) -> float:
    return float(fonts.pdfmetrics.stringWidth(part, name, size))


def paragraph(text: str, style: Any, width: float, template: str = "{}") -> Any:
    """A reportlab paragraph of ``text`` (any script) in ``style``, ``width`` points wide
    (indents included); ``template`` wraps the markup (``<u>{}</u>``)."""
    font = style.fontName
    if plain(text, font):
        return platypus.Paragraph(template.format(escape(text)), style)
    room = width - style.leftIndent - style.rightIndent
    lines = wrap(text, room, font, style.fontSize)
    if rtl(text) and style.alignment == TA_LEFT:
        style = styles.ParagraphStyle(f"{style.name}-rtl", style, alignment=TA_RIGHT)
    html = "<br/>".join(markup(visual(line), font) for line in lines)
    return platypus.Paragraph(template.format(html), style)
