"""People: small standing figures in a scene, and the head-and-shoulders portrait."""

from __future__ import annotations

import math
import random

from .canvas import Canvas, Point, bezier
from .palette import INK, RGB, darken, hsl, lighten, mix, rgba
from .sitter import COLOURS, describe_sitter


def draw_figure(c: Canvas, x: float, base: float, height: float, color: RGB) -> None:
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


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[Point]:
    """Points along an ellipse from angle ``a0`` to ``a1`` (degrees, y down: 270 is the top)."""
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def draw_portrait(c: Canvas, text: str, words: set[str], prng: random.Random) -> None:
    """A stylised head-and-shoulders figure in front of a halo, lit from one side."""
    rng, pal = c.rng, c.pal
    w, h, u = c.w, c.h, c.u
    who = describe_sitter(text, words, prng, rng)
    hair: RGB = who["hair"]
    skin: RGB = who["skin"]
    cloth: RGB = who["cloth"] or hsl(pal.hue + 0.5, 0.32, 0.34)
    style: str = who["style"]
    hat: str = who["hat"]
    hh = min(h * 0.3, w * 0.4)  # head height
    hw = hh * 0.78
    cx = w * 0.5 + rng.uniform(-0.03, 0.03) * w
    cy = h * 0.42
    top = cy - hh / 2
    light = rng.choice((-1, 1))  # the side the light comes from
    rim = lighten(pal.glow, 0.35)

    halo = lighten(pal.accent, 0.2)
    c.glow(cx, cy, hh * 2.0, halo, 0.55)
    c.ellipse(cx, cy + hh * 0.1, hh * 1.08, hh * 1.08, rgba(halo, 80))
    c.ring(
        (cx - hh * 1.2, cy + hh * 0.1 - hh * 1.2, cx + hh * 1.2, cy + hh * 0.1 + hh * 1.2),
        outline=rgba(halo, 150),
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
            *bezier(p0, (cx + s * sw * 0.22, sh_y + hh * 0.02), p1, 10),
            *bezier(p1, (cx + s * sw * 0.48, sh_y + hh * 0.16), p2, 10)[1:],
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
                bezier(
                    (cx - light * hw * 0.1, top),
                    (x + k * hw * 0.3, cy - hh * 0.2),
                    (x + k * hw * 0.2, back_hair[-1][1]),
                    10,
                ),
                rgba(darken(hair, 0.3), 110),
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
        rgba(darken(cloth, 0.55), 95),
    )
    for side in (-1, 1):
        c.line(
            [(cx + side * sw * 0.35, sh_y + hh * 0.42), (cx + side * sw * 0.37, h)],
            rgba(darken(cloth, 0.4), 120),
            u * 0.004,
        )
    neck = darken(skin, 0.2)
    c.rect(cx - nw / 2, cy, cx + nw / 2, sh_y + hh * 0.05, neck)
    c.ellipse(cx, sh_y + hh * 0.02, nw * 0.6, hh * 0.08, neck)
    if who["coat"]:
        lapel = darken(cloth, 0.22)
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
                lighten(lapel, 0.1),
            )
    else:
        c.chord(
            (cx - nw * 0.9, sh_y - hh * 0.12, cx + nw * 0.9, sh_y + hh * 0.16),
            0,
            180,
            fill=darken(cloth, 0.2),
        )
        c.chord(
            (cx - nw * 0.75, sh_y - hh * 0.12, cx + nw * 0.75, sh_y + hh * 0.12), 0, 180, fill=neck
        )
    if who["scarf"]:
        sc = who["scarf_colour"] or (COLOURS["red"] if cloth != COLOURS["red"] else COLOURS["navy"])
        c.rounded(cx - nw * 0.85, sh_y - hh * 0.16, cx + nw * 0.85, sh_y + hh * 0.06, hh * 0.08, sc)
        c.rounded(cx + nw * 0.1, sh_y - hh * 0.02, cx + nw * 0.5, sh_y + hh * 0.45, hh * 0.05, sc)

    # the head: an ear, the shadow side, the lit side, a few quiet features
    c.ellipse(cx - light * hw * 0.49, cy + hh * 0.04, hw * 0.08, hh * 0.11, darken(skin, 0.28))
    c.ellipse(cx, cy, hw / 2, hh / 2, darken(skin, 0.22))
    c.ellipse(cx + light * hw * 0.05, cy - hh * 0.015, hw / 2 * 0.9, hh / 2 * 0.95, skin)
    fx = cx + light * hw * 0.05  # features turned a little towards the light
    feature = darken(skin, 0.55)
    lw = max(1.0, u * 0.0035)
    for side in (-1, 1):
        ex = fx + side * hw * 0.19
        c.line(
            bezier(
                (ex - hw * 0.07, cy + hh * 0.02),
                (ex, cy + hh * 0.05),
                (ex + hw * 0.07, cy + hh * 0.02),
                6,
            ),
            feature,
            lw,
        )
        c.line(
            bezier(
                (ex - hw * 0.09, cy - hh * 0.06),
                (ex, cy - hh * 0.1),
                (ex + hw * 0.09, cy - hh * 0.06),
                6,
            ),
            rgba(darken(hair, 0.1), 200),
            lw * 1.4,
        )
        c.ellipse(
            ex + side * hw * 0.02, cy + hh * 0.13, hw * 0.08, hh * 0.04, rgba((214, 110, 100), 45)
        )
    c.line(
        [
            (fx + light * hw * 0.02, cy + hh * 0.04),
            (fx - light * hw * 0.03, cy + hh * 0.15),
            (fx + light * hw * 0.03, cy + hh * 0.16),
        ],
        rgba(feature, 170),
        lw,
    )
    c.line(
        bezier(
            (fx - hw * 0.08, cy + hh * 0.25),
            (fx, cy + hh * 0.27),
            (fx + hw * 0.08, cy + hh * 0.25),
            6,
        ),
        rgba(mix(feature, (170, 60, 60), 0.4), 210),
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
        line1 = bezier(
            near_temple, (cx + light * hw * 0.2, top + hh * 0.12), (part, top + hh * 0.16), 10
        )
        line2 = bezier(
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
            fill=rgba(lighten(hair, 0.25), 90),
        )
    # a hat on top
    hat_col = darken(cloth, 0.1) if who["oilskin"] else darken(cloth, 0.35)
    if hat == "cap":  # a peaked cap, the peak towards the light
        c.chord(
            (cx - hw * 0.56, top - hh * 0.12, cx + hw * 0.56, top + hh * 0.5),
            180,
            360,
            fill=hat_col,
        )
        c.rect(
            cx - hw * 0.56, top + hh * 0.12, cx + hw * 0.56, top + hh * 0.2, darken(hat_col, 0.3)
        )
        x0, x1 = sorted((cx - light * hw * 0.3, cx + light * hw * 0.68))
        c.chord((x0, top + hh * 0.1, x1, top + hh * 0.3), 0, 180, fill=darken(hat_col, 0.45))
        if who["badge"]:
            c.ellipse(
                cx + light * hw * 0.08, top + hh * 0.05, hw * 0.06, hh * 0.045, (220, 190, 96)
            )
    elif hat == "beret":
        c.ellipse(cx - light * hw * 0.12, top + hh * 0.06, hw * 0.64, hh * 0.17, hat_col)
        c.ellipse(cx - light * hw * 0.12, top - hh * 0.1, hw * 0.05, hh * 0.04, hat_col)
    elif hat:
        c.ellipse(cx, top + hh * 0.2, hw * 0.88, hh * 0.1, darken(hat_col, 0.15))
        c.rounded(cx - hw * 0.5, top - hh * 0.2, cx + hw * 0.5, top + hh * 0.2, hw * 0.25, hat_col)
        band = rgba(lighten(hat_col, 0.3), 140)
        c.rect(cx - hw * 0.5, top + hh * 0.06, cx + hw * 0.5, top + hh * 0.12, band)
