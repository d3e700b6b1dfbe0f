"""The drawing surface: a supersampled panel with shape helpers, gradients and glows."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageDraw

from .palette import RGB, RGBA, Palette, mix

Point = tuple[float, float]


def gradient(size: tuple[int, int], stops: Sequence[RGB]) -> Image.Image:
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
        rows.append(mix(stops[k], stops[k + 1], f))
    col.putdata(rows)
    return col.resize((w, h), Image.Resampling.NEAREST)


@lru_cache(maxsize=4)
def falloff(power: float) -> Image.Image:
    """A radial mask: 255 in the centre falling to 0 at the rim."""
    # Pillow's gradient is 255 in the corners, about 181 at the middle of each edge
    return Image.radial_gradient("L").point(lambda v: round(255 * max(0.0, 1 - v / 181) ** power))


def bezier(p0: Point, p1: Point, p2: Point, n: int = 16) -> list[Point]:
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


class Canvas:
    """The picture panel, drawn at ``scale`` times its final size (supersampled)."""

    def __init__(self, size: tuple[int, int], rng: random.Random, pal: Palette) -> None:
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
        mask = falloff(power).resize((2 * r, 2 * r), Image.Resampling.BILINEAR)
        if strength < 1:
            mask = mask.point(lambda v: round(v * strength))
        x, y = round(cx) - r, round(cy) - r
        self.img.paste(color, (x, y, x + 2 * r, y + 2 * r), mask)

    def vgradient(self, box: tuple[float, float, float, float], stops: Sequence[RGB]) -> None:
        x0, y0, x1, y1 = (round(v) for v in box)
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            self.img.paste(gradient((x1 - x0, y1 - y0), stops), (x0, y0))

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
