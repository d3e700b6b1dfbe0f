"""Interiors (``INT.``, rooms): a wall with a window onto the scene, a door, furniture, a lamp."""

from __future__ import annotations

from PIL import Image, ImageDraw

from .canvas import Canvas, bezier, gradient
from .flames import draw_fire, draw_flame
from .palette import RGB, darken, hsl, lighten, mix, rgba


def draw_interior(c: Canvas, motifs: set[str], time: str) -> None:
    """Over an exterior already drawn: a wall with a window onto it, a floor, a door, a lamp."""
    rng, pal = c.rng, c.pal
    w, h = c.w, c.h
    left = rng.random() < 0.5
    wx0 = w * (rng.uniform(0.1, 0.2) if left else rng.uniform(0.42, 0.55))
    ww = w * rng.uniform(0.3, 0.4)
    wy0, wy1 = h * 0.14, h * rng.uniform(0.55, 0.62)
    floor = h * 0.78
    wall = Image.new("RGB", (w, h))
    wall.paste(gradient((w, h), [darken(pal.wall, 0.15), pal.wall, darken(pal.wall, 0.25)]))
    mask = Image.new("L", (w, h), 255)
    ImageDraw.Draw(mask).rectangle((wx0, wy0, wx0 + ww, wy1), fill=0)
    c.img.paste(wall, (0, 0), mask)
    wood = darken(mix(pal.wall, (120, 80, 50), 0.6), 0.3)
    fw = c.u * 0.018
    c.frame((wx0, wy0, wx0 + ww, wy1), outline=wood, width=round(fw))
    c.rect(wx0 + ww / 2 - fw / 3, wy0, wx0 + ww / 2 + fw / 3, wy1, wood)
    c.rect(wx0, (wy0 + wy1) / 2 - fw / 3, wx0 + ww, (wy0 + wy1) / 2 + fw / 3, wood)
    c.rect(wx0 - fw, wy1, wx0 + ww + fw, wy1 + fw * 1.2, lighten(wood, 0.2))
    # curtains, tied back
    curtain = hsl(pal.hue, 0.4, 0.3 if time == "night" else 0.48)
    fold = rgba(darken(curtain, 0.35), 120)
    for side in (-1, 1):
        edge = wx0 if side < 0 else wx0 + ww
        inner, outer = edge - side * fw * 3, edge + side * fw * 3.5
        tie = wy0 + (wy1 - wy0) * 0.6
        bottom = wy1 + fw * 5
        tie_x = outer + (inner - outer) * 0.25
        pts = [
            (outer, wy0 - fw * 2),
            (inner, wy0 - fw * 2),
            *bezier((inner, wy0), (inner, wy0 + (tie - wy0) * 0.6), (tie_x, tie), 8),
            *bezier(
                (tie_x, tie), (tie_x, tie + fw * 3), (outer + (inner - outer) * 0.6, bottom), 6
            ),
            (outer, bottom),
        ]
        c.poly(pts, curtain)
        for k in (0.35, 0.7):
            x = outer + (inner - outer) * k
            c.line([(x, wy0 - fw), (outer + (x - outer) * 0.3, tie)], fold, fw * 0.25)
        c.ellipse(tie_x - side * fw * 0.2, tie, fw * 0.9, fw * 0.45, darken(curtain, 0.3))
    c.rect(wx0 - fw * 5, wy0 - fw * 2.6, wx0 + ww + fw * 5, wy0 - fw * 1.8, wood)
    # floor and skirting
    c.vgradient((0, floor, w, h), [darken(wood, 0.1), darken(wood, 0.45)])
    c.rect(0, floor - c.u * 0.012, w, floor, darken(pal.wall, 0.4))
    for k in range(1, 5):
        y = floor + (h - floor) * (k / 5) ** 1.4
        c.line([(0, y), (w, y)], rgba(darken(wood, 0.6), 90), c.u * 0.002)
    # a door on the other side
    dx0 = w * (rng.uniform(0.66, 0.76) if left else rng.uniform(0.08, 0.16))
    dw = w * 0.15
    dy0 = h * 0.2
    c.rect(dx0 - fw, dy0 - fw, dx0 + dw + fw, floor, darken(wood, 0.2))
    c.rect(dx0, dy0, dx0 + dw, floor, lighten(wood, 0.08))
    for y0, y1 in (
        (dy0 + dw * 0.12, dy0 + (floor - dy0) * 0.45),
        (dy0 + (floor - dy0) * 0.53, floor - dw * 0.12),
    ):
        c.frame(
            (dx0 + dw * 0.14, y0, dx0 + dw * 0.86, y1),
            outline=darken(wood, 0.25),
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
            darken(pal.wall, 0.5),
        )
        c.ellipse(lx, ly + c.u * 0.05, c.u * 0.022, c.u * 0.012, (255, 236, 180))


def _bookshelf(c: Canvas, x0: float, y0: float, width: float, floor: float) -> None:
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
                hsl(rng.random(), 0.4, 0.4),
            )
            x += bw + 1


def _fireplace(c: Canvas, x0: float, floor: float) -> None:
    u = c.u
    stone = (120, 104, 96)
    w, h = u * 0.34, u * 0.3
    c.rect(x0, floor - h, x0 + w, floor, stone)
    c.rect(x0 - u * 0.02, floor - h - u * 0.025, x0 + w + u * 0.02, floor - h, darken(stone, 0.3))
    c.rect(x0 + w * 0.18, floor - h * 0.7, x0 + w * 0.82, floor, (24, 18, 16))
    draw_fire(c, x0 + w / 2, floor - u * 0.01, h * 0.5)


def _table(c: Canvas, x: float, y: float, width: float, wood: RGB, candle: bool) -> None:
    u = c.u
    top = lighten(wood, 0.15)
    c.rect(x - width / 2, y, x + width / 2, y + u * 0.025, top)
    for k in (-0.45, 0.45):
        c.rect(x + width * k - u * 0.01, y, x + width * k + u * 0.01, c.h, darken(wood, 0.3))
    c.rounded(
        x - width * 0.25, y - u * 0.05, x - width * 0.17, y, u * 0.01, (230, 226, 216)
    )  # a cup
    c.rect(x + width * 0.1, y - u * 0.1, x + width * 0.14, y, (60, 90, 70))  # a bottle
    c.rect(x + width * 0.113, y - u * 0.13, x + width * 0.127, y - u * 0.1, (60, 90, 70))
    if candle:
        cx = x - width * 0.02
        c.rect(cx - u * 0.008, y - u * 0.06, cx + u * 0.008, y, (240, 232, 210))
        c.glow(cx, y - u * 0.08, u * 0.3, (255, 200, 120), 0.6)
        draw_flame(c, cx, y - u * 0.06, u * 0.035, u * 0.014, (255, 210, 110), 0.1)
