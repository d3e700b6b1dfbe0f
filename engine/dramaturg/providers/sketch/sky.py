"""The sky and the weather: the sky gradient, sun or moon and stars, clouds, rain, lightning,
falling snow and fog."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter

from .canvas import Canvas, Point
from .palette import darken, desaturate, lighten, mix, rgba


def draw_sky(c: Canvas, horizon: float) -> None:
    c.vgradient((0, 0, c.w, max(horizon + 2, 1)), c.pal.sky)
    c.rect(0, horizon, c.w, c.h, c.pal.horizon)


def draw_celestial(c: Canvas, time: str, motifs: set[str], horizon: float) -> Point:
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
            c.ellipse(sx, sy, rr, rr, rgba(pal.accent, rng.uniform(110, 240)))
        for _ in range(0 if cloudy else rng.randint(3, 6)):
            sx, sy = rng.uniform(0, c.w), rng.uniform(0, horizon * 0.7)
            s = u * rng.uniform(0.008, 0.016)
            col = rgba(pal.accent, 220)
            c.poly([(sx - s, sy), (sx, sy - s * 0.18), (sx + s, sy), (sx, sy + s * 0.18)], col)
            c.poly([(sx, sy - s), (sx + s * 0.18, sy), (sx, sy + s), (sx - s * 0.18, sy)], col)
        if "storm" in motifs or "rain" in motifs:
            c.glow(x, y, r * 9, pal.glow, 0.22)  # moonlight through the clouds
            return (x, y)
        c.glow(x, y, r * 6, pal.glow, 0.35)
        c.ellipse(x, y, r, r, pal.accent)
        if rng.random() < 0.5:  # a crescent: a sky-coloured bite
            bite = mix(pal.sky[0], pal.sky[1], 0.55)
            c.ellipse(x + r * 0.45 * rng.choice((-1, 1)), y - r * 0.2, r * 0.85, r * 0.85, bite)
        else:
            for _ in range(3):
                cr = r * rng.uniform(0.12, 0.22)
                c.ellipse(
                    x + rng.uniform(-0.5, 0.5) * r,
                    y + rng.uniform(-0.5, 0.5) * r,
                    cr,
                    cr,
                    rgba(darken(pal.accent, 0.2), 120),
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
        c.ellipse(x, y, r, r, rgba(pal.accent, 120))
    return (x, y)


def draw_clouds(c: Canvas, time: str, motifs: set[str], horizon: float) -> None:
    rng, pal = c.rng, c.pal
    if "storm" in motifs or "rain" in motifs:
        dark = darken(desaturate(pal.sky[0], 0.5), 0.35)
        edge = mix(desaturate(pal.sky[-1], 0.4), pal.glow, 0.25)  # undersides catching the light
        for row in range(3):
            y = horizon * (0.08 + row * 0.13)
            col = rgba(mix(dark, pal.sky[1], row * 0.25), 235 - row * 40)
            x = -c.w * 0.1
            while x < c.w * 1.1:
                rx = c.u * rng.uniform(0.12, 0.24)
                cy = y + rng.uniform(-0.04, 0.04) * horizon
                c.ellipse(x, cy + rx * 0.08, rx, rx * 0.55, rgba(edge, 70 - row * 15))
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
                rgba(pal.cloud, alpha),
            )


def draw_rain(c: Canvas, heavy: bool) -> None:
    rng = c.rng
    col = lighten(desaturate(c.pal.sky[-1], 0.6), 0.4)
    tilt = rng.uniform(0.12, 0.35) * rng.choice((-1, 1))
    n = round(c.w * c.h / (2600 if heavy else 5200))
    for _ in range(n):
        x, y = rng.uniform(-0.1, 1.1) * c.w, rng.uniform(-0.05, 1.0) * c.h
        ln = c.u * rng.uniform(0.03, 0.08)
        c.line(
            [(x, y), (x + ln * tilt, y + ln)], rgba(col, rng.uniform(60, 150)), max(1.0, c.u / 900)
        )


def draw_lightning(c: Canvas, horizon: float) -> None:
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


def draw_snowfall(c: Canvas) -> None:
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


def draw_fog(c: Canvas, horizon: float) -> None:
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
    c.img.paste(mix(c.pal.horizon, (236, 236, 236), 0.6), (0, 0), mask)
