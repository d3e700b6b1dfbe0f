"""The fonts the screenplay PDFs print in: each text in its style's font (Courier Prime), and
every character that font has no glyph for in the first font of a fallback chain that has one.

The chain (files, sources and licences in ``assets/fonts/README.md``): Noto Sans Mono (Latin
beyond Courier Prime, Greek, Cyrillic; monospaced, so these keep the 10-a-inch grid), Noto Sans
Hebrew, Arabic, Armenian, Georgian, Ethiopic and Thai, Noto Emoji (black and white), Noto Sans
Symbols and Symbols 2, and Droid Sans Fallback (Chinese, Japanese, Korean). Bold text takes a
font's bold face where it has one. A character no font has prints as a box (``MISSING``,
U+25A1), so that missing text shows; an invisible format character (a joiner, a variation
selector) that its run's font lacks is left out.

The fonts are registered with reportlab once, on first use, as ``dramaturg-<file name>``.
reportlab writes a code point past U+FFFF into a font's ToUnicode map as five hex digits, which
no PDF reader takes (an emoji copied out of the PDF came out empty): :func:`_to_unicode_cmap`
writes it as UTF-16, as the PDF reference asks.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

# reportlab ships no type stubs: its modules are typed Any
pdfmetrics: Any = importlib.import_module("reportlab.pdfbase.pdfmetrics")
ttfonts: Any = importlib.import_module("reportlab.pdfbase.ttfonts")

#: the fallback chain, in order: (regular, bold) file names without ``.ttf``; a font without a
#: bold face prints bold text in its regular one
FALLBACKS: tuple[tuple[str, str | None], ...] = (
    ("NotoSansMono-Regular", "NotoSansMono-Bold"),
    ("NotoSansHebrew-Regular", "NotoSansHebrew-Bold"),
    ("NotoSansArabic-Regular", "NotoSansArabic-Bold"),
    ("NotoSansArmenian-Regular", "NotoSansArmenian-Bold"),
    ("NotoSansGeorgian-Regular", "NotoSansGeorgian-Bold"),
    ("NotoSansEthiopic-Regular", "NotoSansEthiopic-Bold"),
    ("NotoSansThai-Regular", "NotoSansThai-Bold"),
    ("NotoEmoji-Regular", None),
    ("NotoSansSymbols-Regular", None),
    ("NotoSansSymbols2-Regular", None),
    ("DroidSansFallback", None),
)
#: a run of text and the font it prints in
Run = tuple[str, str]
#: printed for a character no font has (Noto Sans Mono has it)
MISSING = "\u25a1"
_ASTRAL_ENTRY = re.compile(r"<([0-9A-F]{2})> <([0-9A-F]{5,6})>")
_reportlab_cmap = ttfonts.makeToUnicodeCMap


def _to_unicode_cmap(fontname: str, subset: Any) -> str:
    """reportlab's ToUnicode CMap, with code points past U+FFFF as UTF-16 surrogate pairs."""

    def utf16(m: re.Match[str]) -> str:
        pair = chr(int(m.group(2), 16)).encode("utf-16-be").hex().upper()
        return f"<{m.group(1)}> <{pair}>"

    return _ASTRAL_ENTRY.sub(utf16, str(_reportlab_cmap(fontname, subset)))


ttfonts.makeToUnicodeCMap = _to_unicode_cmap


@dataclass(frozen=True)
class Face:
    """A font registered with reportlab: its name and the characters it has glyphs for."""

    name: str
    glyphs: frozenset[int]

    def has(self, ch: str) -> bool:
        return ord(ch) in self.glyphs


@functools.cache
def _bundled(stem: str) -> Face:
    name = f"dramaturg-{stem}"
    path = resources.files("dramaturg.screenplay") / "assets" / "fonts" / f"{stem}.ttf"
    with resources.as_file(path) as file:
        font = ttfonts.TTFont(name, str(file))
    pdfmetrics.registerFont(font)
    return Face(name, frozenset(font.face.charToGlyph))


@functools.cache
def chain(bold: bool = False) -> tuple[Face, ...]:
    """The fallback fonts, in order (registered on first use)."""
    return tuple(_bundled((b or r) if bold else r) for r, b in FALLBACKS)


@functools.cache
def face(name: str) -> Face:
    """A font already registered with reportlab (a TrueType font, or one of the 14 standard
    fonts, which cover Latin-1)."""
    font = pdfmetrics.getFont(name)
    inner = getattr(font, "face", None)
    glyphs = getattr(inner, "charToGlyph", None)
    return Face(name, frozenset(glyphs) if glyphs is not None else frozenset(range(32, 256)))


def is_bold(font_name: str) -> bool:
    return "bold" in font_name.lower()


def _invisible(ch: str) -> bool:
    """A format character or a variation selector: joins or modifies, prints nothing."""
    return unicodedata.category(ch) == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F


def runs(text: str, font_name: str) -> list[Run]:
    """``text`` cut into runs, each with the font it prints in (``font_name`` first)."""
    primary = face(font_name)
    fonts = (primary, *chain(is_bold(font_name)))
    out: list[list[str]] = []  # [font, text] pairs
    for ch in text:
        if _invisible(ch):
            if out and next(f for f in fonts if f.name == out[-1][0]).has(ch):
                out[-1][1] += ch
            continue  # nothing to print, and its font lacks it
        found = next((f for f in fonts if f.has(ch)), None)
        glyph = ch if found is not None else MISSING  # a box says something is missing
        name = (found or next(f for f in fonts if f.has(MISSING))).name
        if out and out[-1][0] == name:
            out[-1][1] += glyph
        else:
            out.append([name, glyph])
    return [(name, part) for name, part in out]


@functools.lru_cache(maxsize=65536)
def width(text: str, font_name: str, size: float) -> float:
    """The width of ``text`` in points, each run in its font."""
    if covered(text, font_name):
        return float(pdfmetrics.stringWidth(text, font_name, size))
    return sum(float(pdfmetrics.stringWidth(p, name, size)) for name, p in runs(text, font_name))


def covered(text: str, font_name: str) -> bool:
    """Whether ``font_name`` alone has a glyph for every character of ``text``."""
    primary = face(font_name)
    return all(primary.has(ch) for ch in text)


def missing(text: str, font_name: str = "Courier") -> str:
    """The characters of ``text`` that no font of the chain (nor ``font_name``) has."""
    fonts = (face(font_name), *chain())
    return "".join(
        ch for ch in dict.fromkeys(text) if not _invisible(ch) and not any(f.has(ch) for f in fonts)
    )
