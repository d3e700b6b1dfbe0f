"""Style presets (noir, sepia, watercolour, ...): chosen from the request, applied to the panel."""

from __future__ import annotations

import random
from functools import lru_cache

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps

from ...images import ImageRequest
from .canvas import falloff
from .palette import INK, PAPER

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


def style_name(request: ImageRequest, words: set[str], text: str) -> str | None:
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


def grade(img: Image.Image, style: str | None) -> Image.Image:
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


def vignette(img: Image.Image, strength: float) -> Image.Image:
    mask = falloff(1.0).resize(img.size, Image.Resampling.BILINEAR)
    mask = ImageOps.invert(mask).point(lambda v: round(max(0, v - 90) * strength))
    return Image.composite(Image.new("RGB", img.size, (10, 8, 16)), img, mask)
