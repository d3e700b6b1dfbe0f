"""The water: sea and lakes, storm waves and spray, a headland, a lighthouse, boats, a quay."""

from __future__ import annotations

import math

from .canvas import Canvas, Point
from .palette import RGB, darken, lighten, mix, rgba


def draw_water(c: Canvas, horizon: float, body: Point, motifs: set[str], time: str) -> None:
    rng, pal = c.rng, c.pal
    deep = darken(pal.water, 0.35)
    c.vgradient((0, horizon, c.w, c.h), [mix(pal.water, pal.horizon, 0.45), pal.water, deep])
    light = lighten(pal.water, 0.45) if time != "night" else mix(pal.water, pal.glow, 0.5)
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
                fill=rgba(light, 60 + 100 * depth),
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
            c.rect(
                bx - half + off, yy, bx + half + off, yy + th, rgba(pal.accent, 150 - 90 * depth)
            )
            yy += th * rng.uniform(2.0, 3.5)


def draw_storm_waves(c: Canvas, base: float, color: RGB) -> list[Point]:
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
        body = mix(lighten(color, 0.2), darken(color, 0.35), near)
        c.poly([*pts, (c.w, c.h + 2), (0, c.h + 2)], body)
        c.poly(
            [*pts, *[(x, y + amp * 0.5) for x, y in reversed(pts)]],
            rgba(lighten(color, 0.3), 60),
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
            c.poly([*seg, *reversed(lower)], rgba(foam, 225))
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
                    rgba(foam, rng.uniform(120, 220)),
                )
    return crests


def draw_spray(c: Canvas, x: float, y: float, size: float) -> None:
    """A plume of spray thrown up where a wave breaks against something."""
    rng = c.rng
    foam: RGB = (236, 240, 244)
    c.glow(x, y - size * 0.45, size * 0.8, foam, 0.45)
    for _ in range(46):
        a = rng.uniform(-2.5, -0.65)
        d = size * rng.uniform(0.05, 1.0) ** 0.7
        r = c.u * rng.uniform(0.002, 0.007)
        c.ellipse(
            x + math.cos(a) * d, y + math.sin(a) * d * 1.2, r, r, rgba(foam, rng.randint(110, 230))
        )


def draw_headland(c: Canvas, horizon: float, left: bool, color: RGB) -> Point:
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
        rgba(darken(color, 0.3), 160),
    )
    return (edge + sign * reach * 0.32, top + c.h * 0.005)


def draw_lighthouse(c: Canvas, base: Point, height: float, time: str) -> None:
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
                    rgba(lamp, 12),
                )
        c.glow(x, (ly0 + ly1) / 2, height * 0.5, lamp, 0.7)
    c.rect(x - tw * 0.42, ly0, x + tw * 0.42, ly1, lamp)
    c.line([(x, ly0), (x, ly1)], pal.ink, max(1.0, tw * 0.06))
    c.poly([(x - tw * 0.55, ly0), (x + tw * 0.55, ly0), (x, top)], pal.ink)


def draw_boat(c: Canvas, x: float, y: float, size: float, color: RGB, sail: RGB) -> None:
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


def draw_quay(c: Canvas, top: float, color: RGB) -> None:
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
        lighten(color, 0.2),
    )
    joint = rgba(darken(color, 0.35), 140)
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
        c.rounded(bx - bw, by - bw * 2.2, bx + bw, by + 1, bw * 0.6, darken(color, 0.55))
