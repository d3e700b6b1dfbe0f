"""The ``diffusers`` image provider, on a tiny randomly initialised pipeline built here.

Nothing is downloaded: the test writes a Stable Diffusion pipeline of random weights (a UNet,
VAE and CLIP text encoder of the sizes diffusers' own tests use, ~0.4 MB on disk, and a
byte-level CLIP tokenizer made from a vocab.json written here) into a temporary folder and runs
chains on it through the engine, on the CPU.

No warning filter is needed (filterwarnings=error): the scheduler gets ``steps_offset=1`` (else
diffusers warns a FutureWarning that the config is outdated), and the provider passes ``dtype``
rather than the deprecated ``torch_dtype`` where diffusers has it (else a FutureWarning). The
libraries' log lines (accelerate missing, torchvision missing) are not warnings.
"""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip(
    "torch", reason="the diffusers provider needs torch: pip install 'dramaturg[diffusers]'"
)
pytest.importorskip(
    "diffusers", reason="the diffusers provider needs diffusers: pip install 'dramaturg[diffusers]'"
)
pytest.importorskip(
    "transformers",
    reason="the test pipeline's CLIP text encoder needs transformers: "
    "pip install 'dramaturg[diffusers]'",
)

from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dramaturg import FakeChatModel, ImageRequest, ModelError, ProviderError, load_chain  # noqa: E402
from dramaturg.cli import app  # noqa: E402
from dramaturg.providers import local_diffusers  # noqa: E402
from dramaturg.providers.registry import ModelConfig  # noqa: E402
from dramaturg.spec import GenerationOptions  # noqa: E402


def _byte_level_alphabet() -> list[str]:
    """The 256 characters a byte-level BPE tokenizer (GPT-2, CLIP) maps bytes to."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(len(extra))]


def build_tiny_pipeline(folder: Path) -> Path:
    """Save a tiny random StableDiffusionPipeline (32x32 images, ~0.4 MB) into ``folder``."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    # a tokenizer with one token per byte (no merges): every prompt is tokenizable
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for char in _byte_level_alphabet():
            vocab[char + suffix] = len(vocab)
    tok_dir = folder.parent / f"{folder.name}-tokenizer"
    tok_dir.mkdir(parents=True)
    (tok_dir / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tok_dir / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77, local_files_only=True)

    torch.manual_seed(0)
    # the sizes of diffusers' own test components (get_dummy_components)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=2,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=64,
            layer_norm_eps=1e-5,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(vocab),
            max_position_embeddings=77,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    threads = torch.get_num_threads()  # the models below set 1 (extra.threads): restore it
    folder = build_tiny_pipeline(tmp_path_factory.mktemp("diffusers") / "pipe")
    yield folder
    local_diffusers.clear_pipeline_cache()
    torch.set_num_threads(threads)


CHAIN = """
name: poster-{seed}
models:
  default: {{provider: fake}}
  images:
    provider: diffusers
    model: {folder}
    seed: {seed}
    width: 48
    height: 32
    extra: {{steps: 2, threads: 1}}
steps:
  subject:
    prompt: {{text: "a subject"}}
  poster:
    kind: image
    prompt: {{text: "poster of {{{{ subject }}}}, ink"}}
"""


def _chain(project: Any, folder: Path, seed: int) -> Path:
    text = CHAIN.format(folder=json.dumps(str(folder)), seed=seed)
    return project(text, name=f"poster-{seed}")  # type: ignore[no-any-return]


def _run(path: Path, out: Path) -> tuple[dict[str, Any], bytes]:
    result = load_chain(path).run(
        {}, models={"default": FakeChatModel(responses={"subject": "a lighthouse"})}, out=out
    )
    assert result.ok, result
    poster = result["poster"]
    return poster, (result.run_dir / poster["image"]).read_bytes()


def test_engine_runs_an_image_step_on_a_local_pipeline(project, tmp_path, pipeline_dir):
    path = _chain(project, pipeline_dir, seed=1)
    poster, data = _run(path, tmp_path / "out1")
    assert poster["image"] == "steps/poster.png"
    assert poster["prompt"] == "poster of a lighthouse, ink"
    assert poster["seed"] == 1 and poster["mime"] == "image/png" and not poster["filtered"]
    assert poster["model"] == f"diffusers:{pipeline_dir}"
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (48, 32)  # width x height, as asked
        assert img.mode == "RGB"
    # the same seed gives the same image (from the cached pipeline, in a new run)
    _, again = _run(path, tmp_path / "out2")
    assert again == data
    # another seed gives another image
    _, other = _run(_chain(project, pipeline_dir, seed=2), tmp_path / "out3")
    assert other != data


def _model(folder: Path, **extra: Any) -> local_diffusers.DiffusersImageModel:
    config = ModelConfig(
        "diffusers", str(folder), GenerationOptions(extra={"steps": 2, "threads": 1, **extra})
    )
    model = local_diffusers.diffusers_image(config)
    assert isinstance(model, local_diffusers.DiffusersImageModel)
    return model


