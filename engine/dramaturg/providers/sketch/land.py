"""The land: mountain ranges, trees and forests, buildings and roads."""

from __future__ import annotations

import itertools

from .canvas import Canvas, Point
from .palette import RGB, darken, desaturate, lighten, mix, rgba


def draw_mountains(c: Canvas, base: float, height: float, color: RGB, snow: bool) -> None:
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
    shade = rgba(darken(color, 0.3), 130)
    cap = lighten(desaturate(color, 0.6), 0.78)
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


def _pine(c: Canvas, x: float, base: float, height: float, color: RGB) -> None:
    w = height * 0.36
    c.rect(x - w * 0.07, base - height * 0.2, x + w * 0.07, base, darken(color, 0.3))
    for i in range(3):
        t0 = 0.15 + i * 0.25
        y0 = base - height * t0
        y1 = base - height * (t0 + 0.45 if i < 2 else 1.0)
        hw = w * (1 - i * 0.25) / 2
        c.poly([(x - hw, y0), (x + hw, y0), (x, y1)], color)


def draw_round_tree(c: Canvas, x: float, base: float, height: float, color: RGB) -> None:
    rng = c.rng
    c.rect(x - height * 0.035, base - height * 0.45, x + height * 0.035, base, darken(color, 0.35))
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
    c.ellipse(x - r * 0.3, cy - r * 0.3, r * 0.35, r * 0.3, rgba(lighten(color, 0.3), 90))


def draw_forest(c: Canvas, horizon: float, pine: bool, snow: bool) -> None:
    rng, pal = c.rng, c.pal
    tree = _pine if pine else draw_round_tree
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
                    rgba((250, 250, 255), 200),
                )
        c.rect(0, base + c.h * 0.02, c.w, c.h, rgba(color, 255))
    # framing trees at the edges, darkest
    for side in (0.0, 1.0):
        if pine and rng.random() < 0.6:
            x = c.w * (side + rng.uniform(-0.02, 0.05) * (1 if side == 0 else -1))
            tree(
                c, x, c.h * 1.02, c.h * rng.uniform(0.6, 0.85), darken(pal.layer(rows, rows), 0.15)
            )


def draw_buildings(
    c: Canvas, base: float, color: RGB, tall: float, lit: RGB, night: bool, dense: float
) -> None:
    rng = c.rng
    x = -c.w * 0.02
    win = mix(color, (0, 0, 0), 0.25)
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


def draw_road(c: Canvas, horizon: float, color: RGB, night: bool, lamps: bool) -> None:
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
    line = lighten(color, 0.5) if not night else mix(color, pal.glow, 0.5)
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
