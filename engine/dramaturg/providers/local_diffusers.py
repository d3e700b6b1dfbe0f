"""The local image provider ``diffusers``: a diffusers pipeline folder you already have.

``diffusers:/path/to/pipeline`` loads that folder (one written by ``save_pretrained``, with a
``model_index.json``) with ``DiffusionPipeline.from_pretrained(folder, local_files_only=True)``:
nothing is ever downloaded, so a Hugging Face model id does not work here.

``torch`` and ``diffusers`` are imported lazily (importing :mod:`dramaturg` never imports them).
A pipeline is loaded once per process per (folder, device, dtype, variant), on the first image
it makes, and every call to one loaded pipeline is serialised by that pipeline's lock.

Options: ``width``/``height`` (rounded to multiples of 8), ``seed`` (a random one, recorded in
the result, when unset), ``negative_prompt`` (when the pipeline takes one) and ``output_format``.
``extra``:

* ``device``: ``cuda``, ``cuda:1``, ``mps`` or ``cpu`` (default: ``cuda`` if available, else
  ``cpu``)
* ``dtype``: ``float32``, ``float16`` or ``bfloat16`` (default: ``float16`` on CUDA, else
  ``float32``)
* ``variant``: the weights variant to load, e.g. ``fp16``
* ``steps``: denoising steps (``num_inference_steps``, default 25)
* ``guidance_scale``: classifier-free guidance (default: the pipeline's)
* ``threads``: CPU threads for torch (``torch.set_num_threads``, process-wide; default: torch's).
  On a busy machine or for small pipelines 1 thread can be several times faster.
* any other key naming a parameter of the pipeline's ``__call__`` (e.g. ``eta``, ``clip_skip``)
  is passed to it as is.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dramaturg.errors import ModelError, ProviderError
from dramaturg.images import ImageModel, ImageRequest, ImageResult

from .diffusers_setup import (
    DEFAULT_STEPS,
    FOLDER_HINT,
    check_pipeline,
    guidance_option,
    import_libraries,
    multiple_of_8,
    resolve_device,
    resolve_dtype,
    resolve_folder,
    steps_option,
    threads_option,
)

if TYPE_CHECKING:
    from dramaturg.providers.registry import ModelConfig

#: extra keys this module handles itself; never passed to the pipeline as they are
_OWN_KEYS = frozenset({"device", "dtype", "variant", "steps", "guidance_scale", "threads"})
#: pipeline parameters set here or which would change the shape of the output
_RESERVED = frozenset(
    {
        "prompt",
        "negative_prompt",
        "width",
        "height",
        "generator",
        "num_inference_steps",
        "guidance_scale",
        "num_images_per_prompt",
        "output_type",
        "return_dict",
        "latents",
        "prompt_embeds",
        "negative_prompt_embeds",
        "callback",
        "callback_steps",
        "callback_on_step_end",
        "callback_on_step_end_tensor_inputs",
    }
)
_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


@dataclass
class LoadedPipeline:
    """One loaded pipeline and the lock serialising calls to it."""

    pipeline: Any
    folder: str
    device: str
    dtype: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: the names of the explicit parameters of ``pipeline.__call__``
    parameters: frozenset[str] = frozenset()

    @property
    def class_name(self) -> str:
        return type(self.pipeline).__name__


_Key = tuple[str, str, str, str | None]
_CACHE: dict[_Key, LoadedPipeline] = {}
_LOAD_LOCKS: dict[_Key, threading.Lock] = {}
_CACHE_LOCK = threading.Lock()


def clear_pipeline_cache() -> None:
    """Forget every loaded pipeline (freed once no model uses them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _LOAD_LOCKS.clear()


def _call_parameters(pipeline: Any) -> frozenset[str]:
    try:
        params = inspect.signature(pipeline.__call__).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in params if p.kind in kinds)


def _dtype_keyword() -> str:
    """``dtype`` where diffusers has it (it deprecated ``torch_dtype``), else ``torch_dtype``."""
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:
        return "torch_dtype"
    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def load_pipeline(
    folder: str | Path,
    device: str | None = None,
    dtype: str | None = None,
    variant: str | None = None,
) -> LoadedPipeline:
    """The loaded pipeline for ``folder`` on ``device`` (loading it on first use)."""
    torch, diffusers = import_libraries()
    path = resolve_folder(str(folder))
    device = resolve_device(torch, device)
    dtype = resolve_dtype(dtype, device)
    key: _Key = (str(path), device, dtype, variant)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is not None:
            return loaded
        load_lock = _LOAD_LOCKS.setdefault(key, threading.Lock())
    with load_lock:  # one load per key; other pipelines stay usable meanwhile
        with _CACHE_LOCK:
            loaded = _CACHE.get(key)
        if loaded is not None:
            return loaded
        check_pipeline(path, diffusers)
        kwargs: dict[str, Any] = {
            "local_files_only": True,
            _dtype_keyword(): getattr(torch, dtype),
        }
        if variant:
            kwargs["variant"] = variant
        try:
            pipeline = diffusers.DiffusionPipeline.from_pretrained(str(path), **kwargs)
            pipeline = pipeline.to(device)
        except Exception as exc:
            raise ModelError(
                f"cannot load the diffusers pipeline in {path} on {device} ({dtype}): "
                f"{type(exc).__name__}: {exc}",
                hint=FOLDER_HINT + "; every component's weights must be in the folder",
                transient=False,
            ) from exc
        if hasattr(pipeline, "set_progress_bar_config"):
            pipeline.set_progress_bar_config(disable=True)
        loaded = LoadedPipeline(
            pipeline=pipeline,
            folder=str(path),
            device=device,
            dtype=dtype,
            parameters=_call_parameters(pipeline),
        )
        with _CACHE_LOCK:
            _CACHE[key] = loaded
        return loaded


