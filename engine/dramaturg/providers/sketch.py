"""The offline default illustrator: a drawn placeholder made from the prompt's words.

``sketch`` is what an image step uses when a chain declares no ``images`` model. It is *not* a
generative model: it draws, with Pillow only (no network, no weights), a stylised storyboard
card from the prompt text and prints the prompt under it with a "drawn placeholder - not
AI-generated" mark.

* The palette is hashed from the prompt and tuned by its mood words (night, dusk, dawn, storm,
  snow, fog); the motifs are chosen by keywords: sea/harbour -> waves, lighthouse, boats, a
  quay; night -> moon and stars; forest -> trees; city/street -> buildings and a road;
  ``INT.``/room/kitchen -> a wall with a window and a door; fire, mountains, desert, rain,
  snow, fog, people; a portrait prompt -> a head-and-shoulders silhouette; anything else ->
  abstract landscape layers.
* The same prompt and seed give byte-identical files. A different seed redraws the composition
  with the same palette and the same caption; a different prompt changes everything.
* Options honoured: ``width``/``height``, else ``aspect_ratio`` (long side 768), else 768x768 for
  portraits and 768x512 for scenes; ``output_format`` png, jpeg or webp; ``style_preset`` (noir,
  sepia, watercolor, pastel, neon-punk, pixel-art, line-art, cinematic, ...; style words in the
  prompt count too); ``negative_prompt`` (a motif named there is left out); ``extra``:
  ``long_side`` (int), ``caption`` (false to hide it, or the text to print), ``style``.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import itertools
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from ..images import ImageModel, ImageRequest, ImageResult

if TYPE_CHECKING:
    from .registry import ModelConfig

__all__ = ["SketchImageModel", "render_sketch", "sketch_image"]

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]
Point = tuple[float, float]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

DEFAULT_LONG_SIDE = 768
MAX_SIDE = 8192
MARK = "drawn placeholder - not AI-generated"
PAPER: RGB = (244, 239, 228)
INK: RGB = (38, 34, 32)
MARK_INK: RGB = (128, 118, 106)

_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}

# -- words -----------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_KEYWORDS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "portrait": "portrait portraits headshot bust mugshot likeness",
        "night": "night midnight nighttime moon moonlight moonlit stars starry starlight "
        "nocturnal tonight",
        "dusk": "dusk sunset evening twilight sundown gloaming",
        "dawn": "dawn sunrise daybreak morning",
        "sea": "sea ocean harbour harbor wave waves shore beach coast coastal port pier quay "
        "dock docks bay tide surf lighthouse seaside marina cove sailor seafront jetty "
        "breakwater",
        "lake": "river lake pond stream canal loch fjord",
        "lighthouse": "lighthouse beacon",
        "boat": "boat ship ferry yacht sailboat trawler dinghy vessel steamer schooner",
        "quay": "quay pier dock jetty breakwater wharf",
        "forest": "forest woods woodland tree trees pine pines grove jungle orchard garden park "
        "thicket copse",
        "city": "city street streets town alley alleyway building buildings skyline rooftop "
        "rooftops downtown avenue market station plaza square boulevard village tower",
        "road": "road highway path lane track trail street avenue boulevard alley",
        "interior": "room kitchen interior bedroom office hall hallway corridor cellar attic "
        "bar pub cafe diner restaurant library study apartment parlour parlor lobby classroom "
        "chapel cabin inside indoors",
        "fire": "fire flame flames burning blaze bonfire campfire hearth fireplace inferno embers",
        "candle": "candle candles candlelight",
        "lamp": "lamp lantern lamplight streetlight streetlamp lamps lanterns",
        "mountain": "mountain mountains peak peaks summit alps ridge crag glacier volcano "
        "highlands",
        "cliff": "cliff cliffs headland bluff promontory",
        "desert": "desert dune dunes sand sands sahara canyon mesa badlands arid wasteland",
        "rain": "rain rainy raining downpour drizzle monsoon squall wet storm stormy",
        "storm": "storm stormy thunder lightning tempest squall gale hurricane",
        "lightning": "lightning thunder thunderstorm",
        "snow": "snow snowy winter ice icy frost frozen blizzard snowfall arctic",
        "snowfall": "snowing snowfall blizzard snowstorm flurries snowflakes",
        "fog": "fog foggy mist misty haze hazy smoke smoky",
        "people": "crowd people figure figures man woman men women couple stranger child "
        "children soldiers",
        "table": "kitchen dining cafe diner restaurant bar pub table desk study office",
        "books": "library study books bookshelf archive",
        "noir": "noir",
    }.items()
}
_SCENE_MOTIFS = _wordset(
    "sea lake lighthouse boat quay forest city road interior fire candle lamp mountain cliff "
    "desert rain snow fog people"
)
_STYLES: dict[str, str] = {
    "noir": "noir",
    "film-noir": "noir",
    "black-and-white": "noir",
    "monochrome": "noir",
    "greyscale": "noir",
    "grayscale": "noir",
    "sepia": "sepia",
    "vintage": "sepia",
    "analog-film": "cinematic",
    "cinematic": "cinematic",
    "photographic": "cinematic",
    "watercolor": "watercolor",
    "watercolour": "watercolor",
    "soft": "watercolor",
    "pastel": "pastel",
    "dreamy": "pastel",
    "neon": "neon",
    "neon-punk": "neon",
    "cyberpunk": "neon",
    "pixel": "pixel",
    "pixel-art": "pixel",
    "line-art": "lineart",
    "lineart": "lineart",
    "comic-book": "lineart",
}
_COLOURS: dict[str, RGB] = {
    "red": (168, 44, 40),
    "crimson": (150, 28, 44),
    "scarlet": (190, 40, 32),
    "burgundy": (110, 30, 44),
    "blue": (46, 78, 140),
    "navy": (34, 44, 84),
    "teal": (30, 110, 112),
    "green": (52, 108, 64),
    "olive": (98, 102, 50),
    "yellow": (220, 176, 46),
    "oilskin": (214, 168, 38),
    "mustard": (196, 150, 40),
    "ochre": (186, 128, 48),
    "orange": (214, 112, 40),
    "pink": (212, 120, 146),
    "purple": (102, 60, 120),
    "violet": (120, 76, 150),
    "brown": (104, 70, 46),
    "tan": (176, 140, 98),
    "black": (34, 32, 34),
    "white": (226, 222, 212),
    "grey": (120, 120, 122),
    "gray": (120, 120, 122),
    "tweed": (118, 100, 74),
    "denim": (60, 86, 124),
}
_HAIR: dict[str, RGB] = {
    "grey": (176, 172, 168),
    "gray": (176, 172, 168),
    "white": (222, 220, 214),
    "silver": (196, 196, 200),
    "red": (156, 64, 30),
    "ginger": (176, 84, 34),
    "auburn": (126, 52, 30),
    "blond": (214, 180, 112),
    "blonde": (214, 180, 112),
    "fair": (206, 176, 120),
    "black": (28, 24, 24),
    "dark": (44, 32, 26),
    "brown": (92, 60, 38),
}
_OLD = _wordset(
    "old elderly aged ageing aging sixties seventies eighties nineties grandmother grandfather "
    "grandma grandpa veteran retired"
)
_FEMININE = _wordset(
    "she her woman girl lady mother widow queen actress daughter sister wife aunt grandmother "
    "matriarch heroine"
)
_MASCULINE = _wordset(
    "he his him man boy gentleman father widower king actor son brother husband uncle "
    "grandfather patriarch"
)
_HATS = _wordset("hat hats cap bonnet fedora beret helmet sou wester souwester bowler")
_COATS = _wordset(
    "coat jacket oilskin uniform cloak blazer suit overcoat raincoat trench greatcoat waistcoat "
    "peacoat parka anorak"
)

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


def _clean(text: str) -> str:
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


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


# -- colour ----------------------------------------------------------------------------------


def _hsl(h: float, s: float, light: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(s, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: Sequence[int], b: Sequence[int], t: float) -> RGB:
    t = min(max(t, 0.0), 1.0)
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _dark(c: RGB, t: float) -> RGB:
    return _mix(c, (8, 8, 14), t)


def _light(c: RGB, t: float) -> RGB:
    return _mix(c, (255, 252, 244), t)


def _grey(c: RGB, t: float) -> RGB:
    y = round(0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2])
    return _mix(c, (y, y, y), t)


def _a(c: RGB, alpha: float) -> RGBA:
    return (c[0], c[1], c[2], max(0, min(255, round(alpha))))


@dataclass
class _Palette:
    sky: list[RGB]
    land: RGB
    water: RGB
    accent: RGB
    glow: RGB
    cloud: RGB
    ink: RGB
    wall: RGB
    hue: float

    @property
    def horizon(self) -> RGB:
        return self.sky[-1]

    def layer(self, i: int, n: int) -> RGB:
        """Land layer ``i`` of ``n``, far (0) to near: atmospheric perspective."""
        t = (i + 1) / n
        return _mix(self.horizon, _dark(self.land, 0.45 * t), 0.3 + 0.7 * t)


HSL = tuple[float, float, float]
# poster palettes for prompts with no recognised scene: sky top, middle, horizon; land; light
_ABSTRACT: tuple[tuple[HSL, HSL, HSL, HSL, HSL], ...] = (
    (
        (0.52, 0.35, 0.35),
        (0.50, 0.35, 0.60),
        (0.12, 0.60, 0.80),
        (0.55, 0.30, 0.30),
        (0.10, 0.8, 0.75),
    ),
    (
        (0.95, 0.30, 0.55),
        (0.02, 0.50, 0.75),
        (0.08, 0.70, 0.88),
        (0.75, 0.20, 0.35),
        (0.12, 0.9, 0.85),
    ),
    (
        (0.10, 0.45, 0.60),
        (0.11, 0.55, 0.78),
        (0.13, 0.60, 0.90),
        (0.05, 0.35, 0.35),
        (0.08, 0.9, 0.70),
    ),
    (
        (0.35, 0.15, 0.60),
        (0.30, 0.20, 0.78),
        (0.15, 0.35, 0.90),
        (0.38, 0.20, 0.32),
        (0.13, 0.7, 0.85),
    ),
    (
        (0.68, 0.35, 0.30),
        (0.72, 0.30, 0.50),
        (0.90, 0.35, 0.75),
        (0.70, 0.25, 0.20),
        (0.14, 0.9, 0.80),
    ),
    (
        (0.60, 0.30, 0.45),
        (0.58, 0.30, 0.70),
        (0.55, 0.30, 0.88),
        (0.60, 0.20, 0.30),
        (0.12, 0.8, 0.85),
    ),
    (
        (0.03, 0.50, 0.65),
        (0.06, 0.70, 0.80),
        (0.12, 0.80, 0.90),
        (0.00, 0.30, 0.40),
        (0.14, 1.0, 0.88),
    ),
    (
        (0.78, 0.25, 0.65),
        (0.80, 0.30, 0.80),
        (0.10, 0.50, 0.90),
        (0.76, 0.18, 0.40),
        (0.11, 0.9, 0.82),
    ),
)


def _palette(motifs: set[str], time: str, prng: random.Random, abstract: bool) -> _Palette:
    j = prng.uniform(-0.035, 0.035)
    h0 = prng.random()
    if time == "night":
        sky = [_hsl(0.64 + j, 0.5, 0.07), _hsl(0.66 + j, 0.42, 0.17), _hsl(0.70 + j, 0.3, 0.30)]
        accent, glow = (246, 238, 208), (190, 200, 240)
    elif time == "dusk":
        sky = [_hsl(0.71 + j, 0.32, 0.30), _hsl(0.96 + j, 0.45, 0.56), _hsl(0.07 + j, 0.85, 0.68)]
        accent, glow = _hsl(0.09 + j / 2, 0.95, 0.74), _hsl(0.07, 0.95, 0.66)
    elif time == "dawn":
        sky = [_hsl(0.60 + j, 0.38, 0.70), _hsl(0.98 + j, 0.50, 0.82), _hsl(0.11 + j, 0.8, 0.86)]
        accent, glow = _hsl(0.12, 1.0, 0.82), _hsl(0.10, 1.0, 0.80)
    elif abstract:
        top, mid, low, ground, light = prng.choice(_ABSTRACT)
        sky = [_hsl(hh + j, ss, ll) for hh, ss, ll in (top, mid, low)]
        accent = glow = _hsl(light[0] + j, light[1], light[2])
    else:
        sky = [_hsl(0.575 + j, 0.52, 0.56), _hsl(0.56 + j, 0.5, 0.74), _hsl(0.52 + j, 0.38, 0.88)]
        accent, glow = (255, 246, 214), (255, 240, 200)

    if "forest" in motifs:
        land = _hsl(0.30 + 2 * j, 0.34, 0.30)
    elif "desert" in motifs:
        land = _hsl(0.075 + j / 2, 0.55, 0.58)
    elif "snow" in motifs:
        land = _hsl(0.58 + j, 0.18, 0.86)
    elif "mountain" in motifs:
        land = _hsl(0.63 + j, 0.16, 0.44)
    elif "city" in motifs:
        land = _hsl(h0, 0.12, 0.34)
    elif "sea" in motifs:
        land = _hsl(0.36 + j, 0.14, 0.30)
    elif abstract:
        land = _hsl(ground[0] + j, ground[1], ground[2])
    else:
        land = _hsl(0.22 + prng.uniform(-0.09, 0.11), 0.34, 0.42)
    water = _hsl(0.54 + j, 0.42, 0.44)
    cloud: RGB = (252, 250, 246)
    if time == "night":
        land, water, cloud = _mix(land, (12, 16, 34), 0.6), _hsl(0.63 + j, 0.42, 0.15), sky[2]
    elif time == "dusk":
        land, water = _mix(land, (70, 34, 64), 0.4), _hsl(0.76 + j, 0.22, 0.36)
        cloud = _hsl(0.98 + j, 0.6, 0.72)
    elif time == "dawn":
        land, water, cloud = (
            _mix(land, (140, 110, 140), 0.2),
            _hsl(0.58, 0.3, 0.62),
            (255, 228, 220),
        )
    if "storm" in motifs or "rain" in motifs:
        sky = [_dark(_grey(c, 0.65), 0.2) for c in sky]
        water, land, cloud = _grey(_dark(water, 0.2), 0.4), _grey(land, 0.3), _grey(cloud, 0.7)
    if "snow" in motifs:
        sky = [_light(_grey(c, 0.4), 0.25) for c in sky]
    if "fog" in motifs:
        sky = [_mix(c, (206, 208, 210), 0.45) for c in sky]
        land = _mix(land, (150, 154, 158), 0.3)
    ink = _dark(_mix(land, sky[0], 0.3), 0.72)
    wall_hue = prng.choice((0.07, 0.09, 0.11, 0.13, 0.45, 0.55, 0.95))
    wall = _hsl(wall_hue + j, 0.24, 0.22 if time == "night" else 0.58)
    return _Palette(sky, land, water, accent, glow, cloud, ink, wall, h0)


# -- drawing helpers -------------------------------------------------------------------------


def _gradient(size: tuple[int, int], stops: Sequence[RGB]) -> Image.Image:
    w, h = size
    if len(stops) == 1:
        stops = [stops[0], stops[0]]
    n = len(stops) - 1
    col = Image.new("RGB", (1, h))
    rows: list[RGB] = []
    for y in range(h):
        t = y / (h - 1) if h > 1 else 0.0
        k = min(int(t * n), n - 1)
        f = t * n - k
        f = f * f * (3 - 2 * f)  # smoothstep: no hard bands between stops
        rows.append(_mix(stops[k], stops[k + 1], f))
    col.putdata(rows)
    return col.resize((w, h), Image.Resampling.NEAREST)


@lru_cache(maxsize=4)
def _falloff(power: float) -> Image.Image:
    """A radial mask: 255 in the centre falling to 0 at the rim."""
    # Pillow's gradient is 255 in the corners, about 181 at the middle of each edge
    return Image.radial_gradient("L").point(lambda v: round(255 * max(0.0, 1 - v / 181) ** power))


def _bezier(p0: Point, p1: Point, p2: Point, n: int = 16) -> list[Point]:
    pts = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        pts.append(
            (
                u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0],
                u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1],
            )
        )
    return pts


class _Canvas:
    """The picture panel, drawn at ``scale`` times its final size (supersampled)."""

    def __init__(self, size: tuple[int, int], rng: random.Random, pal: _Palette) -> None:
        self.w, self.h = size
        self.u = min(size)
        self.rng = rng
        self.pal = pal
        self.img = Image.new("RGB", size, pal.horizon)
        self.d = ImageDraw.Draw(self.img, "RGBA")

    # basic shapes (sorted boxes: Pillow refuses reversed ones)
    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB | RGBA) -> None:
        rx, ry = abs(rx), abs(ry)
        if rx >= 0.5 and ry >= 0.5:
            self.d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB | RGBA) -> None:
        self.d.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), fill=fill)

    def rounded(
        self, x0: float, y0: float, x1: float, y1: float, r: float, fill: RGB | RGBA
    ) -> None:
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
        self.d.rounded_rectangle((x0, y0, x1, y1), radius=r, fill=fill)

    @staticmethod
    def _box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = box
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def frame(
        self, box: tuple[float, float, float, float], outline: RGB | RGBA, width: float
    ) -> None:
        """An outlined rectangle."""
        self.d.rectangle(self._box(box), outline=outline, width=max(1, round(width)))

    def ring(
        self, box: tuple[float, float, float, float], outline: RGB | RGBA, width: float
    ) -> None:
        """An outlined ellipse."""
        self.d.ellipse(self._box(box), outline=outline, width=max(1, round(width)))

    def chord(
        self, box: tuple[float, float, float, float], start: float, end: float, fill: RGB | RGBA
    ) -> None:
        self.d.chord(self._box(box), start, end, fill=fill)

    def arc(
        self,
        box: tuple[float, float, float, float],
        start: float,
        end: float,
        fill: RGB | RGBA,
        width: float,
    ) -> None:
        self.d.arc(self._box(box), start, end, fill=fill, width=max(1, round(width)))

    def poly(self, pts: Sequence[Point], fill: RGB | RGBA) -> None:
        if len(pts) >= 3:
            self.d.polygon(list(pts), fill=fill)

    def line(self, pts: Sequence[Point], fill: RGB | RGBA, width: float) -> None:
        self.d.line(list(pts), fill=fill, width=max(1, round(width)))

    def glow(self, cx: float, cy: float, r: float, color: RGB, strength: float) -> None:
        r = round(r)
        if r < 2:
            return
        power = 1.8
        mask = _falloff(power).resize((2 * r, 2 * r), Image.Resampling.BILINEAR)
        if strength < 1:
            mask = mask.point(lambda v: round(v * strength))
        x, y = round(cx) - r, round(cy) - r
        self.img.paste(color, (x, y, x + 2 * r, y + 2 * r), mask)

    def vgradient(self, box: tuple[float, float, float, float], stops: Sequence[RGB]) -> None:
        x0, y0, x1, y1 = (round(v) for v in box)
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            self.img.paste(_gradient((x1 - x0, y1 - y0), stops), (x0, y0))

    def ridge(
        self, base: float, amp: float, color: RGB, waves: float = 2.0, detail: float = 0.15
    ) -> list[Point]:
        """A smooth band of land from ``base`` (a height) down to the bottom."""
        rng = self.rng
        phases = [rng.uniform(0, math.tau) for _ in range(3)]
        freqs = [waves * rng.uniform(0.7, 1.3), waves * rng.uniform(2.0, 3.2), waves * 7.0]
        weights = [1.0 - detail - 0.25, 0.25, detail]
        n = max(8, self.w // 6)
        pts: list[Point] = []
        for i in range(n + 1):
            t = i / n * math.pi
            y = base - amp * sum(
                wt * math.sin(f * t + p) for wt, f, p in zip(weights, freqs, phases, strict=True)
            )
            pts.append((self.w * i / n, y))
        self.poly([*pts, (self.w, self.h + 2), (0, self.h + 2)], color)
        return pts


# -- scene motifs ----------------------------------------------------------------------------


def _sky(c: _Canvas, horizon: float) -> None:
    c.vgradient((0, 0, c.w, max(horizon + 2, 1)), c.pal.sky)
    c.rect(0, horizon, c.w, c.h, c.pal.horizon)


def _celestial(c: _Canvas, time: str, motifs: set[str], horizon: float) -> Point:
    """Sun or moon; returns where it is (for reflections and beams)."""
    rng, pal, u = c.rng, c.pal, c.u
    side = rng.choice((rng.uniform(0.16, 0.36), rng.uniform(0.64, 0.84)))
    x = c.w * side
    if time == "night":
        y = horizon * rng.uniform(0.22, 0.42)
        r = u * rng.uniform(0.045, 0.065)
        cloudy = "storm" in motifs or "rain" in motifs
        stars = 0 if cloudy else round(c.w * horizon / 9000)
        for _ in range(stars):
            sx, sy = rng.uniform(0, c.w), rng.uniform(0, horizon * 0.92)
            rr = rng.choice((1.0, 1.0, 1.5, 2.0, 2.5)) * u / 700
            c.ellipse(sx, sy, rr, rr, _a(pal.accent, rng.uniform(110, 240)))
        for _ in range(0 if cloudy else rng.randint(3, 6)):
            sx, sy = rng.uniform(0, c.w), rng.uniform(0, horizon * 0.7)
            s = u * rng.uniform(0.008, 0.016)
            col = _a(pal.accent, 220)
            c.poly([(sx - s, sy), (sx, sy - s * 0.18), (sx + s, sy), (sx, sy + s * 0.18)], col)
            c.poly([(sx, sy - s), (sx + s * 0.18, sy), (sx, sy + s), (sx - s * 0.18, sy)], col)
        if "storm" in motifs or "rain" in motifs:
            c.glow(x, y, r * 9, pal.glow, 0.22)  # moonlight through the clouds
            return (x, y)
        c.glow(x, y, r * 6, pal.glow, 0.35)
        c.ellipse(x, y, r, r, pal.accent)
        if rng.random() < 0.5:  # a crescent: a sky-coloured bite
            bite = _mix(pal.sky[0], pal.sky[1], 0.55)
            c.ellipse(x + r * 0.45 * rng.choice((-1, 1)), y - r * 0.2, r * 0.85, r * 0.85, bite)
        else:
            for _ in range(3):
                cr = r * rng.uniform(0.12, 0.22)
                c.ellipse(
                    x + rng.uniform(-0.5, 0.5) * r,
                    y + rng.uniform(-0.5, 0.5) * r,
                    cr,
                    cr,
                    _a(_dark(pal.accent, 0.2), 120),
                )
        return (x, y)
    if time in ("dusk", "dawn"):
        r = u * rng.uniform(0.09, 0.13)
        y = horizon - r * rng.uniform(0.1, 0.6)
    else:
        r = u * rng.uniform(0.055, 0.075)
        y = horizon * rng.uniform(0.25, 0.45)
    if "portrait" in motifs and time == "day":
        return (x, y)  # the halo is the light
    if "storm" not in motifs and "rain" not in motifs and "fog" not in motifs:
        c.glow(x, y, r * 5, pal.glow, 0.55)
        c.ellipse(x, y, r, r, pal.accent)
    elif "fog" in motifs:
        c.ellipse(x, y, r, r, _a(pal.accent, 120))
    return (x, y)


def _clouds(c: _Canvas, time: str, motifs: set[str], horizon: float) -> None:
    rng, pal = c.rng, c.pal
    if "storm" in motifs or "rain" in motifs:
        dark = _dark(_grey(pal.sky[0], 0.5), 0.35)
        edge = _mix(_grey(pal.sky[-1], 0.4), pal.glow, 0.25)  # undersides catching the light
        for row in range(3):
            y = horizon * (0.08 + row * 0.13)
            col = _a(_mix(dark, pal.sky[1], row * 0.25), 235 - row * 40)
            x = -c.w * 0.1
            while x < c.w * 1.1:
                rx = c.u * rng.uniform(0.12, 0.24)
                cy = y + rng.uniform(-0.04, 0.04) * horizon
                c.ellipse(x, cy + rx * 0.08, rx, rx * 0.55, _a(edge, 70 - row * 15))
                c.ellipse(x, cy, rx, rx * 0.55, col)
                x += rx * rng.uniform(0.9, 1.4)
        return
    count = rng.randint(1, 4) if time != "night" else rng.randint(0, 2)
    for _ in range(count):
        y = horizon * rng.uniform(0.12, 0.7)
        x = c.w * rng.uniform(-0.05, 1.0)
        length = c.w * rng.uniform(0.14, 0.34)
        th = c.u * rng.uniform(0.018, 0.034)
        alpha = 70 if time == "night" else rng.uniform(140, 215)
        for k in range(rng.randint(2, 3)):
            dx = rng.uniform(-0.2, 0.35) * length
            ln = length * rng.uniform(0.5, 1.0)
            c.rounded(
                x + dx,
                y + k * th * 1.25,
                x + dx + ln,
                y + k * th * 1.25 + th,
                th,
                _a(pal.cloud, alpha),
            )


def _mountains(c: _Canvas, base: float, height: float, color: RGB, snow: bool) -> None:
    """A range of peaks with a shaded face each and, if ``snow``, snowcaps."""
    rng = c.rng
    k = rng.randint(3, 5)
    span = 1.3 / k
    xs = [(-0.15 + span * (i + 0.5) + rng.uniform(-0.25, 0.25) * span) * c.w for i in range(k)]
    peaks = [(x, base - height * rng.uniform(0.55, 1.0)) for x in xs]
    pts: list[Point] = [(-c.w * 0.2, base - height * 0.15)]
    tops: list[int] = []
    for i, (px, py) in enumerate(peaks):
        if i:
            qx, qy = peaks[i - 1]
            vx = (qx + px) / 2 + rng.uniform(-0.2, 0.2) * (px - qx)
            vy = max(qy, py) + rng.uniform(0.35, 0.7) * (base - max(qy, py))
            pts.append((vx, vy))
        tops.append(len(pts))
        pts.append((px, py))
    pts.append((c.w * 1.2, base - height * 0.15))
    rough: list[Point] = [pts[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        for t in (0.3, 0.6):
            jitter = rng.uniform(-0.035, 0.035) * height
            rough.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t + jitter))
        rough.append((x1, y1))
    c.poly([*rough, (c.w * 1.2, c.h + 2), (-c.w * 0.2, c.h + 2)], color)
    shade = _a(_dark(color, 0.3), 130)
    cap = _light(_grey(color, 0.6), 0.78)
    for i in tops:
        (px, py), (lx, ly), (rx, ry) = pts[i], pts[i - 1], pts[i + 1]
        c.poly([(px, py), (rx, ry), (px + (rx - px) * 0.25, base + height * 0.1)], shade)
        if snow:
            d = (base - py) * 0.24
            left = (px + (lx - px) * d / max(ly - py, 1), py + d)
            right = (px + (rx - px) * d / max(ry - py, 1), py + d)
            zig = [
                (left[0] + (right[0] - left[0]) * t, py + d * (0.65 if n % 2 else 1.1))
                for n, t in enumerate((0.2, 0.4, 0.6, 0.8), 1)
            ]
            c.poly([(px, py), right, *reversed(zig), left], cap)


def _water(c: _Canvas, horizon: float, body: Point, motifs: set[str], time: str) -> None:
    rng, pal = c.rng, c.pal
    deep = _dark(pal.water, 0.35)
    c.vgradient((0, horizon, c.w, c.h), [_mix(pal.water, pal.horizon, 0.45), pal.water, deep])
    light = _light(pal.water, 0.45) if time != "night" else _mix(pal.water, pal.glow, 0.5)
    y = horizon + c.u * 0.012
    storm = "storm" in motifs
    while y < c.h:
        depth = (y - horizon) / max(c.h - horizon, 1)
        for _ in range(round(6 + 10 * depth)):
            x = rng.uniform(-0.05, 1.05) * c.w
            ln = c.u * (0.01 + 0.05 * depth) * rng.uniform(0.5, 1.5)
            amp = ln * (0.25 if storm else 0.12)
            c.arc(
                (x - ln, y - amp, x + ln, y + amp),
                200,
                340,
                fill=_a(light, 60 + 100 * depth),
                width=max(1, round(c.u * 0.003 * (1 + 2 * depth))),
            )
        y += c.u * (0.01 + 0.05 * depth * depth + 0.006)
    bx, by = body
    if time != "day" and by < horizon and "rain" not in motifs:  # a path of light on the water
        yy = horizon + 2.0
        while yy < c.h:
            depth = (yy - horizon) / max(c.h - horizon, 1)
            half = c.u * (0.01 + 0.07 * depth) * rng.uniform(0.3, 1.0)
            off = rng.uniform(-0.3, 0.3) * half
            th = max(1.0, c.u * 0.004 * (1 + depth))
            c.rect(bx - half + off, yy, bx + half + off, yy + th, _a(pal.accent, 150 - 90 * depth))
            yy += th * rng.uniform(2.0, 3.5)


def _storm_waves(c: _Canvas, base: float, color: RGB) -> list[Point]:
    """Rows of breaking waves with foam caps; returns the crests of the nearest row."""
    rng = c.rng
    foam: RGB = (228, 234, 238)
    crests: list[Point] = []
    rows = 3
    for row in range(rows):
        near = row / (rows - 1)
        y0 = base - c.u * 0.1 * (1 - near)
        amp = c.u * (0.035 + 0.05 * near)
        period = c.w * rng.uniform(0.16, 0.24) * (1 + 0.6 * near)
        phase = rng.uniform(0, period)
        n = max(8, c.w // 4)
        pts: list[Point] = []
        profile: list[float] = []
        for i in range(n + 1):
            x = c.w * i / n
            s = ((x + phase) % period) / period
            prof = s**1.6 if s < 0.8 else ((1 - s) / 0.2) ** 0.6 * 0.8**1.6  # slow back, steep face
            pts.append((x, y0 - amp * prof))
            profile.append(s)
        body = _mix(_light(color, 0.2), _dark(color, 0.35), near)
        c.poly([*pts, (c.w, c.h + 2), (0, c.h + 2)], body)
        c.poly(
            [*pts, *[(x, y + amp * 0.5) for x, y in reversed(pts)]],
            _a(_light(color, 0.3), 60),
        )
        thick = c.u * (0.007 + 0.014 * near)
        groups: list[list[Point]] = [[]]
        for p, s in zip(pts, profile, strict=True):
            if 0.6 < s <= 0.86:
                groups[-1].append(p)
            elif groups[-1]:
                groups.append([])
        for seg in groups:
            if len(seg) < 3:
                continue
            k = len(seg) - 1
            lower = [
                (x + thick * 0.4, y + thick * max(0.0, math.sin(math.pi * i / k)) ** 0.7)
                for i, (x, y) in enumerate(seg)
            ]
            c.poly([*seg, *reversed(lower)], _a(foam, 225))
            fx, fy = seg[-1]
            if row == rows - 1:
                crests.append((fx, fy))
            for _ in range(round(6 + 10 * near)):
                r = c.u * rng.uniform(0.002, 0.006) * (1 + near)
                c.ellipse(
                    fx + rng.uniform(-1.0, 0.6) * amp * 0.5,
                    fy - rng.uniform(0.0, 1.0) * amp * 0.45,
                    r,
                    r,
                    _a(foam, rng.uniform(120, 220)),
                )
    return crests


def _spray(c: _Canvas, x: float, y: float, size: float) -> None:
    """A plume of spray thrown up where a wave breaks against something."""
    rng = c.rng
    foam: RGB = (236, 240, 244)
    c.glow(x, y - size * 0.45, size * 0.8, foam, 0.45)
    for _ in range(46):
        a = rng.uniform(-2.5, -0.65)
        d = size * rng.uniform(0.05, 1.0) ** 0.7
        r = c.u * rng.uniform(0.002, 0.007)
        c.ellipse(
            x + math.cos(a) * d, y + math.sin(a) * d * 1.2, r, r, _a(foam, rng.randint(110, 230))
        )


def _headland(c: _Canvas, horizon: float, left: bool, color: RGB) -> Point:
    """A rocky headland reaching in from one side; returns its top (for a lighthouse)."""
    rng = c.rng
    reach = c.w * rng.uniform(0.3, 0.42)
    top = horizon - c.h * rng.uniform(0.04, 0.1)
    edge = 0.0 if left else float(c.w)
    sign = 1 if left else -1
    pts: list[Point] = [(edge, top - c.h * 0.02)]
    steps = 7
    for i in range(1, steps + 1):
        t = i / steps
        x = edge + sign * reach * t
        y = top + (c.h * 0.01) * rng.uniform(-1, 1) + (horizon - top) * max(0, t - 0.6) * 2.6
        pts.append((x, y))
    pts += [(edge + sign * reach * 1.1, horizon + c.h * 0.06), (edge, horizon + c.h * 0.12)]
    c.poly(pts, color)
    c.poly(
        [(edge + sign * reach * 0.55, top + c.h * 0.01), *pts[5:]],
        _a(_dark(color, 0.3), 160),
    )
    return (edge + sign * reach * 0.32, top + c.h * 0.005)


def _lighthouse(c: _Canvas, base: Point, height: float, time: str) -> None:
    pal = c.pal
    x, y = base
    bw = height * 0.2
    tw = bw * 0.68
    top = y - height
    night = time in ("night", "dusk") or pal.sky[0][2] < 90
    red = (168, 50, 44) if not night else (96, 34, 40)
    white = (236, 230, 214) if not night else (120, 122, 140)
    bands = 4
    for i in range(bands):
        t0, t1 = i / bands, (i + 1) / bands
        hw0, hw1 = bw / 2 + (tw - bw) / 2 * t0, bw / 2 + (tw - bw) / 2 * t1
        y0, y1 = y - height * 0.82 * t0, y - height * 0.82 * t1
        c.poly(
            [(x - hw0, y0), (x + hw0, y0), (x + hw1, y1), (x - hw1, y1)], red if i % 2 else white
        )
    # shading on one side
    c.poly(
        [
            (x + bw * 0.12, y),
            (x + bw / 2, y),
            (x + tw / 2, y - height * 0.82),
            (x + tw * 0.1, y - height * 0.82),
        ],
        (0, 0, 0, 50),
    )
    gy = y - height * 0.82
    c.rect(x - tw * 0.75, gy - height * 0.025, x + tw * 0.75, gy, pal.ink)
    ly0, ly1 = gy - height * 0.11, gy - height * 0.025
    lamp = (255, 226, 150)
    if night:
        cy = (ly0 + ly1) / 2
        tilt = c.rng.uniform(-0.6, 0.2)
        for side in (-1, 1):
            for k in range(1, 9):  # overlapping wedges: the beam fades with distance
                reach = c.w * 0.15 * k * side
                spread = c.h * 0.0125 * k
                c.poly(
                    [
                        (x, cy),
                        (x + reach, cy + spread * (tilt - 1)),
                        (x + reach, cy + spread * (tilt + 1)),
                    ],
                    _a(lamp, 12),
                )
        c.glow(x, (ly0 + ly1) / 2, height * 0.5, lamp, 0.7)
    c.rect(x - tw * 0.42, ly0, x + tw * 0.42, ly1, lamp)
    c.line([(x, ly0), (x, ly1)], pal.ink, max(1.0, tw * 0.06))
    c.poly([(x - tw * 0.55, ly0), (x + tw * 0.55, ly0), (x, top)], pal.ink)


def _boat(c: _Canvas, x: float, y: float, size: float, color: RGB, sail: RGB) -> None:
    rng = c.rng
    tilt = rng.uniform(-0.06, 0.06) * size
    c.poly(
        [
            (x - size, y - size * 0.18 - tilt),
            (x + size, y - size * 0.18 + tilt),
            (x + size * 0.7, y + size * 0.12),
            (x - size * 0.7, y + size * 0.12),
        ],
        color,
    )
    if rng.random() < 0.55:
        c.line([(x, y - size * 0.18), (x + tilt * 0.5, y - size * 1.5)], color, size * 0.05)
        c.poly(
            [
                (x + size * 0.04, y - size * 1.4),
                (x + size * 0.04, y - size * 0.3),
                (x + size * 0.75, y - size * 0.3),
            ],
            sail,
        )
    else:
        c.rect(x - size * 0.5, y - size * 0.55, x + size * 0.05, y - size * 0.18, color)
        c.rect(x - size * 0.3, y - size * 0.85, x - size * 0.18, y - size * 0.55, color)


def _quay(c: _Canvas, top: float, color: RGB) -> None:
    rng = c.rng
    slope = rng.uniform(-0.03, 0.03) * c.h
    c.poly([(0, top - slope), (c.w, top + slope), (c.w, c.h + 2), (0, c.h + 2)], color)
    c.poly(
        [
            (0, top - slope),
            (c.w, top + slope),
            (c.w, top + slope + c.u * 0.018),
            (0, top - slope + c.u * 0.018),
        ],
        _light(color, 0.2),
    )
    joint = _a(_dark(color, 0.35), 140)
    rows = 3
    for r in range(rows):
        y = top + c.u * 0.018 + (c.h - top) * (r + 1) / (rows + 1)
        c.line([(0, y - slope * 0.5), (c.w, y + slope * 0.5)], joint, c.u * 0.003)
        off = rng.uniform(0, 1)
        for k in range(9):
            x = c.w * (k + off * 0.5 + (r % 2) * 0.5) / 8
            y0 = top + c.u * 0.018 + (c.h - top) * r / (rows + 1)
            c.line([(x, y0), (x, y)], joint, c.u * 0.003)
    for _ in range(rng.randint(1, 3)):
        bx = c.w * rng.uniform(0.1, 0.9)
        by = top + slope * (2 * bx / c.w - 1)
        bw = c.u * 0.022
        c.rounded(bx - bw, by - bw * 2.2, bx + bw, by + 1, bw * 0.6, _dark(color, 0.55))


def _pine(c: _Canvas, x: float, base: float, height: float, color: RGB) -> None:
    w = height * 0.36
    c.rect(x - w * 0.07, base - height * 0.2, x + w * 0.07, base, _dark(color, 0.3))
    for i in range(3):
        t0 = 0.15 + i * 0.25
        y0 = base - height * t0
        y1 = base - height * (t0 + 0.45 if i < 2 else 1.0)
        hw = w * (1 - i * 0.25) / 2
        c.poly([(x - hw, y0), (x + hw, y0), (x, y1)], color)


def _round_tree(c: _Canvas, x: float, base: float, height: float, color: RGB) -> None:
    rng = c.rng
    c.rect(x - height * 0.035, base - height * 0.45, x + height * 0.035, base, _dark(color, 0.35))
    r = height * 0.3
    cy = base - height + r
    c.ellipse(x, cy, r, r * 1.05, color)
    for _ in range(2):
        c.ellipse(
            x + rng.uniform(-0.6, 0.6) * r,
            cy + rng.uniform(0.1, 0.5) * r,
            r * 0.7,
            r * 0.6,
            color,
        )
    c.ellipse(x - r * 0.3, cy - r * 0.3, r * 0.35, r * 0.3, _a(_light(color, 0.3), 90))


def _forest(c: _Canvas, horizon: float, pine: bool, snow: bool) -> None:
    rng, pal = c.rng, c.pal
    tree = _pine if pine else _round_tree
    rows = 3
    for row in range(rows):
        color = pal.layer(row + 1, rows + 1)
        base = horizon + (c.h - horizon) * (0.05 + row * 0.22)
        height = c.h * (0.1 + row * 0.1)
        n = round(c.w / (height * (0.34 if pine else 0.5)) * (1.1 - row * 0.25))
        xs = sorted(rng.uniform(-0.05, 1.05) * c.w for _ in range(max(n, 1)))
        for x in xs:
            if row == rows - 1 and 0.28 * c.w < x < 0.72 * c.w:
                continue  # keep a clearing in front
            hh = height * rng.uniform(0.75, 1.25)
            tree(c, x, base + rng.uniform(0, 0.03) * c.h, hh, color)
            if snow and pine:
                c.poly(
                    [
                        (x - hh * 0.07, base - hh * 0.72),
                        (x + hh * 0.07, base - hh * 0.72),
                        (x, base - hh),
                    ],
                    _a((250, 250, 255), 200),
                )
        c.rect(0, base + c.h * 0.02, c.w, c.h, _a(color, 255))
    # framing trees at the edges, darkest
    for side in (0.0, 1.0):
        if pine and rng.random() < 0.6:
            x = c.w * (side + rng.uniform(-0.02, 0.05) * (1 if side == 0 else -1))
            tree(c, x, c.h * 1.02, c.h * rng.uniform(0.6, 0.85), _dark(pal.layer(rows, rows), 0.15))


def _buildings(
    c: _Canvas, base: float, color: RGB, tall: float, lit: RGB, night: bool, dense: float
) -> None:
    rng = c.rng
    x = -c.w * 0.02
    win = _mix(color, (0, 0, 0), 0.25)
    while x < c.w:
        bw = c.w * rng.uniform(0.04, 0.1) * dense
        bh = c.h * tall * rng.uniform(0.35, 1.0)
        top = base - bh
        c.rect(x, top, x + bw, base + 2, color)
        roof = rng.random()
        if roof < 0.25:
            c.poly(
                [(x - bw * 0.05, top + 1), (x + bw * 1.05, top + 1), (x + bw / 2, top - bw * 0.45)],
                color,
            )
        elif roof < 0.35:
            c.line(
                [(x + bw * 0.7, top), (x + bw * 0.7, top - bh * 0.25)], color, max(1.0, c.u * 0.003)
            )
        elif roof < 0.42:
            c.ellipse(x + bw / 2, top, bw * 0.3, bw * 0.3, color)
        # windows
        cols = max(1, round(bw / (c.u * 0.022)))
        rows = max(1, round(bh / (c.u * 0.035)))
        ww = bw / (cols * 2 + 1)
        wh = min(ww * 1.5, bh / (rows * 2 + 1))
        if ww >= 1.5 and wh >= 1.5:
            for i in range(cols):
                for j in range(rows - 1):
                    wx = x + ww * (2 * i + 1)
                    wy = top + wh * (2 * j + 1.5)
                    if wy + wh > base - wh:
                        break
                    if night and rng.random() < 0.35:
                        c.rect(wx, wy, wx + ww, wy + wh, lit)
                    elif not night and rng.random() < 0.7:
                        c.rect(wx, wy, wx + ww, wy + wh, win)
        x += bw + c.w * rng.uniform(0.0, 0.012)


def _road(c: _Canvas, horizon: float, color: RGB, night: bool, lamps: bool) -> None:
    rng, pal = c.rng, c.pal
    vx = c.w * rng.uniform(0.4, 0.6)
    half = c.w * rng.uniform(0.28, 0.4)
    c.poly(
        [
            (vx - c.w * 0.006, horizon),
            (vx + c.w * 0.006, horizon),
            (c.w / 2 + half, c.h + 2),
            (c.w / 2 - half, c.h + 2),
        ],
        color,
    )
    line = _light(color, 0.5) if not night else _mix(color, pal.glow, 0.5)
    k = 0.0
    while k < 1:
        k0, k1 = k, k + 0.05 + 0.12 * k
        t0, t1 = k0**2, min(k1, 1) ** 2
        ya, yb = horizon + (c.h - horizon) * t0, horizon + (c.h - horizon) * t1
        xa, xb = vx + (c.w / 2 - vx) * t0, vx + (c.w / 2 - vx) * t1
        wa, wb = c.w * 0.002 + c.w * 0.006 * t0, c.w * 0.002 + c.w * 0.006 * t1
        c.poly([(xa - wa, ya), (xa + wa, ya), (xb + wb, yb), (xb - wb, yb)], line)
        k = k1 + 0.04 + 0.1 * k
    if lamps:
        for side in (-1, 1):
            for t in (0.25, 0.5, 0.85):
                tt = t * t
                y = horizon + (c.h - horizon) * tt
                x = vx + (c.w / 2 + side * half * 1.08 - vx) * tt
                hgt = c.h * 0.05 + c.h * 0.3 * tt
                c.line([(x, y), (x, y - hgt)], pal.ink, max(1.0, c.u * 0.006 * (0.3 + tt)))
                c.line(
                    [(x, y - hgt), (x - side * hgt * 0.12, y - hgt)],
                    pal.ink,
                    max(1.0, c.u * 0.005 * (0.3 + tt)),
                )
                lx = x - side * hgt * 0.12
                if night:
                    c.glow(lx, y - hgt, hgt * 0.5, (255, 214, 140), 0.6)
                c.ellipse(lx, y - hgt + hgt * 0.03, hgt * 0.035, hgt * 0.03, (255, 226, 160))


def _flame(
    c: _Canvas, x: float, base: float, height: float, width: float, color: RGB, sway: float
) -> None:
    pts: list[Point] = []
    n = 14
    for i in range(n + 1):
        t = i / n
        hw = width / 2 * math.sin(math.pi * t) ** 0.7 * (1 - t) ** 0.35
        y = base - height * t
        off = sway * math.sin(t * math.pi * 1.2) * height * 0.25
        pts.append((x + off + hw, y))
    back = [
        (
            x
            + sway * math.sin(t * math.pi * 1.2) * height * 0.25
            - (px - x - sway * math.sin(t * math.pi * 1.2) * height * 0.25),
            py,
        )
        for (px, py), t in zip(pts, (i / n for i in range(n + 1)), strict=True)
    ]
    c.poly([*pts, *reversed(back)], color)


def _fire(c: _Canvas, x: float, base: float, size: float) -> None:
    rng = c.rng
    c.glow(x, base - size * 0.4, size * 2.4, (255, 150, 60), 0.75)
    log = (70, 40, 28)
    c.line(
        [(x - size * 0.6, base + size * 0.05), (x + size * 0.5, base - size * 0.12)],
        log,
        size * 0.16,
    )
    c.line(
        [(x + size * 0.6, base + size * 0.05), (x - size * 0.5, base - size * 0.12)],
        _dark(log, 0.2),
        size * 0.16,
    )
    for col, hs, ws in (
        ((196, 48, 26), 1.0, 0.9),
        ((236, 120, 34), 0.75, 0.65),
        ((255, 214, 96), 0.45, 0.38),
    ):
        for k in (-1, 0, 1):
            h = size * hs * (1.0 if k == 0 else rng.uniform(0.55, 0.8))
            _flame(
                c,
                x + k * size * ws * 0.3,
                base - size * 0.05,
                h,
                size * ws * (0.9 if k == 0 else 0.55),
                col,
                rng.uniform(-0.35, 0.35),
            )
    for _ in range(10):
        r = size * rng.uniform(0.01, 0.025)
        c.ellipse(
            x + rng.uniform(-0.6, 0.6) * size,
            base - size * rng.uniform(0.8, 1.9),
            r,
            r,
            _a((255, 190, 90), rng.uniform(120, 230)),
        )


def _smoke(c: _Canvas, x: float, base: float, size: float) -> None:
    rng = c.rng
    for i in range(8):
        r = size * (0.3 + 0.12 * i)
        c.ellipse(
            x + size * 0.25 * i * rng.uniform(0.5, 1.2),
            base - size * (1.2 + 0.5 * i),
            r,
            r * 0.7,
            (90, 88, 92, max(20, 110 - 10 * i)),
        )


def _figure(c: _Canvas, x: float, base: float, height: float, color: RGB) -> None:
    rng = c.rng
    head = height * 0.11
    c.ellipse(x, base - height + head, head, head * 1.08, color)
    sw = height * rng.uniform(0.15, 0.19)
    hem = height * rng.uniform(0.13, 0.26)
    neck = base - height + head * 2.1
    c.poly(
        [
            (x - sw * 0.5, neck),
            (x + sw * 0.5, neck),
            (x + sw * 0.62, neck + height * 0.12),
            (x + hem, base - height * 0.3),
            (x - hem, base - height * 0.3),
            (x - sw * 0.62, neck + height * 0.12),
        ],
        color,
    )
    lw = height * 0.045
    c.rect(x - sw * 0.42, base - height * 0.32, x - sw * 0.42 + lw, base, color)
    c.rect(x + sw * 0.42 - lw, base - height * 0.32, x + sw * 0.42, base, color)


def _rain(c: _Canvas, heavy: bool) -> None:
    rng = c.rng
    col = _light(_grey(c.pal.sky[-1], 0.6), 0.4)
    tilt = rng.uniform(0.12, 0.35) * rng.choice((-1, 1))
    n = round(c.w * c.h / (2600 if heavy else 5200))
    for _ in range(n):
        x, y = rng.uniform(-0.1, 1.1) * c.w, rng.uniform(-0.05, 1.0) * c.h
        ln = c.u * rng.uniform(0.03, 0.08)
        c.line(
            [(x, y), (x + ln * tilt, y + ln)], _a(col, rng.uniform(60, 150)), max(1.0, c.u / 900)
        )


def _lightning(c: _Canvas, horizon: float) -> None:
    rng = c.rng
    x = c.w * rng.uniform(0.2, 0.8)
    y = 0.0
    pts: list[Point] = [(x, y)]
    while y < horizon * 0.9:
        y += horizon * rng.uniform(0.06, 0.14)
        x += c.w * rng.uniform(-0.05, 0.05)
        pts.append((x, y))
    c.glow(pts[len(pts) // 2][0], pts[len(pts) // 2][1], c.u * 0.35, (220, 220, 255), 0.35)
    c.line(pts, (250, 250, 255), c.u * 0.006)


def _snowfall(c: _Canvas) -> None:
    rng = c.rng
    for _ in range(round(c.w * c.h / 4000)):
        r = c.u * rng.uniform(0.002, 0.006)
        c.ellipse(
            rng.uniform(0, c.w),
            rng.uniform(0, c.h),
            r,
            r,
            (252, 252, 255, round(rng.uniform(140, 230))),
        )


def _fog(c: _Canvas, horizon: float) -> None:
    """Soft banks of mist, drawn small and blurred, then laid over the scene."""
    rng = c.rng
    sw, sh = max(4, c.w // 8), max(4, c.h // 8)
    mask = Image.new("L", (sw, sh), 0)
    d = ImageDraw.Draw(mask)
    for _ in range(7):
        y = (horizon + rng.uniform(-0.12, 0.3) * c.h) / 8
        th = max(1.0, c.h * rng.uniform(0.03, 0.07) / 8)
        x = rng.uniform(-0.4, 0.5) * sw
        d.rounded_rectangle(
            (x, y, x + sw * rng.uniform(0.5, 1.1), y + th), radius=th / 2, fill=rng.randint(90, 160)
        )
    mask = mask.filter(ImageFilter.GaussianBlur(2)).resize((c.w, c.h), Image.Resampling.BILINEAR)
    c.img.paste(_mix(c.pal.horizon, (236, 236, 236), 0.6), (0, 0), mask)


def _interior(c: _Canvas, motifs: set[str], time: str) -> None:
    """Over an exterior already drawn: a wall with a window onto it, a floor, a door, a lamp."""
    rng, pal = c.rng, c.pal
    w, h = c.w, c.h
    left = rng.random() < 0.5
    wx0 = w * (rng.uniform(0.1, 0.2) if left else rng.uniform(0.42, 0.55))
    ww = w * rng.uniform(0.3, 0.4)
    wy0, wy1 = h * 0.14, h * rng.uniform(0.55, 0.62)
    floor = h * 0.78
    wall = Image.new("RGB", (w, h))
    wall.paste(_gradient((w, h), [_dark(pal.wall, 0.15), pal.wall, _dark(pal.wall, 0.25)]))
    mask = Image.new("L", (w, h), 255)
    ImageDraw.Draw(mask).rectangle((wx0, wy0, wx0 + ww, wy1), fill=0)
    c.img.paste(wall, (0, 0), mask)
    wood = _dark(_mix(pal.wall, (120, 80, 50), 0.6), 0.3)
    fw = c.u * 0.018
    c.frame((wx0, wy0, wx0 + ww, wy1), outline=wood, width=round(fw))
    c.rect(wx0 + ww / 2 - fw / 3, wy0, wx0 + ww / 2 + fw / 3, wy1, wood)
    c.rect(wx0, (wy0 + wy1) / 2 - fw / 3, wx0 + ww, (wy0 + wy1) / 2 + fw / 3, wood)
    c.rect(wx0 - fw, wy1, wx0 + ww + fw, wy1 + fw * 1.2, _light(wood, 0.2))
    # curtains, tied back
    curtain = _hsl(pal.hue, 0.4, 0.3 if time == "night" else 0.48)
    fold = _a(_dark(curtain, 0.35), 120)
    for side in (-1, 1):
        edge = wx0 if side < 0 else wx0 + ww
        inner, outer = edge - side * fw * 3, edge + side * fw * 3.5
        tie = wy0 + (wy1 - wy0) * 0.6
        bottom = wy1 + fw * 5
        tie_x = outer + (inner - outer) * 0.25
        pts = [
            (outer, wy0 - fw * 2),
            (inner, wy0 - fw * 2),
            *_bezier((inner, wy0), (inner, wy0 + (tie - wy0) * 0.6), (tie_x, tie), 8),
            *_bezier(
                (tie_x, tie), (tie_x, tie + fw * 3), (outer + (inner - outer) * 0.6, bottom), 6
            ),
            (outer, bottom),
        ]
        c.poly(pts, curtain)
        for k in (0.35, 0.7):
            x = outer + (inner - outer) * k
            c.line([(x, wy0 - fw), (outer + (x - outer) * 0.3, tie)], fold, fw * 0.25)
        c.ellipse(tie_x - side * fw * 0.2, tie, fw * 0.9, fw * 0.45, _dark(curtain, 0.3))
    c.rect(wx0 - fw * 5, wy0 - fw * 2.6, wx0 + ww + fw * 5, wy0 - fw * 1.8, wood)
    # floor and skirting
    c.vgradient((0, floor, w, h), [_dark(wood, 0.1), _dark(wood, 0.45)])
    c.rect(0, floor - c.u * 0.012, w, floor, _dark(pal.wall, 0.4))
    for k in range(1, 5):
        y = floor + (h - floor) * (k / 5) ** 1.4
        c.line([(0, y), (w, y)], _a(_dark(wood, 0.6), 90), c.u * 0.002)
    # a door on the other side
    dx0 = w * (rng.uniform(0.66, 0.76) if left else rng.uniform(0.08, 0.16))
    dw = w * 0.15
    dy0 = h * 0.2
    c.rect(dx0 - fw, dy0 - fw, dx0 + dw + fw, floor, _dark(wood, 0.2))
    c.rect(dx0, dy0, dx0 + dw, floor, _light(wood, 0.08))
    for y0, y1 in (
        (dy0 + dw * 0.12, dy0 + (floor - dy0) * 0.45),
        (dy0 + (floor - dy0) * 0.53, floor - dw * 0.12),
    ):
        c.frame(
            (dx0 + dw * 0.14, y0, dx0 + dw * 0.86, y1),
            outline=_dark(wood, 0.25),
            width=max(1, round(c.u * 0.004)),
        )
    c.ellipse(
        dx0 + dw * (0.85 if left else 0.15),
        (dy0 + floor) * 0.55,
        c.u * 0.007,
        c.u * 0.007,
        (214, 180, 90),
    )
    if "books" in motifs:
        _bookshelf(c, w * (0.88 if left else 0.02), h * 0.18, w * 0.1, floor)
    if "fire" in motifs:
        _fireplace(c, w * 0.36 if not left else w * 0.5, floor)
    if "table" in motifs or "candle" in motifs:
        _table(
            c,
            w * rng.uniform(0.4, 0.6),
            floor + (h - floor) * 0.55,
            c.u * 0.5,
            wood,
            "candle" in motifs,
        )
    if time in ("night", "dusk") or "lamp" in motifs:
        lx = w * rng.uniform(0.35, 0.65)
        ly = h * 0.22
        c.line([(lx, 0), (lx, ly)], pal.ink, c.u * 0.004)
        c.glow(lx, ly + c.u * 0.04, c.u * 0.55, (255, 206, 130), 0.5)
        c.poly(
            [
                (lx - c.u * 0.05, ly + c.u * 0.05),
                (lx + c.u * 0.05, ly + c.u * 0.05),
                (lx + c.u * 0.025, ly),
                (lx - c.u * 0.025, ly),
            ],
            _dark(pal.wall, 0.5),
        )
        c.ellipse(lx, ly + c.u * 0.05, c.u * 0.022, c.u * 0.012, (255, 236, 180))


def _bookshelf(c: _Canvas, x0: float, y0: float, width: float, floor: float) -> None:
    rng = c.rng
    wood = (82, 56, 38)
    c.rect(x0, y0, x0 + width, floor, wood)
    shelves = 5
    sh = (floor - y0) / shelves
    for s in range(shelves):
        y = y0 + s * sh + c.u * 0.008
        x = x0 + c.u * 0.008
        while x < x0 + width - c.u * 0.02:
            bw = c.u * rng.uniform(0.008, 0.018)
            bh = sh * rng.uniform(0.6, 0.85)
            c.rect(
                x,
                y + sh - bh - c.u * 0.008,
                x + bw,
                y + sh - c.u * 0.008,
                _hsl(rng.random(), 0.4, 0.4),
            )
            x += bw + 1


def _fireplace(c: _Canvas, x0: float, floor: float) -> None:
    u = c.u
    stone = (120, 104, 96)
    w, h = u * 0.34, u * 0.3
    c.rect(x0, floor - h, x0 + w, floor, stone)
    c.rect(x0 - u * 0.02, floor - h - u * 0.025, x0 + w + u * 0.02, floor - h, _dark(stone, 0.3))
    c.rect(x0 + w * 0.18, floor - h * 0.7, x0 + w * 0.82, floor, (24, 18, 16))
    _fire(c, x0 + w / 2, floor - u * 0.01, h * 0.5)


def _table(c: _Canvas, x: float, y: float, width: float, wood: RGB, candle: bool) -> None:
    u = c.u
    top = _light(wood, 0.15)
    c.rect(x - width / 2, y, x + width / 2, y + u * 0.025, top)
    for k in (-0.45, 0.45):
        c.rect(x + width * k - u * 0.01, y, x + width * k + u * 0.01, c.h, _dark(wood, 0.3))
    c.rounded(
        x - width * 0.25, y - u * 0.05, x - width * 0.17, y, u * 0.01, (230, 226, 216)
    )  # a cup
    c.rect(x + width * 0.1, y - u * 0.1, x + width * 0.14, y, (60, 90, 70))  # a bottle
    c.rect(x + width * 0.113, y - u * 0.13, x + width * 0.127, y - u * 0.1, (60, 90, 70))
    if candle:
        cx = x - width * 0.02
        c.rect(cx - u * 0.008, y - u * 0.06, cx + u * 0.008, y, (240, 232, 210))
        c.glow(cx, y - u * 0.08, u * 0.3, (255, 200, 120), 0.6)
        _flame(c, cx, y - u * 0.06, u * 0.035, u * 0.014, (255, 210, 110), 0.1)


# -- portrait --------------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[Point]:
    """Points along an ellipse from angle ``a0`` to ``a1`` (degrees, y down: 270 is the top)."""
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def _sitter(text: str, words: set[str], prng: random.Random, rng: random.Random) -> dict[str, Any]:
    """What the words say about the sitter: hair, skin, clothes, hat, accessories."""
    lowered = text.lower()
    said = re.search(r"\b([a-z]+)[- ](?:haired|hair|beard|bearded)\b", lowered)
    hair_word = said.group(1) if said else ""
    if hair_word in _HAIR:
        hair = _HAIR[hair_word]
    elif words & _OLD:
        hair = (190, 186, 180)
    elif "redhead" in words:
        hair = _HAIR["red"]
    else:
        hair = prng.choice(((58, 40, 30), (90, 60, 40), (30, 26, 24), (122, 86, 54)))
    skin = prng.choice(
        ((236, 200, 170), (214, 170, 130), (178, 126, 90), (132, 90, 62), (226, 186, 152))
    )
    # the first colour named that is not the colour of hair, eyes or skin dresses the sitter
    not_clothes = r"(?![- ](?:hair|haired|beard|bearded|eye|eyed|skin|scarf))"
    colours = [
        _COLOURS[m.group(1)]
        for m in re.finditer(r"\b([a-z]+)\b" + not_clothes, lowered)
        if m.group(1) in _COLOURS
    ]
    feminine = bool(words & _FEMININE)
    masculine = bool(words & _MASCULINE) and not feminine
    if feminine:
        style = rng.choice(("long", "bun", "bob"))
    elif masculine:
        style = rng.choice(("short", "short", "cropped", "bald"))
    else:
        style = rng.choice(("short", "bob", "long", "cropped"))
    return {
        "hair": hair,
        "skin": skin,
        "cloth": colours[0] if colours else None,
        "style": style,
        "hat": (
            "cap"
            if words & {"cap", "peaked"}
            else "beret"
            if "beret" in words
            else "brim"
            if words & _HATS or "sou'wester" in lowered
            else ""
        ),
        "badge": bool(words & {"captain", "officer", "admiral", "commander", "sergeant"}),
        "coat": bool(words & _COATS),
        "beard": bool(words & {"beard", "bearded"}),
        "moustache": bool(words & {"moustache", "mustache"}),
        "glasses": bool(words & {"glasses", "spectacles", "spectacled"}),
        "scarf": "scarf" in words,
        "scarf_colour": next(
            (
                _COLOURS[m.group(1)]
                for m in re.finditer(r"\b([a-z]+) scarf", lowered)
                if m.group(1) in _COLOURS
            ),
            None,
        ),
        "oilskin": "oilskin" in words,
    }


def _portrait(c: _Canvas, text: str, words: set[str], prng: random.Random) -> None:
    """A stylised head-and-shoulders figure in front of a halo, lit from one side."""
    rng, pal = c.rng, c.pal
    w, h, u = c.w, c.h, c.u
    who = _sitter(text, words, prng, rng)
    hair: RGB = who["hair"]
    skin: RGB = who["skin"]
    cloth: RGB = who["cloth"] or _hsl(pal.hue + 0.5, 0.32, 0.34)
    style: str = who["style"]
    hat: str = who["hat"]
    hh = min(h * 0.3, w * 0.4)  # head height
    hw = hh * 0.78
    cx = w * 0.5 + rng.uniform(-0.03, 0.03) * w
    cy = h * 0.42
    top = cy - hh / 2
    light = rng.choice((-1, 1))  # the side the light comes from
    rim = _light(pal.glow, 0.35)

    halo = _light(pal.accent, 0.2)
    c.glow(cx, cy, hh * 2.0, halo, 0.55)
    c.ellipse(cx, cy + hh * 0.1, hh * 1.08, hh * 1.08, _a(halo, 80))
    c.ring(
        (cx - hh * 1.2, cy + hh * 0.1 - hh * 1.2, cx + hh * 1.2, cy + hh * 0.1 + hh * 1.2),
        outline=_a(halo, 150),
        width=max(1, round(u * 0.004)),
    )

    # shoulders: a gentle slope from the neck, a rounded shoulder, the arm going down
    sw = min(w * 0.94, hh * 2.3)
    nw = hw * 0.42
    sh_y = cy + hh * 0.66

    def half(s: int) -> list[Point]:
        p0 = (cx + s * nw * 0.6, sh_y)
        p1 = (cx + s * sw * 0.36, sh_y + hh * 0.14)
        p2 = (cx + s * sw * 0.5, sh_y + hh * 0.6)
        return [
            *_bezier(p0, (cx + s * sw * 0.22, sh_y + hh * 0.02), p1, 10),
            *_bezier(p1, (cx + s * sw * 0.48, sh_y + hh * 0.16), p2, 10)[1:],
            (cx + s * sw * 0.51, h + 2),
        ]

    torso = [*reversed(half(-1)), *half(1)]

    # hair that falls behind the head (bob: to the jaw, long: over the shoulders)
    back_hair: list[Point] = []
    if style in ("long", "bob"):
        end = cy + hh * (0.95 if style == "long" else 0.3)
        rx, ry = hw * 0.62, hh * 0.56
        crown = _arc(cx, cy - hh * 0.02, rx, ry, 180, 360, 18)
        flare = hw * (0.1 if style == "long" else 0.04)
        bottom = [
            (cx + (rx + flare) * (1 - 2 * i / 8), end + hh * 0.04 * (i % 2) - hh * 0.02)
            for i in range(9)
        ]
        back_hair = [
            *crown,
            (cx + rx + flare, end - hh * 0.1),
            *bottom,
            (cx - rx - flare, end - hh * 0.1),
        ]

    def silhouette(ox: float, oy: float, col: RGB) -> None:
        c.poly([(x + ox, y + oy) for x, y in back_hair], col)
        c.poly([(x + ox, y + oy) for x, y in torso], col)
        c.rect(cx - nw / 2 + ox, cy + oy, cx + nw / 2 + ox, sh_y + oy, col)
        c.ellipse(cx + ox, cy + oy, hw / 2 * 1.05, hh / 2 * 1.04, col)
        if hat == "brim":
            c.ellipse(cx + ox, top + hh * 0.2 + oy, hw * 0.88, hh * 0.1, col)
            c.rounded(
                cx - hw * 0.5 + ox,
                top - hh * 0.2 + oy,
                cx + hw * 0.5 + ox,
                top + hh * 0.22 + oy,
                hw * 0.25,
                col,
            )

    silhouette(light * u * 0.01, -u * 0.005, rim)  # a rim of light on one side
    c.poly(back_hair, hair)
    if back_hair:  # a few strands
        for k in (-0.5, -0.2, 0.2, 0.5):
            x = cx + k * hw * 1.1
            c.line(
                _bezier(
                    (cx - light * hw * 0.1, top),
                    (x + k * hw * 0.3, cy - hh * 0.2),
                    (x + k * hw * 0.2, back_hair[-1][1]),
                    10,
                ),
                _a(_dark(hair, 0.3), 110),
                u * 0.003,
            )
    if not hat and style == "bun":
        c.ellipse(cx - light * hw * 0.12, top - hh * 0.03, hw * 0.25, hw * 0.23, hair)

    # body: coat or top; the shadow side darker, the arms suggested
    c.poly(torso, cloth)
    s = -light
    outer = [p for p in half(s) if abs(p[0] - cx) >= sw * 0.35]
    c.poly(
        [(cx + s * sw * 0.35, sh_y + hh * 0.4), *outer, (cx + s * sw * 0.37, h + 2)],
        _a(_dark(cloth, 0.55), 95),
    )
    for side in (-1, 1):
        c.line(
            [(cx + side * sw * 0.35, sh_y + hh * 0.42), (cx + side * sw * 0.37, h)],
            _a(_dark(cloth, 0.4), 120),
            u * 0.004,
        )
    neck = _dark(skin, 0.2)
    c.rect(cx - nw / 2, cy, cx + nw / 2, sh_y + hh * 0.05, neck)
    c.ellipse(cx, sh_y + hh * 0.02, nw * 0.6, hh * 0.08, neck)
    if who["coat"]:
        lapel = _dark(cloth, 0.22)
        shirt: RGB = (230, 224, 210) if sum(cloth) < 480 else (58, 58, 64)
        c.poly([(cx - nw * 0.6, sh_y), (cx + nw * 0.6, sh_y), (cx, sh_y + hh * 0.58)], shirt)
        for side in (-1, 1):
            c.poly(
                [
                    (cx + side * nw * 0.6, sh_y - hh * 0.06),
                    (cx + side * nw * 1.3, sh_y + hh * 0.06),
                    (cx + side * nw * 0.62, sh_y + hh * 0.42),
                    (cx, sh_y + hh * 0.64),
                    (cx + side * nw * 0.12, sh_y + hh * 0.42),
                ],
                lapel,
            )
            c.poly(
                [
                    (cx + side * nw * 0.48, sh_y - hh * 0.2),
                    (cx + side * nw * 1.05, sh_y - hh * 0.05),
                    (cx + side * nw * 0.7, sh_y + hh * 0.04),
                ],
                _light(lapel, 0.1),
            )
    else:
        c.chord(
            (cx - nw * 0.9, sh_y - hh * 0.12, cx + nw * 0.9, sh_y + hh * 0.16),
            0,
            180,
            fill=_dark(cloth, 0.2),
        )
        c.chord(
            (cx - nw * 0.75, sh_y - hh * 0.12, cx + nw * 0.75, sh_y + hh * 0.12), 0, 180, fill=neck
        )
    if who["scarf"]:
        sc = who["scarf_colour"] or (
            _COLOURS["red"] if cloth != _COLOURS["red"] else _COLOURS["navy"]
        )
        c.rounded(cx - nw * 0.85, sh_y - hh * 0.16, cx + nw * 0.85, sh_y + hh * 0.06, hh * 0.08, sc)
        c.rounded(cx + nw * 0.1, sh_y - hh * 0.02, cx + nw * 0.5, sh_y + hh * 0.45, hh * 0.05, sc)

    # the head: an ear, the shadow side, the lit side, a few quiet features
    c.ellipse(cx - light * hw * 0.49, cy + hh * 0.04, hw * 0.08, hh * 0.11, _dark(skin, 0.28))
    c.ellipse(cx, cy, hw / 2, hh / 2, _dark(skin, 0.22))
    c.ellipse(cx + light * hw * 0.05, cy - hh * 0.015, hw / 2 * 0.9, hh / 2 * 0.95, skin)
    fx = cx + light * hw * 0.05  # features turned a little towards the light
    feature = _dark(skin, 0.55)
    lw = max(1.0, u * 0.0035)
    for side in (-1, 1):
        ex = fx + side * hw * 0.19
        c.line(
            _bezier(
                (ex - hw * 0.07, cy + hh * 0.02),
                (ex, cy + hh * 0.05),
                (ex + hw * 0.07, cy + hh * 0.02),
                6,
            ),
            feature,
            lw,
        )
        c.line(
            _bezier(
                (ex - hw * 0.09, cy - hh * 0.06),
                (ex, cy - hh * 0.1),
                (ex + hw * 0.09, cy - hh * 0.06),
                6,
            ),
            _a(_dark(hair, 0.1), 200),
            lw * 1.4,
        )
        c.ellipse(
            ex + side * hw * 0.02, cy + hh * 0.13, hw * 0.08, hh * 0.04, _a((214, 110, 100), 45)
        )
    c.line(
        [
            (fx + light * hw * 0.02, cy + hh * 0.04),
            (fx - light * hw * 0.03, cy + hh * 0.15),
            (fx + light * hw * 0.03, cy + hh * 0.16),
        ],
        _a(feature, 170),
        lw,
    )
    c.line(
        _bezier(
            (fx - hw * 0.08, cy + hh * 0.25),
            (fx, cy + hh * 0.27),
            (fx + hw * 0.08, cy + hh * 0.25),
            6,
        ),
        _a(_mix(feature, (170, 60, 60), 0.4), 210),
        lw * 1.2,
    )
    if who["beard"]:
        c.chord((cx - hw / 2, cy - hh * 0.3, cx + hw / 2, cy + hh * 0.53), 15, 165, fill=hair)
    elif who["moustache"]:
        c.ellipse(fx, cy + hh * 0.2, hw * 0.13, hh * 0.03, hair)
    if who["glasses"]:
        gw = max(1, round(u * 0.004))
        for side in (-1, 1):
            ex = fx + side * hw * 0.19
            c.ring(
                (ex - hw * 0.12, cy - hh * 0.04, ex + hw * 0.12, cy + hh * 0.09),
                outline=INK,
                width=gw,
            )
        c.line([(fx - hw * 0.07, cy + hh * 0.02), (fx + hw * 0.07, cy + hh * 0.02)], INK, gw)

    # hair: a swept fringe and a hairline that dips at the temples
    if style == "bald":
        for side in (-1, 1):
            c.ellipse(cx + side * hw * 0.46, cy - hh * 0.04, hw * 0.07, hh * 0.13, hair)
    else:
        drop = 0.1 if style != "cropped" else -0.02
        part = cx - light * hw * 0.14
        crown = _arc(cx, cy, hw * 0.53, hh * 0.53, 180, 360, 20)
        near_temple = (cx + light * hw * 0.5, cy - hh * drop)
        far_temple = (cx - light * hw * 0.5, cy - hh * (drop + 0.04))
        line1 = _bezier(
            near_temple, (cx + light * hw * 0.2, top + hh * 0.12), (part, top + hh * 0.16), 10
        )
        line2 = _bezier(
            (part, top + hh * 0.16), (cx - light * hw * 0.42, top + hh * 0.12), far_temple, 10
        )
        hairline = [*line1, *line2[1:]]
        if light > 0:
            hairline.reverse()
        c.poly([*crown, *reversed(hairline)], hair)
        c.chord(
            (cx - hw * 0.4, top - hh * 0.02, cx + hw * 0.3, top + hh * 0.3),
            200,
            300,
            fill=_a(_light(hair, 0.25), 90),
        )
    # a hat on top
    hat_col = _dark(cloth, 0.1) if who["oilskin"] else _dark(cloth, 0.35)
    if hat == "cap":  # a peaked cap, the peak towards the light
        c.chord(
            (cx - hw * 0.56, top - hh * 0.12, cx + hw * 0.56, top + hh * 0.5),
            180,
            360,
            fill=hat_col,
        )
        c.rect(cx - hw * 0.56, top + hh * 0.12, cx + hw * 0.56, top + hh * 0.2, _dark(hat_col, 0.3))
        x0, x1 = sorted((cx - light * hw * 0.3, cx + light * hw * 0.68))
        c.chord((x0, top + hh * 0.1, x1, top + hh * 0.3), 0, 180, fill=_dark(hat_col, 0.45))
        if who["badge"]:
            c.ellipse(
                cx + light * hw * 0.08, top + hh * 0.05, hw * 0.06, hh * 0.045, (220, 190, 96)
            )
    elif hat == "beret":
        c.ellipse(cx - light * hw * 0.12, top + hh * 0.06, hw * 0.64, hh * 0.17, hat_col)
        c.ellipse(cx - light * hw * 0.12, top - hh * 0.1, hw * 0.05, hh * 0.04, hat_col)
    elif hat:
        c.ellipse(cx, top + hh * 0.2, hw * 0.88, hh * 0.1, _dark(hat_col, 0.15))
        c.rounded(cx - hw * 0.5, top - hh * 0.2, cx + hw * 0.5, top + hh * 0.2, hw * 0.25, hat_col)
        band = _a(_light(hat_col, 0.3), 140)
        c.rect(cx - hw * 0.5, top + hh * 0.06, cx + hw * 0.5, top + hh * 0.12, band)


# -- composition -----------------------------------------------------------------------------


def _motifs(text: str, negative: str) -> set[str]:
    words, neg = _words(text), _words(negative)
    found = {name for name, keys in _KEYWORDS.items() if keys & words}
    found -= {name for name, keys in _KEYWORDS.items() if name != "portrait" and keys & neg}
    if "sea" in found and words & {"wall", "seawall", "promenade", "embankment"}:
        found.add("quay")
    slug = re.match(r"\s*(INT|EXT|I/E)\b", text, re.IGNORECASE)
    if slug:
        kind = slug.group(1).upper()
        if kind == "INT":
            found.add("interior")
        elif kind == "EXT":
            found.discard("interior")
    if re.search(r"\bclose[- ]up\b", text, re.IGNORECASE) and words & (_FEMININE | _MASCULINE):
        found.add("portrait")
    return found


def _time(motifs: set[str]) -> str:
    for t in ("night", "dusk", "dawn"):
        if t in motifs:
            return t
    return "day"


def _draw_scene(
    c: _Canvas, motifs: set[str], time: str, portrait: bool, text: str, prng: random.Random
) -> None:
    rng, pal = c.rng, c.pal
    w, h = c.w, c.h
    night = time == "night"
    words = _words(text)
    water = bool(motifs & {"sea", "lake"})
    horizon = h * (rng.uniform(0.62, 0.72) if portrait else rng.uniform(0.52, 0.66))
    if "interior" in motifs and not portrait:
        horizon = h * rng.uniform(0.4, 0.5)
    _sky(c, horizon)
    body = _celestial(c, time, motifs, horizon)
    _clouds(c, time, motifs, horizon)
    if "lightning" in motifs and not portrait:
        _lightning(c, horizon)
    # far layers
    if "mountain" in motifs or ("snow" in motifs and not water):
        tall = h * rng.uniform(0.3, 0.42)
        _mountains(c, horizon, tall, _mix(pal.layer(0, 4), pal.horizon, 0.35), snow=True)
        _mountains(c, horizon + h * 0.03, tall * 0.6, pal.layer(1, 4), snow="snow" in motifs)
    elif "desert" in motifs:
        for i in range(3):
            c.ridge(
                horizon + (h - horizon) * i * 0.28,
                h * 0.05,
                pal.layer(i, 3) if i % 2 == 0 else _light(pal.layer(i, 3), 0.12),
                waves=rng.uniform(0.8, 1.6),
                detail=0.02,
            )
    elif not water or "cliff" in motifs:
        c.ridge(
            horizon - h * 0.02,
            h * rng.uniform(0.03, 0.08),
            pal.layer(0, 4),
            waves=rng.uniform(1.5, 3.0),
        )
    if "city" in motifs:
        lit = (255, 214, 130)
        _buildings(
            c,
            horizon + (0 if not water else h * 0.01),
            _mix(pal.layer(1, 4), pal.horizon, 0.25),
            0.28,
            _mix(lit, pal.layer(1, 4), 0.3),
            night,
            1.0,
        )
        _buildings(
            c, horizon + h * (0.04 if not water else 0.02), pal.layer(2, 4), 0.22, lit, night, 1.4
        )
    if water:
        shore = horizon + (0 if "city" not in motifs else h * 0.02)
        _water(c, shore, body, motifs, time)
        if "boat" in motifs or (("sea" in motifs) and rng.random() < 0.5 and "storm" not in motifs):
            for _ in range(rng.randint(1, 2)):
                bx = w * rng.uniform(0.15, 0.85)
                by = shore + (h - shore) * rng.uniform(0.05, 0.3)
                _boat(
                    c,
                    bx,
                    by,
                    c.u * rng.uniform(0.03, 0.06) * (1 + (by - shore) / h * 3),
                    pal.ink,
                    _light(pal.accent, 0.3) if not night else (150, 150, 170),
                )
        if "lighthouse" in motifs or "cliff" in motifs:
            left_side = body[0] > w / 2
            top = _headland(c, shore, left_side, _dark(pal.layer(3, 4), 0.25))
            if "lighthouse" in motifs:
                _lighthouse(c, top, h * (0.3 if portrait else rng.uniform(0.34, 0.44)), time)
        crests: list[Point] = []
        quay = h * rng.uniform(0.84, 0.88) if "quay" in motifs and not portrait else h
        if "storm" in motifs and not portrait:
            crests = _storm_waves(c, min(quay, h * 0.86), _mix(pal.water, pal.ink, 0.3))
        if quay < h:
            _quay(c, quay, _grey(_mix(pal.land, (120, 116, 110), 0.6), 0.3))
            if "storm" in motifs:
                for x, _y in crests[:3]:
                    _spray(c, x, quay, c.u * rng.uniform(0.14, 0.22))
    elif "lighthouse" in motifs:
        _lighthouse(c, (w * rng.uniform(0.2, 0.8), horizon + h * 0.04), h * 0.36, time)
    if not water and "desert" not in motifs and "interior" not in motifs:
        n = 2 if ("forest" in motifs or "city" in motifs) else 3
        for i in range(1, n):
            c.ridge(
                horizon + (h - horizon) * (0.15 + 0.3 * (i - 1)),
                h * rng.uniform(0.02, 0.06),
                pal.layer(i, n + 1),
                waves=rng.uniform(0.8, 1.8),
            )
    if "forest" in motifs and not portrait:
        _forest(
            c,
            horizon,
            pine=bool(motifs & {"snow", "mountain"} or words & {"pine", "fir", "spruce", "conifer"})
            or rng.random() < 0.4,
            snow="snow" in motifs,
        )
    if "road" in motifs and not water and not portrait and "interior" not in motifs:
        _road(
            c,
            horizon + h * 0.04,
            _dark(_grey(pal.land, 0.7), 0.35),
            night,
            "city" in motifs or "lamp" in motifs,
        )
    if "fire" in motifs and not portrait and "interior" not in motifs:
        fx, fy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.8, 0.88)
        if "city" in motifs:
            _smoke(c, fx, fy - h * 0.1, c.u * 0.12)
        _fire(c, fx, fy, c.u * rng.uniform(0.12, 0.18))
    if "people" in motifs and not portrait and "interior" not in motifs:
        count = rng.randint(3, 6) if "crowd" in text.lower() else rng.randint(1, 2)
        for _ in range(count):
            fx = w * rng.uniform(0.2, 0.8)
            fy = h * rng.uniform(0.82, 0.92)
            _figure(c, fx, fy, h * rng.uniform(0.16, 0.22), pal.ink)
    if not motifs & _SCENE_MOTIFS and not portrait:
        # abstract: a lone element on the near hill, chosen by the words
        pick = prng.choice(("tree", "house", "standing stones"))
        x, base = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.8, 0.9)
        ink = _dark(pal.layer(3, 4), 0.3)
        if pick == "tree":
            _round_tree(c, x, base, h * 0.32, ink)
        elif pick == "house":
            s = c.u * 0.12
            c.rect(x - s, base - s * 1.1, x + s, base, ink)
            c.poly(
                [(x - s * 1.2, base - s * 1.1), (x + s * 1.2, base - s * 1.1), (x, base - s * 2)],
                ink,
            )
            c.rect(
                x - s * 0.25, base - s * 0.8, x + s * 0.15, base - s * 0.45, _light(pal.accent, 0.2)
            )
        elif pick == "standing stones":
            for k in range(3):
                sx = x + (k - 1) * c.u * 0.09
                c.rounded(
                    sx - c.u * 0.025,
                    base - c.u * rng.uniform(0.12, 0.2),
                    sx + c.u * 0.025,
                    base,
                    c.u * 0.015,
                    ink,
                )
    falling = bool(motifs & {"snowfall"}) or ("snow" in motifs and "mountain" not in motifs)
    if falling:
        _snowfall(c)
    if "rain" in motifs:
        _rain(c, "storm" in motifs)
    if "fog" in motifs:
        _fog(c, horizon)
    if "interior" in motifs and not portrait:  # the weather stays outside the window
        _interior(c, motifs, time)
    if portrait:
        wash = _mix(pal.sky[1], PAPER, 0.35)
        c.img.paste(Image.blend(c.img, Image.new("RGB", c.img.size, wash), 0.45))
        _portrait(c, text, _words(text), prng)
        if "rain" in motifs:
            _rain(c, False)
        if "snow" in motifs:
            _snowfall(c)


# -- style and card --------------------------------------------------------------------------


def _style_name(request: ImageRequest, words: set[str], text: str) -> str | None:
    for raw in (request.style_preset, request.extra.get("style")):
        if isinstance(raw, str) and raw.strip():
            key = raw.strip().lower().replace(" ", "-").replace("_", "-")
            return _STYLES.get(key, key)
    lowered = text.lower()
    if "black and white" in lowered or "black-and-white" in lowered:
        return "noir"
    if "pixel art" in lowered:
        return "pixel"
    for word in ("noir", "sepia", "watercolor", "watercolour", "pastel", "neon", "cyberpunk"):
        if word in words:
            return _STYLES[word]
    return None


@lru_cache(maxsize=4)
def _blotches(size: tuple[int, int]) -> Image.Image:
    """A fixed, soft, uneven wash (for the watercolour style): mostly 255, dipping to ~215."""
    rng = random.Random(20240611)
    out = Image.new("L", size, 255)
    for cell, depth in ((64, 10), (12, 5)):
        gw, gh = max(2, size[0] // cell + 2), max(2, size[1] // cell + 2)
        grid = Image.frombytes("L", (gw, gh), rng.randbytes(gw * gh))
        layer = grid.resize(size, Image.Resampling.BICUBIC).point(
            lambda v, d=depth: 255 - (v * d) // 255
        )
        out = ImageChops.multiply(out, layer)
    return out


def _grade(img: Image.Image, style: str | None) -> Image.Image:
    """The style preset, applied to the finished panel at its final size."""
    paper = Image.new("RGB", img.size, PAPER)
    if style == "noir":
        grey = ImageOps.autocontrast(img.convert("L"), cutoff=1)
        return ImageOps.colorize(grey, (12, 12, 12), (240, 238, 233), mid=(118, 118, 117))
    if style == "sepia":
        grey = img.convert("L")
        return ImageOps.colorize(grey, (40, 26, 16), (246, 232, 204), mid=(156, 120, 84))
    if style == "watercolor":
        soft = Image.blend(img.filter(ImageFilter.GaussianBlur(0.9)), paper, 0.14)
        soft = ImageEnhance.Color(soft).enhance(0.85)
        # pigment pools at the edges of every wash
        edges = img.convert("L").filter(ImageFilter.FIND_EDGES).filter(ImageFilter.BoxBlur(1))
        soft = Image.composite(
            ImageEnhance.Brightness(soft).enhance(0.72),
            soft,
            edges.point(lambda v: min(150, v * 3)),
        )
        wash = _blotches(img.size)
        return ImageChops.multiply(soft, Image.merge("RGB", (wash, wash, wash)))
    if style == "pastel":
        return Image.blend(ImageEnhance.Color(img).enhance(0.7), paper, 0.3)
    if style == "neon":
        return ImageEnhance.Contrast(ImageEnhance.Color(img).enhance(1.8)).enhance(1.2)
    if style == "pixel":
        small = img.resize((max(1, img.width // 6), max(1, img.height // 6)), Image.Resampling.BOX)
        return small.quantize(24).convert("RGB").resize(img.size, Image.Resampling.NEAREST)
    if style == "lineart":
        edges = (
            img.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 20 else 0)
        )
        flat = Image.blend(img, paper, 0.55)
        return Image.composite(Image.new("RGB", img.size, INK), flat, edges)
    if style == "cinematic":
        warm = ImageEnhance.Contrast(img).enhance(1.1)
        r, g, b = warm.split()
        return Image.merge(
            "RGB", (r.point(lambda v: min(255, v + 8)), g, b.point(lambda v: max(0, v - 6)))
        )
    return img


def _vignette(img: Image.Image, strength: float) -> Image.Image:
    mask = _falloff(1.0).resize(img.size, Image.Resampling.BILINEAR)
    mask = ImageOps.invert(mask).point(lambda v: round(max(0, v - 90) * strength))
    return Image.composite(Image.new("RGB", img.size, (10, 8, 16)), img, mask)


def _font(size: int) -> Font:
    """Pillow's bundled TrueType font (Aileron), a fresh object per card: FreeType faces are not
    shared between threads. Loading it takes about 0.1 ms."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # no FreeType, or Pillow < 10.1: the bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class _Layout:
    margin: int
    band: int  # caption band height, below the panel
    size: int  # caption font size
    mark: int  # mark font size
    lines: int  # caption lines at most
    text: bool  # room for any text at all


