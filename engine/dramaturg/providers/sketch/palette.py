"""Colours: mixing helpers, the paper and the ink, and the palette chosen from the prompt's mood."""

from __future__ import annotations

import colorsys
import random
from collections.abc import Sequence
from dataclasses import dataclass

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

PAPER: RGB = (244, 239, 228)
INK: RGB = (38, 34, 32)


def hsl(h: float, s: float, light: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(s, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def mix(a: Sequence[int], b: Sequence[int], t: float) -> RGB:
    t = min(max(t, 0.0), 1.0)
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def darken(c: RGB, t: float) -> RGB:
    return mix(c, (8, 8, 14), t)


def lighten(c: RGB, t: float) -> RGB:
    return mix(c, (255, 252, 244), t)


def desaturate(c: RGB, t: float) -> RGB:
    y = round(0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2])
    return mix(c, (y, y, y), t)


def rgba(c: RGB, alpha: float) -> RGBA:
    return (c[0], c[1], c[2], max(0, min(255, round(alpha))))


@dataclass
class Palette:
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
        return mix(self.horizon, darken(self.land, 0.45 * t), 0.3 + 0.7 * t)


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


def make_palette(motifs: set[str], time: str, prng: random.Random, abstract: bool) -> Palette:
    j = prng.uniform(-0.035, 0.035)
    h0 = prng.random()
    if time == "night":
        sky = [hsl(0.64 + j, 0.5, 0.07), hsl(0.66 + j, 0.42, 0.17), hsl(0.70 + j, 0.3, 0.30)]
        accent, glow = (246, 238, 208), (190, 200, 240)
    elif time == "dusk":
        sky = [hsl(0.71 + j, 0.32, 0.30), hsl(0.96 + j, 0.45, 0.56), hsl(0.07 + j, 0.85, 0.68)]
        accent, glow = hsl(0.09 + j / 2, 0.95, 0.74), hsl(0.07, 0.95, 0.66)
    elif time == "dawn":
        sky = [hsl(0.60 + j, 0.38, 0.70), hsl(0.98 + j, 0.50, 0.82), hsl(0.11 + j, 0.8, 0.86)]
        accent, glow = hsl(0.12, 1.0, 0.82), hsl(0.10, 1.0, 0.80)
    elif abstract:
        top, mid, low, ground, light = prng.choice(_ABSTRACT)
        sky = [hsl(hh + j, ss, ll) for hh, ss, ll in (top, mid, low)]
        accent = glow = hsl(light[0] + j, light[1], light[2])
    else:
        sky = [hsl(0.575 + j, 0.52, 0.56), hsl(0.56 + j, 0.5, 0.74), hsl(0.52 + j, 0.38, 0.88)]
        accent, glow = (255, 246, 214), (255, 240, 200)

    if "forest" in motifs:
        land = hsl(0.30 + 2 * j, 0.34, 0.30)
    elif "desert" in motifs:
        land = hsl(0.075 + j / 2, 0.55, 0.58)
    elif "snow" in motifs:
        land = hsl(0.58 + j, 0.18, 0.86)
    elif "mountain" in motifs:
        land = hsl(0.63 + j, 0.16, 0.44)
    elif "city" in motifs:
        land = hsl(h0, 0.12, 0.34)
    elif "sea" in motifs:
        land = hsl(0.36 + j, 0.14, 0.30)
    elif abstract:
        land = hsl(ground[0] + j, ground[1], ground[2])
    else:
        land = hsl(0.22 + prng.uniform(-0.09, 0.11), 0.34, 0.42)
    water = hsl(0.54 + j, 0.42, 0.44)
    cloud: RGB = (252, 250, 246)
    if time == "night":
        land, water, cloud = mix(land, (12, 16, 34), 0.6), hsl(0.63 + j, 0.42, 0.15), sky[2]
    elif time == "dusk":
        land, water = mix(land, (70, 34, 64), 0.4), hsl(0.76 + j, 0.22, 0.36)
        cloud = hsl(0.98 + j, 0.6, 0.72)
    elif time == "dawn":
        land, water, cloud = (
            mix(land, (140, 110, 140), 0.2),
            hsl(0.58, 0.3, 0.62),
            (255, 228, 220),
        )
    if "storm" in motifs or "rain" in motifs:
        sky = [darken(desaturate(c, 0.65), 0.2) for c in sky]
        water, land, cloud = (
            desaturate(darken(water, 0.2), 0.4),
            desaturate(land, 0.3),
            desaturate(cloud, 0.7),
        )
    if "snow" in motifs:
        sky = [lighten(desaturate(c, 0.4), 0.25) for c in sky]
    if "fog" in motifs:
        sky = [mix(c, (206, 208, 210), 0.45) for c in sky]
        land = mix(land, (150, 154, 158), 0.3)
    ink = darken(mix(land, sky[0], 0.3), 0.72)
    wall_hue = prng.choice((0.07, 0.09, 0.11, 0.13, 0.45, 0.55, 0.95))
    wall = hsl(wall_hue + j, 0.24, 0.22 if time == "night" else 0.58)
    return Palette(sky, land, water, accent, glow, cloud, ink, wall, h0)
