"""The ``sketch`` provider: the offline default illustrator (Pillow drawings, no model)."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from dramaturg import FakeChatModel, load_chain
from dramaturg.images import ImageRequest, ImageResult
from dramaturg.providers import ModelConfig, get_registry
from dramaturg.providers.sketch import SketchImageModel, render_sketch, sketch_image
from dramaturg.spec import GenerationOptions

PORTRAIT = (
    "Portrait of Mara Voss, a weathered lighthouse keeper in her sixties, oilskin coat, "
    "ink and watercolor"
)
PLACE = "EXT. HARBOUR WALL - NIGHT. Storm waves break over the lighthouse, lantern light, rain"
FOREST = "EXT. PINE FOREST - DAWN. Orin walks the trail between the trees"
KITCHEN = "INT. KITCHEN - DAY. A kettle on the stove, sunlight on the table"

PNG = b"\x89PNG\r\n\x1a\n"


def generate(prompt: str, **options: Any) -> ImageResult:
    return SketchImageModel().generate(ImageRequest(prompt=prompt, **options))


def image(result: ImageResult) -> Image.Image:
    return Image.open(io.BytesIO(result.data)).convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel value, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def panel_and_band(img: Image.Image, caption: bool = True) -> tuple[Image.Image, Image.Image]:
    """The picture and the caption band below it (found from the drawn layout)."""
    from dramaturg.providers.sketch.caption import layout as _layout

    lay = _layout(*img.size, caption=caption)
    cut = img.height - lay.band
    return img.crop((0, 0, img.width, cut)), img.crop((0, cut, img.width, img.height))


# -- determinism and variety -------------------------------------------------------------------


def test_same_prompt_and_seed_give_identical_bytes():
    a = generate(PLACE, seed=7)
    b = generate(PLACE, seed=7)
    assert a.data == b.data
    assert a.data.startswith(PNG)
    # in a fresh model too, and through the async entry point
    c = asyncio.run(SketchImageModel().agenerate(ImageRequest(prompt=PLACE, seed=7)))
    assert c.data == a.data


def test_no_seed_is_reproducible_and_reported():
    a = generate(FOREST)
    assert isinstance(a.seed, int)
    assert generate(FOREST).data == a.data
    assert generate(FOREST, seed=a.seed).data == a.data  # the reported seed redraws it


@pytest.mark.parametrize(
    ("first", "second"),
    [(PLACE, FOREST), (PORTRAIT, PLACE), (FOREST, KITCHEN), ("The letter", "A promise kept")],
)
def test_different_prompts_give_substantially_different_images(first, second):
    a, b = image(generate(first, seed=1)), image(generate(second, seed=1))
    pa, _ = panel_and_band(a)
    pb, _ = panel_and_band(b)
    assert mean_difference(pa, pb) > 15


def test_a_different_seed_redraws_the_picture_but_keeps_the_caption():
    a, b = image(generate(FOREST, seed=1)), image(generate(FOREST, seed=2))
    pa, ba = panel_and_band(a)
    pb, bb = panel_and_band(b)
    assert mean_difference(pa, pb) > 3  # another composition
    assert ImageChops.difference(ba, bb).getbbox() is None  # the same caption, pixel for pixel


def test_the_caption_band_prints_the_prompt():
    a, b = image(generate(PLACE, seed=1)), image(generate(FOREST, seed=1))
    _, ba = panel_and_band(a)
    _, bb = panel_and_band(b)
    # other words, other caption pixels
    assert ImageChops.difference(ba, bb).getbbox() is not None
    # with the caption turned off both bands hold only the placeholder mark: identical again
    a_off = image(generate(PLACE, seed=1, extra={"caption": False}))
    b_off = image(generate(FOREST, seed=1, extra={"caption": False}))
    _, ba_off = panel_and_band(a_off, caption=False)
    _, bb_off = panel_and_band(b_off, caption=False)
    assert ImageChops.difference(ba_off, bb_off).getbbox() is None
    # ... and that mark is ink on the paper, not an empty strip
    low, high = ba_off.convert("L").getextrema()
    assert high - low > 60
    # the caption is dark ink text: the band with a caption has more ink than the one without
    ink = sum(ba.convert("L").histogram()[:100])
    ink_off = sum(ba_off.convert("L").histogram()[:100])
    assert ink > ink_off + 500
    # a caption given in extra replaces the prompt
    custom = image(generate(PLACE, seed=1, extra={"caption": "Scene 4"}))
    assert ImageChops.difference(panel_and_band(custom)[1], ba).getbbox() is not None
    assert ImageChops.difference(panel_and_band(custom)[0], panel_and_band(a)[0]).getbbox() is None


def test_long_and_unusual_captions_are_fitted():
    long = "Emile, naïve — “the harbour” 日本 ☃ " + "word " * 200
    result = generate(long, seed=3)
    assert image(result).size == (768, 512)
    from dramaturg.providers.sketch.caption import clean as _clean

    assert _clean("Émile — naïve\tcafé") == "Emile - naive cafe"


# -- motifs, styles, metadata -----------------------------------------------------------------


def test_keywords_choose_motifs_and_the_negative_prompt_removes_them():
    assert {"sea", "night", "lighthouse", "quay", "rain", "storm"} <= set(
        generate(PLACE).metadata["motifs"]
    )
    assert "portrait" in generate(PORTRAIT).metadata["motifs"]
    assert "interior" in generate(KITCHEN).metadata["motifs"]
    assert "forest" in generate(FOREST).metadata["motifs"]
    no_rain = generate(PLACE, negative_prompt="rain, storm")
    assert not {"rain", "storm"} & set(no_rain.metadata["motifs"])


def test_metadata_says_it_is_a_placeholder():
    result = generate(PLACE, seed=5)
    assert result.mime == "image/png"
    assert result.seed == 5
    assert result.metadata["model"] == "sketch"
    assert result.metadata["placeholder"] is True
    assert not result.filtered


def test_noir_style_is_greyscale():
    colour = image(generate(FOREST, seed=1))
    noir = image(generate(FOREST, seed=1, style_preset="noir"))
    sat = ImageStat.Stat(panel_and_band(colour)[0].convert("HSV")).mean[1]
    sat_noir = ImageStat.Stat(panel_and_band(noir)[0].convert("HSV")).mean[1]
    assert sat_noir < sat / 3
    assert generate(FOREST, seed=1, style_preset="noir").metadata["style"] == "noir"


@pytest.mark.parametrize(
    "style",
    ["sepia", "watercolor", "pastel", "neon-punk", "pixel-art", "line-art", "cinematic", "origami"],
)
def test_style_presets_change_the_picture_or_are_ignored(style):
    plain = image(generate(FOREST, seed=1))
    styled = image(generate(FOREST, seed=1, style_preset=style))
    assert styled.size == plain.size
    if style != "origami":  # unknown presets are ignored
        assert mean_difference(plain, styled) > 1


# -- size and format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"width": 640, "height": 360}, (640, 360)),
        ({"aspect_ratio": "16:9"}, (768, 432)),
        ({"aspect_ratio": "9:16"}, (432, 768)),
        ({"aspect_ratio": "1:1"}, (768, 768)),
        ({"width": 500, "aspect_ratio": "2:1"}, (500, 250)),
        ({"height": 300}, (450, 300)),
        ({"extra": {"long_side": 512}, "aspect_ratio": "16:9"}, (512, 288)),
        ({}, (768, 512)),
        ({"width": 32, "height": 24}, (32, 24)),
        ({"width": 16, "height": 900}, (16, 900)),
        ({"width": 1200, "height": 48}, (1200, 48)),
    ],
)
def test_size_from_width_height_or_aspect_ratio(options, size):
    result = generate(PLACE, **options)
    assert image(result).size == size
    assert (result.metadata["width"], result.metadata["height"]) == size


def test_portraits_default_to_square():
    assert image(generate(PORTRAIT)).size == (768, 768)


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("png", "image/png", "png"), ("jpeg", "image/jpeg", "jpg"), ("webp", "image/webp", "webp")],
)
def test_output_formats(fmt, mime, ext):
    result = generate(PLACE, seed=2, output_format=fmt)
    assert result.mime == mime
    assert result.extension == ext
    if fmt == "png":
        assert result.data.startswith(PNG)
    elif fmt == "jpeg":
        assert result.data.startswith(b"\xff\xd8\xff")
    else:
        assert result.data[:4] == b"RIFF" and result.data[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(result.data)).size == (768, 512)
    assert generate(PLACE, seed=2, output_format=fmt).data == result.data  # deterministic too


# -- provider, speed, event loop ---------------------------------------------------------------


def test_the_registry_builds_it():
    config = ModelConfig(provider="sketch", model=None)
    model = get_registry().image_model(config)
    assert isinstance(model, SketchImageModel)
    small = sketch_image(
        ModelConfig("sketch", "sketch", GenerationOptions(extra={"long_side": 400}))
    )
    assert isinstance(small, SketchImageModel)
    assert image(small.generate(ImageRequest(prompt=FOREST))).size == (400, 267)


def test_it_is_fast():
    render_sketch(ImageRequest(prompt=PORTRAIT))  # warm the caches (font, masks)
    best = min(_timed(PORTRAIT if i % 2 else PLACE) for i in range(4))
    assert best < 1.0  # about 0.1-0.25 s on one core; generous for busy CI machines


def _timed(prompt: str) -> float:
    start = time.perf_counter()
    generate(prompt)
    return time.perf_counter() - start


async def test_agenerate_does_not_block_the_event_loop():
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    results = await asyncio.gather(
        *(
            SketchImageModel().agenerate(ImageRequest(prompt=p, width=1024, height=1024))
            for p in (PLACE, PORTRAIT)
        )
    )
    done = True
    await task
    assert all(r.data.startswith(PNG) for r in results)
    assert ticks >= 3  # the loop kept running while the pictures were drawn


async def test_concurrent_calls_give_the_same_bytes():
    expected = {p: generate(p, seed=4, width=400, height=300).data for p in (PLACE, PORTRAIT)}
    model = SketchImageModel()
    prompts = [PLACE, PORTRAIT] * 4
    results = await asyncio.gather(
        *(model.agenerate(ImageRequest(prompt=p, seed=4, width=400, height=300)) for p in prompts)
    )
    assert [r.data for r in results] == [expected[p] for p in prompts]


# -- through the engine ------------------------------------------------------------------------


def test_a_chain_without_an_images_model_draws_sketches(project, tmp_path):
    chain = """
    name: pics
    steps:
      names: {prompt: {text: "names"}, parse: lines}
      portraits:
        kind: image
        for_each: names
        prompt: {text: "Portrait of {{ item }}, ink and watercolor"}
      place:
        kind: image
        prompt: {text: "EXT. HARBOUR WALL - NIGHT. Storm waves break over the lighthouse"}
    """
    fake = FakeChatModel(responses={"names": "Mara Voss\nOrin Hale"})
    result = load_chain(project(chain)).run({}, models={"default": fake}, out=tmp_path / "out")
    assert result.ok
    portraits = result["portraits"]
    assert [p["image"] for p in portraits] == ["steps/portraits/0.png", "steps/portraits/1.png"]
    assert result["place"]["image"] == "steps/place.png"
    files = [result.run_dir / p["image"] for p in [*portraits, result["place"]]]
    data = [f.read_bytes() for f in files]
    assert all(d.startswith(PNG) for d in data)
    assert len(set(data)) == 3
    with Image.open(files[0]) as first, Image.open(files[2]) as last:
        assert first.size == (768, 768)  # portraits: square
        assert last.size == (768, 512)  # scenes: 3:2
    assert all(p["model"] == "sketch" and p["mime"] == "image/png" for p in portraits)
