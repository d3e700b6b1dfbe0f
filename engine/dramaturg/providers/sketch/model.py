"""The ``sketch`` image model: output size and format, the drawing pipeline and the factory."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import re
from typing import TYPE_CHECKING, Any

from PIL import Image

from ...images import ImageModel, ImageRequest, ImageResult
from .canvas import Canvas
from .caption import Layout, clean, layout, make_card
from .palette import make_palette
from .scene import draw_scene
from .style import grade, style_name, vignette
from .words import SCENE_MOTIFS, find_motifs, time_of_day, words_of

if TYPE_CHECKING:
    from ..registry import ModelConfig

DEFAULT_LONG_SIDE = 768
MAX_SIDE = 8192

_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _ratio(text: str | None) -> float | None:
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*", text)
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    return a / b if a > 0 and b > 0 else None


def _size(request: ImageRequest, portrait: bool, long_side: int) -> tuple[int, int]:
    ratio = _ratio(request.aspect_ratio) or (1.0 if portrait else 1.5)
    w, h = request.width, request.height
    if w and h:
        pass
    elif w:
        h = round(w / ratio)
    elif h:
        w = round(h * ratio)
    elif ratio >= 1:
        w, h = long_side, round(long_side / ratio)
    else:
        w, h = round(long_side * ratio), long_side
    assert w is not None and h is not None
    return (min(max(int(w), 16), MAX_SIDE), min(max(int(h), 16), MAX_SIDE))


def render_sketch(
    request: ImageRequest, long_side: int = DEFAULT_LONG_SIDE
) -> tuple[Image.Image, dict[str, Any]]:
    """Draw the card for ``request``: the image and what it was drawn from (for metadata)."""
    text = clean(request.prompt)
    seed = request.seed if request.seed is not None else _digest(text) % 2**31
    extra = request.extra
    if isinstance(extra.get("long_side"), int) and extra["long_side"] >= 16:
        long_side = int(extra["long_side"])
    cap = extra.get("caption", True)
    caption = clean(cap) if isinstance(cap, str) else text if cap is not False else ""
    motifs = find_motifs(text, clean(request.negative_prompt or ""))
    portrait = "portrait" in motifs
    time = time_of_day(motifs)
    words = words_of(text)
    abstract = not (motifs & (SCENE_MOTIFS | {"night", "dusk", "dawn", "portrait", "storm"}))
    size = _size(request, portrait, long_side)
    lay = layout(*size, caption=bool(caption))
    panel_size = (size[0] - 2 * lay.margin, size[1] - lay.margin - lay.band)
    if panel_size[0] < 1 or panel_size[1] < 1:
        panel_size = size
        lay = Layout(0, 0, 0, 0, 0, False)
    scale = 2 if panel_size[0] * panel_size[1] <= 1_600_000 else 1
    prng = random.Random(_digest("palette|" + text))  # the palette: the prompt only
    rng = random.Random(_digest(f"layout|{text}|{seed}"))  # the composition: prompt and seed
    pal = make_palette(motifs, time, prng, abstract)
    canvas = Canvas((panel_size[0] * scale, panel_size[1] * scale), rng, pal)
    draw_scene(canvas, motifs, time, portrait, text, prng)
    style = style_name(request, words, text)
    img = canvas.img
    if scale != 1:
        img = img.resize(panel_size, Image.Resampling.LANCZOS)
    img = grade(vignette(img, 0.35), style)
    card = make_card(img, size, lay, caption)
    info = {
        "seed": seed,
        "width": size[0],
        "height": size[1],
        "motifs": sorted(motifs),
        "style": style,
    }
    return card, info


def _encode(img: Image.Image, fmt: str) -> tuple[bytes, str]:
    pil_format, mime = _FORMATS.get(fmt.lower().strip(), _FORMATS["png"])
    buf = io.BytesIO()
    if pil_format == "PNG":
        img.save(buf, format="PNG", compress_level=4)
    elif pil_format == "JPEG":
        img.save(buf, format="JPEG", quality=90, optimize=False)
    else:
        img.save(buf, format="WEBP", quality=88, method=4)
    return buf.getvalue(), mime


class SketchImageModel(ImageModel):
    """Draws a storyboard card from the prompt with Pillow: a placeholder, not generative."""

    name = "sketch"

    def __init__(self, long_side: int = DEFAULT_LONG_SIDE) -> None:
        self.long_side = long_side

    def generate(self, request: ImageRequest) -> ImageResult:
        """The synchronous version (``agenerate`` runs it in a worker thread)."""
        img, info = render_sketch(request, self.long_side)
        data, mime = _encode(img, request.output_format or "png")
        return ImageResult(
            data=data,
            mime=mime,
            seed=info.pop("seed"),
            metadata={"model": "sketch", "placeholder": True, **info},
        )

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        return await asyncio.to_thread(self.generate, request)


def sketch_image(config: ModelConfig) -> ImageModel:
    """The ``sketch`` provider's factory (``options.extra.long_side`` sets the default size)."""
    long_side = config.options.extra.get("long_side", DEFAULT_LONG_SIDE)
    return SketchImageModel(
        long_side=int(long_side) if isinstance(long_side, int) else DEFAULT_LONG_SIDE
    )
