"""The card around the picture: text the bundled font can print, the layout, the wrapped caption
and the placeholder mark."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from .palette import INK, PAPER, RGB

MARK = "drawn placeholder - not AI-generated"
MARK_INK: RGB = (128, 118, 106)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_TRANSLIT = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": " - ",
        "\u2022": "\u00b7",
        "\u00df": "ss",
        "\u00e6": "ae",
        "\u00c6": "AE",
        "\u00f8": "o",
        "\u00d8": "O",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u0142": "l",
        "\u0141": "L",
        "\u0111": "d",
        "\u0110": "D",
        "\u00fe": "th",
        "\u00de": "Th",
        "\u00f0": "d",
        "\u0131": "i",
    }
)
# what Pillow's bundled font (Aileron Regular, reduced) can draw besides printable ASCII
_FONT_EXTRA = frozenset("\u00a9\u00ab\u00b0\u00b7\u00bb\u2018\u2019\u201c\u201d")
_SLUG = re.compile(r"^\s*((?:INT|EXT|I/E|INT\.?/EXT|EXT\.?/INT)\.?\s[^.]*?)(?:\.(?:\s+|$)|$)")


def clean(text: str) -> str:
    """The text the bundled font can print: accents stripped, dashes and quotes simplified."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    out: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        if ch.isspace():
            out.append(" ")
        elif " " <= ch <= "~" or ch in _FONT_EXTRA:
            out.append(ch)
        elif unicodedata.category(ch)[0] in "LNS" and (not out or out[-1] != "?"):
            out.append("?")
    return " ".join("".join(out).split())


def _font(size: int) -> Font:
    """Pillow's bundled TrueType font (Aileron), a fresh object per card: FreeType faces are not
    shared between threads. Loading it takes about 0.1 ms."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # no FreeType, or Pillow < 10.1: the bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class Layout:
    margin: int
    band: int  # caption band height, below the panel
    size: int  # caption font size
    mark: int  # mark font size
    lines: int  # caption lines at most
    text: bool  # room for any text at all


def layout(w: int, h: int, caption: bool) -> Layout:
    if w < 160 or h < 110:
        m = 0 if min(w, h) < 48 else max(1, round(min(w, h) * 0.03))
        return Layout(m, m, 0, 0, 0, False)
    m = max(3, round(min(w, h) * 0.028))
    size = max(10, min(40, round(min(math.sqrt(w * h) * 0.026, w * 0.04, h * 0.045))))
    mark = max(9, round(size * 0.68))
    lines = 0 if not caption else 1 if h < 240 else 2 if w > h * 1.15 else 3
    lh = round(size * 1.3)
    pad = round(size * 0.55)
    band = pad + lines * lh + round(mark * 1.45) + pad
    if band > h * 0.3:  # a wide strip: keep the picture
        lines = max(0, min(lines, int((h * 0.3 - 2 * pad - mark * 1.45) // lh)))
        band = pad + lines * lh + round(mark * 1.45) + pad
    return Layout(m, band, size, mark, lines, True)


def _wrap(
    tokens: list[tuple[str, bool]], width: float, lines: int, measure: Callable[[str, bool], float]
) -> list[list[tuple[str, bool]]]:
    """Greedy wrap of (word, bold) tokens into at most ``lines`` lines; an ellipsis if cut."""
    out: list[list[tuple[str, bool]]] = []
    cur: list[tuple[str, bool]] = []
    cur_w = 0.0
    space = measure(" ", False)
    i = 0
    while i < len(tokens):
        word, bold = tokens[i]
        ww = measure(word, bold)
        if ww > width:  # a word longer than the line: cut it
            while word and measure(word + "-", bold) > width:
                word = word[:-1]
            ww = measure(word, bold)
            tokens[i] = (word, bold)
        extra = ww + (space if cur else 0)
        if cur and cur_w + extra > width:
            out.append(cur)
            cur, cur_w = [], 0.0
            if len(out) == lines:
                break
            continue
        cur.append((word, bold))
        cur_w += extra
        i += 1
    if cur and len(out) < lines:
        out.append(cur)
    if i < len(tokens) and out:  # truncated: end the last line with an ellipsis
        last = out[-1]
        ell = "\u2026"
        while last:
            text = " ".join(t for t, _ in last)
            if measure(text + ell, False) <= width:
                break
            word, bold = last[-1]
            last[-1] = (word[:-1], bold) if len(word) > 1 else ("", bold)
            if not last[-1][0]:
                last.pop()
        if last:
            word, bold = last[-1]
            last[-1] = (word.rstrip(",;:.-") + ell, bold)
        else:
            last.append((ell, False))
    return out


def _caption_tokens(caption: str) -> list[tuple[str, bool]]:
    slug = _SLUG.match(caption)
    if slug:
        head = slug.group(1).strip()
        rest = caption[slug.end() :].strip()
        return [(t, True) for t in head.split()] + [(t, False) for t in rest.split()]
    return [(t, False) for t in caption.split()]


def make_card(panel: Image.Image, size: tuple[int, int], lay: Layout, caption: str) -> Image.Image:
    w, h = size
    card = Image.new("RGB", size, PAPER)
    m = lay.margin
    card.paste(panel, (m, m))
    if m >= 2:
        d = ImageDraw.Draw(card)
        bw = max(1, round(min(w, h) / 400))
        d.rectangle(
            (m - bw, m - bw, m + panel.width + bw - 1, m + panel.height + bw - 1),
            outline=INK,
            width=bw,
        )
    if not lay.text:
        return card
    d = ImageDraw.Draw(card)
    font, small = _font(lay.size), _font(lay.mark)
    bold_w = max(0.5, lay.size / 30)
    free = isinstance(font, ImageFont.FreeTypeFont)

    def measure(word: str, bold: bool) -> float:
        return float(font.getlength(word)) + (2 * bold_w if bold and free else 0)

    top = m + panel.height + round(lay.size * 0.55)
    lh = round(lay.size * 1.3)
    x0 = m
    if lay.lines and caption:
        for n, line in enumerate(_wrap(_caption_tokens(caption), w - 2 * m, lay.lines, measure)):
            x = float(x0)
            y = top + n * lh
            for k, (word, bold) in enumerate(line):
                if k:
                    x += measure(" ", False)
                if bold and free:
                    d.text(
                        (x + bold_w, y),
                        word,
                        font=font,
                        fill=INK,
                        stroke_width=bold_w,
                        stroke_fill=INK,
                    )
                else:
                    d.text((x, y), word, font=font, fill=INK)
                x += measure(word, bold)
    my = h - m - round(lay.mark * 1.25)
    mark_w = small.getlength(MARK)
    mx = w - m - mark_w
    d.text((mx, my), MARK, font=small, fill=MARK_INK)
    return card
