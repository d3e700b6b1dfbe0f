"""Fire: a flame, a fire of logs (outdoors or in a hearth) and smoke."""

from __future__ import annotations

import math

from .canvas import Canvas, Point
from .palette import RGB, darken, rgba


def draw_flame(
    c: Canvas, x: float, base: float, height: float, width: float, color: RGB, sway: float
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


def draw_fire(c: Canvas, x: float, base: float, size: float) -> None:
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
        darken(log, 0.2),
        size * 0.16,
    )
    for col, hs, ws in (
        ((196, 48, 26), 1.0, 0.9),
        ((236, 120, 34), 0.75, 0.65),
        ((255, 214, 96), 0.45, 0.38),
    ):
        for k in (-1, 0, 1):
            h = size * hs * (1.0 if k == 0 else rng.uniform(0.55, 0.8))
            draw_flame(
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
            rgba((255, 190, 90), rng.uniform(120, 230)),
        )


def draw_smoke(c: Canvas, x: float, base: float, size: float) -> None:
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