async def test_image_model_options(pipeline_dir):
    model = _model(pipeline_dir)
    assert model.device == "cpu" and model.dtype == "float32"  # no GPU in the test machine
    base = ImageRequest(prompt="a red fox", width=36, height=20, seed=7, extra={"steps": 2})
    result = await model.agenerate(base)
    assert result.seed == 7 and result.mime == "image/png"
    assert result.metadata["pipeline"] == "StableDiffusionPipeline"
    assert result.metadata["model"] == "diffusers" and result.metadata["steps"] == 2
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (40, 24)  # rounded to multiples of 8
    # the negative prompt reaches the pipeline (it changes the image)
    negative = await model.agenerate(
        ImageRequest(**{**base.__dict__, "negative_prompt": "blurry, text"})
    )
    assert negative.data != result.data
    # no seed: a random one, recorded so that the image can be made again
    unseeded = await model.agenerate(ImageRequest(prompt="a red fox", extra={"steps": 2}))
    assert isinstance(unseeded.seed, int)
    remade = await model.agenerate(
        ImageRequest(prompt="a red fox", seed=unseeded.seed, extra={"steps": 2})
    )
    assert remade.data == unseeded.data
    with Image.open(io.BytesIO(unseeded.data)) as img:
        assert img.size == (64, 64)  # the pipeline's own default (sample_size x VAE scale)
    # jpeg on request
    jpeg = await model.agenerate(ImageRequest(prompt="x", seed=1, output_format="jpeg"))
    assert jpeg.mime == "image/jpeg" and jpeg.extension == "jpg"
    assert jpeg.data.startswith(b"\xff\xd8")
    # one pipeline per folder and device in the process
    assert _model(pipeline_dir).load() is model.load()


class _StubOutput:
    def __init__(self, nsfw: list[bool]) -> None:
        self.images = [Image.new("RGB", (8, 8))]
        self.nsfw_content_detected = nsfw


class _StubPipeline:
    """Takes no negative_prompt: the provider must not pass one."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        prompt: str,
        num_inference_steps: int = 50,
        generator: Any = None,
        width: int | None = None,
        height: int | None = None,
        eta: float = 0.0,
    ) -> _StubOutput:
        self.calls.append(
            {"prompt": prompt, "steps": num_inference_steps, "w": width, "h": height, "eta": eta}
        )
        return _StubOutput([True])


async def test_filtered_images_and_pipeline_parameters(pipeline_dir, monkeypatch):
    stub = _StubPipeline()
    loaded = local_diffusers.LoadedPipeline(
        stub, str(pipeline_dir), "cpu", "float32", parameters=local_diffusers._call_parameters(stub)
    )
    monkeypatch.setattr(local_diffusers, "load_pipeline", lambda *a: loaded)
    model = _model(pipeline_dir, eta=0.5, unknown_option=1)
    result = await model.agenerate(
        ImageRequest(
            prompt="p", negative_prompt="n", width=17, seed=3, extra={"steps": 3, "eta": 0.5}
        )
    )
    assert result.filtered is True
    assert result.metadata["pipeline"] == "_StubPipeline"
    assert stub.calls == [{"prompt": "p", "steps": 3, "w": 16, "h": None, "eta": 0.5}]


def test_factory_errors(tmp_path, pipeline_dir, monkeypatch):
    def config(model: str | None, **extra: Any) -> ModelConfig:
        return ModelConfig("diffusers", model, GenerationOptions(extra=extra))

    missing = tmp_path / "no-such-pipeline"
    with pytest.raises(ProviderError, match=r"not found: .*no-such-pipeline") as info:
        local_diffusers.diffusers_image(config(str(missing)))
    assert "nothing is downloaded" in info.value.hint
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"")
    with pytest.raises(ProviderError, match="is a file, not a diffusers pipeline folder"):
        local_diffusers.diffusers_image(config(str(checkpoint)))
    with pytest.raises(ProviderError, match=r"has no model_index\.json"):
        local_diffusers.diffusers_image(config(str(tmp_path)))
    with pytest.raises(ProviderError, match="needs a pipeline folder"):
        local_diffusers.diffusers_image(config(None))
    with pytest.raises(ProviderError, match=r"extra\.steps must be a positive integer"):
        local_diffusers.diffusers_image(config(str(pipeline_dir), steps=0))
    with pytest.raises(ProviderError, match="unknown dtype"):
        local_diffusers.diffusers_image(config(str(pipeline_dir), dtype="int3"))
    if not torch.cuda.is_available():
        with pytest.raises(ProviderError, match="has no cuda device"):
            local_diffusers.diffusers_image(config(str(pipeline_dir), device="cuda"))
    # a pipeline class this diffusers does not have
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "model_index.json").write_text('{"_class_name": "NoSuchPipeline"}')
    with pytest.raises(ProviderError, match=r"NoSuchPipeline, which diffusers .* does not have"):
        local_diffusers.diffusers_image(config(str(odd)))
    # the libraries missing: the install hint
    monkeypatch.setitem(__import__("sys").modules, "diffusers", None)
    with pytest.raises(ProviderError, match="needs the Python package 'diffusers'") as info:
        local_diffusers.diffusers_image(config(str(pipeline_dir)))
    assert "pip install 'dramaturg[diffusers]'" in info.value.hint


async def test_a_broken_folder_fails_once_without_retry(tmp_path, pipeline_dir):
    broken = tmp_path / "broken"
    shutil.copytree(pipeline_dir, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    model = _model(broken)  # the folder looks right: the load, on first use, fails
    with pytest.raises(ModelError, match=r"cannot load the diffusers pipeline in .*broken") as info:
        await model.agenerate(ImageRequest(prompt="x", seed=1))
    assert info.value.transient is False  # an OSError would otherwise be retried


def test_missing_folder_through_the_cli(project, tmp_path):
    missing = tmp_path / "models" / "sd-missing"
    chain = project(
        textwrap.dedent(
            f"""
            name: pics
            models:
              default: {{provider: fake}}
              images: {{provider: diffusers, model: {json.dumps(str(missing))}}}
            steps:
              pic: {{kind: image, prompt: {{text: "a cat"}}}}
            """
        )
    )
    r = CliRunner().invoke(app, ["run", str(chain), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert f"diffusers pipeline folder not found: {missing}" in r.output
    assert "nothing is downloaded" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