# -- the image model ---------------------------------------------------------------------------
class DiffusersImageModel(ImageModel):
    """An :class:`ImageModel` over a local diffusers text-to-image pipeline folder."""

    def __init__(
        self,
        folder: str | Path,
        *,
        device: str | None = None,
        dtype: str | None = None,
        variant: str | None = None,
        steps: int = DEFAULT_STEPS,
        guidance_scale: float | None = None,
        threads: int | None = None,
        name: str | None = None,
    ) -> None:
        self.folder = str(folder)
        self.device = device
        self.dtype = dtype
        self.variant = variant
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.threads = threads
        self.name = name or f"diffusers:{self.folder}"

    def load(self) -> LoadedPipeline:
        """The loaded pipeline (shared by every model on the same folder, device and dtype)."""
        return load_pipeline(self.folder, self.device, self.dtype, self.variant)

    async def agenerate(self, request: ImageRequest) -> ImageResult:
        return await asyncio.to_thread(self.generate, request)

    def generate(self, request: ImageRequest) -> ImageResult:
        """Generate one image (blocking; :meth:`agenerate` runs this in a worker thread)."""
        import torch

        loaded = self.load()
        extra = dict(request.extra)
        steps = steps_option({"steps": self.steps, **extra})
        guidance = guidance_option({"guidance_scale": self.guidance_scale, **extra})
        threads = threads_option({"threads": self.threads, **extra})
        seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
        fmt = (request.output_format or "png").lower()
        if fmt not in _FORMATS:
            raise ModelError(f"diffusers: unsupported output format {fmt!r}", hint="use png")
        params = loaded.parameters
        # only what the pipeline takes (all of it when its signature is unknown)
        wanted: dict[str, Any] = {
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "width": None if request.width is None else multiple_of_8(request.width),
            "height": None if request.height is None else multiple_of_8(request.height),
            "negative_prompt": request.negative_prompt or None,
            "output_type": "pil",
        }
        kwargs: dict[str, Any] = {"prompt": request.prompt}
        kwargs.update(
            (k, v) for k, v in wanted.items() if v is not None and (not params or k in params)
        )
        for key, value in extra.items():
            if key in params and key not in _RESERVED and key not in _OWN_KEYS:
                kwargs[key] = value
        with loaded.lock:
            try:
                if threads is not None and torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                kwargs["generator"] = torch.Generator(loaded.device).manual_seed(seed)
                output = loaded.pipeline(**kwargs)
            except Exception as exc:
                raise ModelError(
                    f"diffusers pipeline {loaded.class_name} ({loaded.folder}) failed: "
                    f"{type(exc).__name__}: {exc}",
                    hint="is it a text-to-image pipeline? On a GPU out of memory, lower "
                    "width/height or use extra.dtype: float16",
                    transient=False,
                ) from exc
        images = getattr(output, "images", None)
        image = images[0] if isinstance(images, list) and images else None
        if image is None or not hasattr(image, "save"):
            raise ModelError(
                f"diffusers pipeline {loaded.class_name} ({loaded.folder}) returned no image",
                hint="the diffusers provider runs text-to-image pipelines",
            )
        flags = getattr(output, "nsfw_content_detected", None)
        filtered = bool(flags[0]) if isinstance(flags, list) and flags else False
        pil_format, mime = _FORMATS[fmt]
        if pil_format == "JPEG" and image.mode != "RGB":
            image = image.convert("RGB")
        buf = io.BytesIO()
        image.save(buf, format=pil_format)
        return ImageResult(
            data=buf.getvalue(),
            mime=mime,
            seed=seed,
            filtered=filtered,
            metadata={
                "model": "diffusers",
                "pipeline": loaded.class_name,
                "steps": steps,
                "device": loaded.device,
                "dtype": loaded.dtype,
                "size": list(image.size),
            },
        )


def diffusers_image(config: ModelConfig) -> ImageModel:
    """The ``diffusers`` provider's image factory: ``diffusers:/path/to/pipeline``.

    Checks the folder, the libraries, the device and the options now; loads the pipeline on the
    first image, in a worker thread.
    """
    folder = resolve_folder(config.model)
    torch, diffusers = import_libraries()
    extra = dict(config.options.extra)
    device = resolve_device(torch, extra.get("device"))
    dtype = resolve_dtype(extra.get("dtype"), device)
    check_pipeline(folder, diffusers)
    variant = extra.get("variant")
    if variant is not None and not isinstance(variant, str):
        raise ProviderError(f"diffusers: extra.variant must be a string, got {variant!r}")
    return DiffusersImageModel(
        folder,
        device=device,
        dtype=dtype,
        variant=variant,
        steps=steps_option(extra),
        guidance_scale=guidance_option(extra),
        threads=threads_option(extra),
        name=config.ref,
    )