def _layout(w: int, h: int, caption: bool) -> _Layout:
    if w < 160 or h < 110:
        m = 0 if min(w, h) < 48 else max(1, round(min(w, h) * 0.03))
        return _Layout(m, m, 0, 0, 0, False)
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
    return _Layout(m, band, size, mark, lines, True)


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


def _card(panel: Image.Image, size: tuple[int, int], lay: _Layout, caption: str) -> Image.Image:
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


# -- the entry points ------------------------------------------------------------------------


def _ratio(text: str | None) -> float | None:
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*", text)
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    return a / b if a > 0 and b > 0 else None


def _size(request: ImageRequest, portrait: bool, long_side: int) -> tuple[int, int]:
    ratio = _ratio(request.aspect_ratio) or (1.0 if portrait else 1.5)
    w, h = request.width, request.height
    if w and h:
        pass
    elif w:
        h = round(w / ratio)
    elif h:
        w = round(h * ratio)
    elif ratio >= 1:
        w, h = long_side, round(long_side / ratio)
    else:
        w, h = round(long_side * ratio), long_side
    assert w is not None and h is not None
    return (min(max(int(w), 16), MAX_SIDE), min(max(int(h), 16), MAX_SIDE))


def render_sketch(
    request: ImageRequest, long_side: int = DEFAULT_LONG_SIDE
) -> tuple[Image.Image, dict[str, Any]]:
    """Draw the card for ``request``: the image and what it was drawn from (for metadata)."""
    text = _clean(request.prompt)
    seed = request.seed if request.seed is not None else _digest(text) % 2**31
    extra = request.extra
    if isinstance(extra.get("long_side"), int) and extra["long_side"] >= 16:
        long_side = int(extra["long_side"])
    cap = extra.get("caption", True)
    caption = _clean(cap) if isinstance(cap, str) else text if cap is not False else ""
    motifs = _motifs(text, _clean(request.negative_prompt or ""))
    portrait = "portrait" in motifs
    time = _time(motifs)
    words = _words(text)
    abstract = not (motifs & (_SCENE_MOTIFS | {"night", "dusk", "dawn", "portrait", "storm"}))
    size = _size(request, portrait, long_side)
    lay = _layout(*size, caption=bool(caption))
    panel_size = (size[0] - 2 * lay.margin, size[1] - lay.margin - lay.band)
    if panel_size[0] < 1 or panel_size[1] < 1:
        panel_size = size
        lay = _Layout(0, 0, 0, 0, 0, False)
    scale = 2 if panel_size[0] * panel_size[1] <= 1_600_000 else 1
    prng = random.Random(_digest("palette|" + text))  # the palette: the prompt only
    rng = random.Random(_digest(f"layout|{text}|{seed}"))  # the composition: prompt and seed
    pal = _palette(motifs, time, prng, abstract)
    canvas = _Canvas((panel_size[0] * scale, panel_size[1] * scale), rng, pal)
    _draw_scene(canvas, motifs, time, portrait, text, prng)
    style = _style_name(request, words, text)
    img = canvas.img
    if scale != 1:
        img = img.resize(panel_size, Image.Resampling.LANCZOS)
    img = _grade(_vignette(img, 0.35), style)
    card = _card(img, size, lay, caption)
    info = {
        "seed": seed,
        "width": size[0],
        "height": size[1],
        "motifs": sorted(motifs),
        "style": style,
    }
    return card, info


