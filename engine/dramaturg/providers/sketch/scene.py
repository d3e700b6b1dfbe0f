"""Composition: which motifs are drawn for a prompt, where, and in what order."""

from __future__ import annotations

import random

from PIL import Image

from .canvas import Canvas, Point
from .figures import draw_figure, draw_portrait
from .flames import draw_fire, draw_smoke
from .interior import draw_interior
from .land import draw_buildings, draw_forest, draw_mountains, draw_road, draw_round_tree
from .palette import PAPER, darken, desaturate, lighten, mix
from .sea import (
    draw_boat,
    draw_headland,
    draw_lighthouse,
    draw_quay,
    draw_spray,
    draw_storm_waves,
    draw_water,
)
from .sky import (
    draw_celestial,
    draw_clouds,
    draw_fog,
    draw_lightning,
    draw_rain,
    draw_sky,
    draw_snowfall,
)
from .words import SCENE_MOTIFS, words_of


def draw_scene(
    c: Canvas, motifs: set[str], time: str, portrait: bool, text: str, prng: random.Random
) -> None:
    """The picture: sky, far layers, water or land, the motifs, the weather, then an interior
    or a portrait over it (``prng`` draws from the prompt only, ``c.rng`` from prompt and seed)."""
    rng, pal = c.rng, c.pal
    w, h = c.w, c.h
    night = time == "night"
    words = words_of(text)
    water = bool(motifs & {"sea", "lake"})
    horizon = h * (rng.uniform(0.62, 0.72) if portrait else rng.uniform(0.52, 0.66))
    if "interior" in motifs and not portrait:
        horizon = h * rng.uniform(0.4, 0.5)
    draw_sky(c, horizon)
    body = draw_celestial(c, time, motifs, horizon)
    draw_clouds(c, time, motifs, horizon)
    if "lightning" in motifs and not portrait:
        draw_lightning(c, horizon)
    # far layers
    if "mountain" in motifs or ("snow" in motifs and not water):
        tall = h * rng.uniform(0.3, 0.42)
        draw_mountains(c, horizon, tall, mix(pal.layer(0, 4), pal.horizon, 0.35), snow=True)
        draw_mountains(c, horizon + h * 0.03, tall * 0.6, pal.layer(1, 4), snow="snow" in motifs)
    elif "desert" in motifs:
        for i in range(3):
            c.ridge(
                horizon + (h - horizon) * i * 0.28,
                h * 0.05,
                pal.layer(i, 3) if i % 2 == 0 else lighten(pal.layer(i, 3), 0.12),
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
        draw_buildings(
            c,
            horizon + (0 if not water else h * 0.01),
            mix(pal.layer(1, 4), pal.horizon, 0.25),
            0.28,
            mix(lit, pal.layer(1, 4), 0.3),
            night,
            1.0,
        )
        draw_buildings(
            c, horizon + h * (0.04 if not water else 0.02), pal.layer(2, 4), 0.22, lit, night, 1.4
        )
    if water:
        shore = horizon + (0 if "city" not in motifs else h * 0.02)
        draw_water(c, shore, body, motifs, time)
        if "boat" in motifs or (("sea" in motifs) and rng.random() < 0.5 and "storm" not in motifs):
            for _ in range(rng.randint(1, 2)):
                bx = w * rng.uniform(0.15, 0.85)
                by = shore + (h - shore) * rng.uniform(0.05, 0.3)
                draw_boat(
                    c,
                    bx,
                    by,
                    c.u * rng.uniform(0.03, 0.06) * (1 + (by - shore) / h * 3),
                    pal.ink,
                    lighten(pal.accent, 0.3) if not night else (150, 150, 170),
                )
        if "lighthouse" in motifs or "cliff" in motifs:
            left_side = body[0] > w / 2
            top = draw_headland(c, shore, left_side, darken(pal.layer(3, 4), 0.25))
            if "lighthouse" in motifs:
                draw_lighthouse(c, top, h * (0.3 if portrait else rng.uniform(0.34, 0.44)), time)
        crests: list[Point] = []
        quay = h * rng.uniform(0.84, 0.88) if "quay" in motifs and not portrait else h
        if "storm" in motifs and not portrait:
            crests = draw_storm_waves(c, min(quay, h * 0.86), mix(pal.water, pal.ink, 0.3))
        if quay < h:
            draw_quay(c, quay, desaturate(mix(pal.land, (120, 116, 110), 0.6), 0.3))
            if "storm" in motifs:
                for x, _y in crests[:3]:
                    draw_spray(c, x, quay, c.u * rng.uniform(0.14, 0.22))
    elif "lighthouse" in motifs:
        draw_lighthouse(c, (w * rng.uniform(0.2, 0.8), horizon + h * 0.04), h * 0.36, time)
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
        draw_forest(
            c,
            horizon,
            pine=bool(motifs & {"snow", "mountain"} or words & {"pine", "fir", "spruce", "conifer"})
            or rng.random() < 0.4,
            snow="snow" in motifs,
        )
    if "road" in motifs and not water and not portrait and "interior" not in motifs:
        draw_road(
            c,
            horizon + h * 0.04,
            darken(desaturate(pal.land, 0.7), 0.35),
            night,
            "city" in motifs or "lamp" in motifs,
        )
    if "fire" in motifs and not portrait and "interior" not in motifs:
        fx, fy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.8, 0.88)
        if "city" in motifs:
            draw_smoke(c, fx, fy - h * 0.1, c.u * 0.12)
        draw_fire(c, fx, fy, c.u * rng.uniform(0.12, 0.18))
    if "people" in motifs and not portrait and "interior" not in motifs:
        count = rng.randint(3, 6) if "crowd" in text.lower() else rng.randint(1, 2)
        for _ in range(count):
            fx = w * rng.uniform(0.2, 0.8)
            fy = h * rng.uniform(0.82, 0.92)
            draw_figure(c, fx, fy, h * rng.uniform(0.16, 0.22), pal.ink)
    if not motifs & SCENE_MOTIFS and not portrait:
        # abstract: a lone element on the near hill, chosen by the words
        pick = prng.choice(("tree", "house", "standing stones"))
        x, base = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.8, 0.9)
        ink = darken(pal.layer(3, 4), 0.3)
        if pick == "tree":
            draw_round_tree(c, x, base, h * 0.32, ink)
        elif pick == "house":
            s = c.u * 0.12
            c.rect(x - s, base - s * 1.1, x + s, base, ink)
            c.poly(
                [(x - s * 1.2, base - s * 1.1), (x + s * 1.2, base - s * 1.1), (x, base - s * 2)],
                ink,
            )
            c.rect(
                x - s * 0.25,
                base - s * 0.8,
                x + s * 0.15,
                base - s * 0.45,
                lighten(pal.accent, 0.2),
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
        draw_snowfall(c)
    if "rain" in motifs:
        draw_rain(c, "storm" in motifs)
    if "fog" in motifs:
        draw_fog(c, horizon)
    if "interior" in motifs and not portrait:  # the weather stays outside the window
        draw_interior(c, motifs, time)
    if portrait:
        wash = mix(pal.sky[1], PAPER, 0.35)
        c.img.paste(Image.blend(c.img, Image.new("RGB", c.img.size, wash), 0.45))
        draw_portrait(c, text, words, prng)
        if "rain" in motifs:
            draw_rain(c, False)
        if "snow" in motifs:
            draw_snowfall(c)
