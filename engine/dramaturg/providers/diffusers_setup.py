"""Setting up the ``diffusers`` image provider: importing torch and diffusers, checking a
pipeline folder, the device and dtype, and reading the options of ``extra``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from dramaturg.errors import ProviderError

DEFAULT_STEPS = 25
INSTALL_HINT = "pip install 'dramaturg[diffusers]' (diffusers, transformers and torch)"
FOLDER_HINT = (
    "'diffusers:' takes the path of a local diffusers pipeline folder you already have (one "
    "saved by DiffusionPipeline.save_pretrained, with a model_index.json): nothing is "
    "downloaded, so a Hugging Face model id does not work here"
)
DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def import_libraries() -> tuple[Any, Any]:
    """``(torch, diffusers)``, or a ProviderError with the install hint."""
    try:
        import torch
    except ImportError as exc:
        raise missing("torch", exc) from None
    try:
        import diffusers
    except ImportError as exc:
        raise missing("diffusers", exc) from None
    return torch, diffusers


def missing(module: str, exc: BaseException | None = None) -> ProviderError:
    detail = f" ({exc})" if exc and str(exc) else ""
    return ProviderError(
        f"the diffusers image provider needs the Python package '{module}', "
        f"which is not installed{detail}",
        hint=INSTALL_HINT,
    )


def resolve_folder(model: str | None) -> Path:
    """The pipeline folder named by ``diffusers:<folder>`` (checked, never downloaded)."""
    if not model or not model.strip():
        raise ProviderError(
            "the diffusers image provider needs a pipeline folder: diffusers:/path/to/pipeline",
            hint=FOLDER_HINT,
        )
    path = Path(model.strip()).expanduser()
    if not path.exists():
        raise ProviderError(f"diffusers pipeline folder not found: {path}", hint=FOLDER_HINT)
    if not path.is_dir():
        raise ProviderError(
            f"{path} is a file, not a diffusers pipeline folder",
            hint=FOLDER_HINT + "; convert a single-file checkpoint first, where you have its "
            "configs: Pipeline.from_single_file(...).save_pretrained(folder)",
        )
    if not (path / "model_index.json").is_file():
        raise ProviderError(
            f"{path} is not a diffusers pipeline folder: it has no model_index.json",
            hint=FOLDER_HINT,
        )
    return path.resolve()


def model_index(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProviderError(f"cannot read {folder / 'model_index.json'}: {exc}") from None
    if not isinstance(data, dict):
        raise ProviderError(f"{folder / 'model_index.json'} is not a JSON object")
    return data


def check_pipeline(folder: Path, diffusers: Any) -> str:
    """The pipeline's class name, after checking the installed libraries can load it."""
    index = model_index(folder)
    name = index.get("_class_name")
    if not isinstance(name, str) or not name:
        raise ProviderError(f"{folder / 'model_index.json'} names no pipeline class (_class_name)")
    for component, value in index.items():
        if component.startswith("_") or not isinstance(value, list) or not value:
            continue
        library = value[0]
        if isinstance(library, str) and library and importlib.util.find_spec(library) is None:
            raise ProviderError(
                f"the pipeline in {folder} needs the Python package '{library}' "
                f"(for its {component}), which is not installed",
                hint=INSTALL_HINT,
            )
    if not hasattr(diffusers, name):
        version = getattr(diffusers, "__version__", "?")
        raise ProviderError(
            f"the pipeline in {folder} is a {name}, which diffusers {version} does not have",
            hint="upgrade diffusers: pip install -U diffusers",
        )
    return name


def resolve_device(torch: Any, device: Any) -> str:
    """``device`` checked against this machine; ``None``/``auto``: cuda if available, else cpu."""
    if device is None or (isinstance(device, str) and device.strip().lower() in ("", "auto")):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str):
        raise ProviderError(f"diffusers: extra.device must be a string, got {device!r}")
    try:
        kind = torch.device(device.strip()).type
    except (RuntimeError, ValueError) as exc:
        raise ProviderError(
            f"diffusers: unknown device {device!r} ({exc})", hint="use cpu, cuda, cuda:N or mps"
        ) from None
    available = {
        "cuda": torch.cuda.is_available,
        "mps": torch.backends.mps.is_available,
    }.get(kind)
    if available is not None and not available():
        raise ProviderError(
            f"diffusers: device {device!r} was asked for, but torch {torch.__version__} "
            f"has no {kind} device here",
            hint="set extra.device to cpu (or leave it out to pick one automatically)",
        )
    return str(device.strip())


def resolve_dtype(dtype: Any, device: str) -> str:
    """A torch dtype name; ``None``: float16 on CUDA, float32 elsewhere."""
    if dtype is None or dtype == "auto":
        return "float16" if device.startswith("cuda") else "float32"
    name = DTYPES.get(str(dtype).strip().lower().removeprefix("torch."))
    if name is None:
        raise ProviderError(
            f"diffusers: unknown dtype {dtype!r}", hint="use float32, float16 or bfloat16"
        )
    return name


def steps_option(extra: dict[str, Any]) -> int:
    steps = extra.get("steps", DEFAULT_STEPS)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ProviderError(f"diffusers: extra.steps must be a positive integer, got {steps!r}")
    return steps


def guidance_option(extra: dict[str, Any]) -> float | None:
    value = extra.get("guidance_scale")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProviderError(f"diffusers: extra.guidance_scale must be a number, got {value!r}")
    return float(value)


def threads_option(extra: dict[str, Any]) -> int | None:
    value = extra.get("threads")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProviderError(f"diffusers: extra.threads must be a positive integer, got {value!r}")
    return value


def multiple_of_8(value: int) -> int:
    return max(8, (int(value) + 4) // 8 * 8)


# -- the process-wide pipeline cache -----------------------------------------------------------