def _encode(img: Image.Image, fmt: str) -> tuple[bytes, str]:
    pil_format, mime = _FORMATS.get(fmt.lower().strip(), _FORMATS["png"])
    buf = io.BytesIO()
    if pil_format == "PNG":
        img.save(buf, format="PNG", compress_level=4)
    elif pil_format == "JPEG":
        img.save(buf, format="JPEG", quality=90, optimize=False)
    else:
        img.save(buf, format="WEBP", quality=88, method=4)
    return buf.getvalue(), mime


class SketchImageModel(ImageModel):
    """Draws a storyboard card from the prompt with Pillow: a placeholder, not generative."""

    name = "sketch"

    def __init__(self, long_side: int = DEFAULT_LONG_SIDE) -> None:
        self.long_side = long_side

    def generate(self, request: ImageRequest) -> ImageResult:
        """The synchronous version (``agenerate`` runs it in a worker thread)."""
        img, info = render_sketch(request, self.long_side)
        data, mime = _encode(img, request.output_format or "png")
        return ImageResult(
            data=data,
            mime=mime,
            seed=info.pop("seed"),
            metadata={"model": "sketch", "placeholder": True, **info},
        )

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        return await asyncio.to_thread(self.generate, request)


def sketch_image(config: ModelConfig) -> ImageModel:
    """The ``sketch`` provider's factory (``options.extra.long_side`` sets the default size)."""
    long_side = config.options.extra.get("long_side", DEFAULT_LONG_SIDE)
    return SketchImageModel(
        long_side=int(long_side) if isinstance(long_side, int) else DEFAULT_LONG_SIDE
    )
